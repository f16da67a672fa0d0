package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// newTestStack builds the stack of a configuration on a fresh SQLite file.
func newTestStack(t *testing.T) (*stack, *Config) {
	t.Helper()
	cfg := defaultConfig()
	cfg.Apps, cfg.DataKeys = "wx1234567890abcdef:prune-test-app-secret", testDataKey
	cfg.Database = "sqlite:" + filepath.Join(t.TempDir(), "prune.db")
	st, err := buildStack(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, cfg
}

func TestRetentionDefaults(t *testing.T) {
	cfg := defaultConfig()
	if cfg.AuditRetention != 2160*time.Hour || cfg.SessionRetention != 720*time.Hour {
		t.Errorf("audit_retention %v, session_retention %v; want 2160h and 720h", cfg.AuditRetention, cfg.SessionRetention)
	}
	cfg, err := loadConfig("", envFrom(map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey,
		"WXLOGIN_AUDIT_RETENTION": "0", "WXLOGIN_SESSION_RETENTION": "48h"}))
	if err != nil || cfg.AuditRetention != 0 || cfg.SessionRetention != 48*time.Hour {
		t.Errorf("from the environment: %v, %v, %v", err, cfg.AuditRetention, cfg.SessionRetention)
	}
}

// TestPruner: one pass deletes exactly the audit events older than audit_retention and the dead
// sessions (with their refresh tokens) older than session_retention; a zero retention keeps all.
func TestPruner(t *testing.T) {
	st, cfg := newTestStack(t)
	ctx := t.Context()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour

	for _, age := range []time.Duration{100 * day, 91 * day, 89 * day, time.Hour} {
		if err := st.store.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now.Add(-age), Type: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.store.CreateUser(ctx, &wxlogin.User{ID: "usr_1", CreatedAt: now.Add(-100 * day)}); err != nil {
		t.Fatal(err)
	}
	sessions := []struct {
		id               string
		revoked, expires time.Time
		gone             bool
	}{
		{"ses_revoked_long_ago", now.Add(-31 * day), now.Add(10 * day), true},
		{"ses_expired_long_ago", time.Time{}, now.Add(-40 * day), true},
		{"ses_revoked_yesterday", now.Add(-day), now.Add(10 * day), false},
		{"ses_expired_yesterday", time.Time{}, now.Add(-day), false},
		{"ses_active", time.Time{}, now.Add(10 * day), false},
	}
	for _, s := range sessions {
		err := st.store.CreateSession(ctx, &wxlogin.Session{ID: s.id, UserID: "usr_1", Method: "wechat", CreatedAt: now.Add(-60 * day),
			LastSeenAt: now.Add(-60 * day), ExpiresAt: s.expires, RevokedAt: s.revoked})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.store.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h-" + s.id, SessionID: s.id, ExpiresAt: s.expires}); err != nil {
			t.Fatal(err)
		}
	}

	// Zero retentions keep everything.
	keep := &pruner{svc: st.svc, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler)}
	if events, n, err := keep.once(ctx); err != nil || events != 0 || n != 0 {
		t.Errorf("pruning with zero retentions: %d events, %d sessions, %v", events, n, err)
	}

	p := newPruner(st.svc, cfg, slog.New(slog.DiscardHandler))
	p.now = func() time.Time { return now }
	events, n, err := p.once(ctx)
	if err != nil || events != 2 || n != 2 {
		t.Fatalf("prune: %d events, %d sessions, %v; want 2 and 2", events, n, err)
	}
	left, err := st.store.AuditEvents(ctx, wxlogin.AuditFilter{})
	if err != nil || len(left) != 2 || !left[1].Time.Equal(now.Add(-89*day)) {
		t.Errorf("audit events left: %d, %v", len(left), err)
	}
	for _, s := range sessions {
		_, err := st.store.Session(ctx, s.id)
		_, rtErr := st.store.RefreshToken(ctx, "h-"+s.id)
		if gone := wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND && wxlogin.ErrorCode(rtErr) == wxlogin.ENOTFOUND; gone != s.gone {
			t.Errorf("%s: session %v, refresh token %v; want gone=%v", s.id, err, rtErr, s.gone)
		}
	}
	if events, n, err := p.once(ctx); err != nil || events != 0 || n != 0 {
		t.Errorf("second pass: %d events, %d sessions, %v; want nothing", events, n, err)
	}

	// run prunes at once when started, and stops with its context.
	if err := st.store.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now.Add(-200 * day), Type: "t"}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.run(rctx, time.Hour); close(done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if l, _ := st.store.AuditEvents(ctx, wxlogin.AuditFilter{}); len(l) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("run did not prune when it started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestParseAdminTokens(t *testing.T) {
	got, err := parseAdminTokens(" ops:0123456789abcdef0123 , sre.on-call@example:fedcba9876543210:with-colon ,")
	if err != nil || len(got) != 2 || got["ops"] != "0123456789abcdef0123" || got["sre.on-call@example"] != "fedcba9876543210:with-colon" {
		t.Errorf("parseAdminTokens = %v, %v", got, err)
	}
	if got, err := parseAdminTokens(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{
		"justatokenwithoutaname0123",
		":0123456789abcdef0123",
		"ops:short-secret-1",
		"op s:0123456789abcdef0123",
		"ops:0123456789abcdef0123,ops:0123456789abcdef0124",
		"ops:0123456789abcdef0123,sre:0123456789abcdef0123",
	} {
		_, err := parseAdminTokens(bad)
		if err == nil {
			t.Errorf("parseAdminTokens(%q) accepted it", bad)
			continue
		}
		for _, secret := range []string{"0123456789abcdef0123", "short-secret-1", "justatokenwithoutaname0123"} {
			if strings.Contains(bad, secret) && strings.Contains(err.Error(), secret) {
				t.Errorf("error echoes a token: %v", err)
			}
		}
	}
}

// TestServeAdminAPI: serve wires admin_tokens into the admin API, and refuses bad ones.
func TestServeAdminAPI(t *testing.T) {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: "wx1234567890abcdef", Secret: "serve-test-app-secret"}}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	env := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_APPS":            "wx1234567890abcdef:serve-test-app-secret",
		"WXLOGIN_DATA_KEYS":       testDataKey,
		"WXLOGIN_DATABASE":        "sqlite:" + filepath.Join(t.TempDir(), "serve.db"),
		"WXLOGIN_WECHAT_BASE_URL": simSrv.URL,
		"WXLOGIN_ADMIN_TOKENS":    "ops:serve-admin-token-0123456789",
	}
	var out, errOut syncBuffer
	bad := map[string]string{}
	for k, v := range env {
		bad[k] = v
	}
	bad["WXLOGIN_ADMIN_TOKENS"] = "ops:tooshort"
	if err := run(t.Context(), []string{"wxlogin", "serve"}, envFrom(bad), nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "admin_tokens") {
		t.Fatalf("a short admin token: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"wxlogin", "serve"}, envFrom(env), nil, stdout, stderr) }()
	base := waitFor(t, stdout, regexp.MustCompile(`listening on (http://\S+)`))
	get := func(bearer string) int {
		req, _ := http.NewRequest("GET", base+"/admin/v1/users", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("serve-admin-token-0123456789"); s != 200 {
		t.Errorf("admin request with the configured token: %d", s)
	}
	if s := get("serve-admin-token-012345678"); s != 401 {
		t.Errorf("admin request with a wrong token: %d", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "serve-admin-token") {
		t.Error("the admin token is in serve's logs")
	}
}
