package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wxlogin/wxlogin/sqlite"
)

// readyz returns the status and decoded body of GET /readyz.
func readyz(t *testing.T, h http.Handler) (int, map[string]any, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("readyz body: %v %s", err, rec.Body)
	}
	return rec.Code, m, rec.Body.String()
}

func checksOf(m map[string]any) map[string]any { c, _ := m["checks"].(map[string]any); return c }

func testConfig(t *testing.T) *Config {
	cfg := defaultConfig()
	cfg.Apps = "wx1234567890abcdef:ready-test-secret"
	cfg.DataKeys = testDataKey
	cfg.Database = "sqlite:" + filepath.Join(t.TempDir(), "ready.db")
	cfg.Argon2Time = 1
	return cfg
}

// TestReadyChecksSQLite: a migrated SQLite stack is ready (store, migrations; no redis check
// without Redis); an unmigrated database fails "migrations" only; a closed store fails both.
func TestReadyChecksSQLite(t *testing.T) {
	ctx := context.Background()
	st, err := buildStack(ctx, testConfig(t), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	code, m, body := readyz(t, st.handler)
	if c := checksOf(m); code != 200 || c["store"] != "ok" || c["migrations"] != "ok" || len(c) != 2 {
		t.Fatalf("migrated SQLite: %d %s", code, body)
	}
	st.Close()
	code, m, body = readyz(t, st.handler)
	if c := checksOf(m); code != 503 || c["store"] != "unreachable" || !strings.Contains(body, `"code":"upstream_unavailable"`) {
		t.Fatalf("closed store: %d %s", code, body)
	}

	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "unmigrated.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var failed []string
	for _, c := range readyChecks(raw, nil) {
		if err := c.Check(ctx); err != nil {
			failed = append(failed, c.Name+": "+err.Error())
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "migrations: ") || !strings.Contains(failed[0], "wxlogin migrate") {
		t.Fatalf("unmigrated database: %q", failed)
	}
}

// forwarder is a TCP proxy to a real server that can be shut, leaving a closed port behind.
type forwarder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newForwarder(t *testing.T, target string) *forwarder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(f.Close)
	return f
}

// Close closes the listener (its port now refuses connections) and every forwarded connection.
func (f *forwarder) Close() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

// TestReadyzRedisDown: with Redis configured, /readyz checks it; once Redis's port is closed,
// /readyz answers 503 naming redis (and not its address), while the store stays "ok".
func TestReadyzRedisDown(t *testing.T) {
	rd := os.Getenv("WXLOGIN_TEST_REDIS")
	if rd == "" {
		t.Skip("WXLOGIN_TEST_REDIS not set")
	}
	u, err := url.Parse(rd)
	if err != nil {
		t.Fatal(err)
	}
	fw := newForwarder(t, u.Host)
	u.Host = fw.ln.Addr().String()
	cfg := testConfig(t)
	cfg.RedisURL = u.String()
	cfg.RedisPrefix = "wxl-ready-" + randomHex(6) + ":"
	st, err := buildStack(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, m, body := readyz(t, st.handler)
	if c := checksOf(m); code != 200 || c["redis"] != "ok" || c["store"] != "ok" {
		t.Fatalf("Redis up: %d %s", code, body)
	}
	fw.Close()
	code, m, body = readyz(t, st.handler)
	if c := checksOf(m); code != 503 || c["redis"] != "unreachable" || c["store"] != "ok" || c["migrations"] != "ok" {
		t.Fatalf("Redis down: %d %s", code, body)
	}
	e, _ := m["error"].(map[string]any)
	if msg, _ := e["message"].(string); e["code"] != "upstream_unavailable" || !strings.Contains(msg, "redis") || strings.Contains(msg, "store") {
		t.Errorf("Redis down error: %s", body)
	}
	if strings.Contains(body, fw.ln.Addr().String()) || strings.Contains(body, "redis://") {
		t.Errorf("readyz repeats Redis's address: %s", body)
	}
}
