package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/wechatsim"
)

func TestLimitConfig(t *testing.T) {
	base := map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey}
	cfg, err := loadConfig("", envFrom(base))
	if err != nil {
		t.Fatal(err)
	}
	l, err := cfg.rateLimits()
	if err != nil {
		t.Fatal(err)
	}
	want := wxhttp.RateLimits{
		LoginIP: wxhttp.RateLimit{Limit: 300, Window: time.Minute}, LoginIdentity: wxhttp.RateLimit{Limit: 120, Window: time.Minute},
		PasswordIP: wxhttp.RateLimit{Limit: 30, Window: time.Minute}, PasswordIdentity: wxhttp.RateLimit{Limit: 10, Window: 5 * time.Minute},
		RefreshIP: wxhttp.RateLimit{Limit: 300, Window: time.Minute}, RefreshIdentity: wxhttp.RateLimit{Limit: 5, Window: time.Minute},
		PhoneIP: wxhttp.RateLimit{Limit: 30, Window: time.Minute}, PhoneIdentity: wxhttp.RateLimit{Limit: 10, Window: time.Hour},
		QRLoginIP: wxhttp.RateLimit{Limit: 120, Window: time.Minute},
	}
	if l != want {
		t.Errorf("default limits %+v, want %+v", l, want)
	}
	if cfg.MaxConcurrentRequests != 1024 || cfg.MaxHeaderBytes != 16384 || cfg.WriteTimeout != 30*time.Second {
		t.Errorf("server limits %d %d %v", cfg.MaxConcurrentRequests, cfg.MaxHeaderBytes, cfg.WriteTimeout)
	}
	if lp, err := cfg.lockout(); err != nil || lp != (auth.LockoutPolicy{MaxFailures: 5, LockFor: 15 * time.Minute, IPMaxFailures: 30, IPWindow: 15 * time.Minute}) {
		t.Errorf("default lock-out %+v, %v", lp, err)
	}
	// Dev keeps every limit on, twenty times as generous.
	cfg.generousRateLimits()
	dev, _ := cfg.rateLimits()
	if dev.PasswordIdentity != (wxhttp.RateLimit{Limit: 200, Window: 5 * time.Minute}) || dev.LoginIP.Limit != 6000 {
		t.Errorf("dev limits %+v", dev)
	}
	// A limit can be switched off.
	env := map[string]string{"WXLOGIN_RATE_LIMIT_REFRESH_IP": "off"}
	for k, v := range base {
		env[k] = v
	}
	if cfg, err = loadConfig("", envFrom(env)); err != nil {
		t.Fatal(err)
	}
	if l, _ := cfg.rateLimits(); l.RefreshIP.On() || !l.RefreshIdentity.On() {
		t.Errorf("off: %+v", l)
	}
	for key, val := range map[string]string{
		"WXLOGIN_RATE_LIMIT_LOGIN_IP":         "lots",
		"WXLOGIN_RATE_LIMIT_PHONE_IDENTITY":   "0/1h",
		"WXLOGIN_RATE_LIMIT_PASSWORD_IP":      "5/1ms",
		"WXLOGIN_WRITE_TIMEOUT":               "2s",
		"WXLOGIN_MAX_HEADER_BYTES":            "100",
		"WXLOGIN_READ_HEADER_TIMEOUT":         "0s",
		"WXLOGIN_MAX_CONCURRENT_REQUESTS":     "-1",
		"WXLOGIN_RATE_LIMIT_REFRESH_IDENTITY": "",
		"WXLOGIN_LOCKOUT_IP":                  "off",
	} {
		env := map[string]string{key: val}
		for k, v := range base {
			env[k] = v
		}
		name := strings.ToLower(strings.TrimPrefix(key, "WXLOGIN_"))
		_, err := loadConfig("", envFrom(env))
		if val == "" { // unset: the default applies
			if err != nil {
				t.Errorf("%s unset: %v", key, err)
			}
			continue
		}
		if err == nil || !(strings.Contains(err.Error(), name) || strings.Contains(err.Error(), key)) {
			t.Errorf("%s=%s: err = %v, want it to name the setting", key, val, err)
		}
	}
}

// startServe runs `wxlogin serve` with env over a simulator's app and returns its base URL; it
// stops at cleanup.
func startServe(t *testing.T, sim *wechatsim.Sim, env map[string]string) string {
	t.Helper()
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	full := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_APPS":            "wx1234567890abcdef:limits-test-app-secret",
		"WXLOGIN_DATA_KEYS":       testDataKey,
		"WXLOGIN_DATABASE":        "sqlite:" + filepath.Join(t.TempDir(), "serve.db"),
		"WXLOGIN_WECHAT_BASE_URL": simSrv.URL,
		"WXLOGIN_ARGON2_TIME":     "1",
		"WXLOGIN_SIGNUP":          "true",
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"wxlogin", "serve"}, envFrom(full), nil, stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v (%s)", err, stderr.String())
		}
	})
	return waitFor(t, stdout, regexp.MustCompile(`listening on (http://\S+)`))
}

// TestServeLimits: serve applies the configured rate limits (through Redis when it is set) and
// header size.
func TestServeLimits(t *testing.T) {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: "wx1234567890abcdef", Secret: "limits-test-app-secret"}}})
	env := map[string]string{"WXLOGIN_RATE_LIMIT_PASSWORD_IDENTITY": "2/1m", "WXLOGIN_MAX_HEADER_BYTES": "4096"}
	if url := os.Getenv("WXLOGIN_TEST_REDIS"); url != "" {
		var b [8]byte
		rand.Read(b[:])
		env["WXLOGIN_REDIS_URL"], env["WXLOGIN_REDIS_PREFIX"] = url, "wxlogintest:"+hex.EncodeToString(b[:])+":"
	}
	base := startServe(t, sim, env)
	post := func(path, body string) *http.Response {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("/v1/accounts", `{"username":"wendy","password":"wendy-password"}`); r.StatusCode != 201 {
		t.Fatalf("sign-up: %d", r.StatusCode)
	}
	if r := post("/v1/login/password", `{"username":"wendy","password":"wendy-password"}`); r.StatusCode != 200 {
		t.Fatalf("login: %d", r.StatusCode)
	}
	r := post("/v1/login/password", `{"username":"wendy","password":"wendy-password"}`)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third password check of wendy: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("16 KiB header with max_header_bytes 4096: %d", resp.StatusCode)
	}
}

// TestServeLockoutIP: serve caps failed password checks per address at lockout_ip.
func TestServeLockoutIP(t *testing.T) {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: "wx1234567890abcdef", Secret: "limits-test-app-secret"}}})
	base := startServe(t, sim, map[string]string{"WXLOGIN_LOCKOUT_IP": "2/1h"})
	status := func(user string) int {
		resp, err := http.Post(base+"/v1/login/password", "application/json", strings.NewReader(`{"username":"`+user+`","password":"wrong-password"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, u := range []string{"ann", "bob"} {
		if got := status(u); got != http.StatusUnauthorized {
			t.Fatalf("failure %s: %d, want 401", u, got)
		}
	}
	if got := status("cid"); got != http.StatusTooManyRequests {
		t.Fatalf("third failure from one address with lockout_ip 2/1h: %d, want 429", got)
	}
}
