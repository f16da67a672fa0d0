package http_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/metrics"
)

// TestMetricsEndpoint drives a few requests through a server with metrics, scrapes GET /metrics,
// and checks the series and their labels: route patterns (never raw paths), statuses, login
// methods and results — and that no openid, user id, token or raw path became a label.
func TestMetricsEndpoint(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) { h.Observer, h.Metrics = m, m.Handler() })

	tk := e.login(appA, "metrics-alice")
	me := e.me(tk.AccessToken)
	if r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": "not-a-real-code"}); r.Status != 401 {
		t.Fatalf("bad code: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/v1/login/password", "", map[string]string{"username": "nobody", "password": "wrong-password"}); r.Status != 401 {
		t.Fatalf("bad password: %d %s", r.Status, r.Body)
	}
	if r := e.do("DELETE", "/v1/me/sessions/"+tk.SessionID, tk.AccessToken, nil); r.Status != 204 {
		t.Fatalf("revoke session: %d %s", r.Status, r.Body)
	}
	const rawPath = "/v1/nothing-here-7f3a9c"
	if r := e.do("GET", rawPath, "", nil); r.Status != 404 {
		t.Fatalf("unknown path: %d", r.Status)
	}
	if r := e.do("PUT", "/v1/me", tk.AccessToken, nil); r.Status != 405 {
		t.Fatalf("wrong method: %d", r.Status)
	}

	r := e.do("GET", "/metrics", "", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	body := string(r.Body)
	for _, want := range []string{
		`wxlogin_http_requests_total{route="POST /v1/login/wechat",status="200"} 1`,
		`wxlogin_http_requests_total{route="POST /v1/login/wechat",status="401"} 1`,
		`wxlogin_http_requests_total{route="GET /v1/me",status="200"} 1`,
		`wxlogin_http_requests_total{route="DELETE /v1/me/sessions/{id}",status="204"} 1`,
		`wxlogin_http_requests_total{route="unmatched",status="404"} 1`,
		`wxlogin_http_requests_total{route="unmatched",status="405"} 1`,
		`wxlogin_http_request_duration_seconds_count{route="GET /v1/me"} 1`,
		`wxlogin_http_request_duration_seconds_bucket{route="POST /v1/login/wechat",le="+Inf"} 2`,
		`wxlogin_logins_total{method="wechat",result="success"} 1`,
		`wxlogin_logins_total{method="wechat",result="invalid_code"} 1`,
		`wxlogin_logins_total{method="password",result="invalid_credentials"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if len(me.Identities) == 0 || me.Identities[0].OpenID == "" {
		t.Fatalf("no openid to look for: %+v", me)
	}
	for name, leak := range map[string]string{"raw path": "nothing-here-7f3a9c", "openid": me.Identities[0].OpenID,
		"user id": tk.User.ID, "session id": tk.SessionID, "access token": tk.AccessToken, "refresh token": tk.RefreshToken,
		"unionid": tk.User.UnionID} {
		if leak != "" && strings.Contains(body, leak) {
			t.Errorf("/metrics contains the %s %q", name, leak)
		}
	}
	// The scrape itself is measured on the next one.
	if r := e.do("GET", "/metrics", "", nil); !strings.Contains(string(r.Body), `wxlogin_http_requests_total{route="GET /metrics",status="200"} 1`) {
		t.Error("the scrape of /metrics is not counted")
	}
}

// TestMetricsDisabled: without a metrics handler /metrics is a JSON not_found.
func TestMetricsDisabled(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/metrics", "", nil); r.Status != 404 || r.ErrorCode(t) != wxlogin.ENOTFOUND {
		t.Fatalf("GET /metrics without metrics: %d %s", r.Status, r.Body)
	}
}

// TestReadyz: /readyz runs every configured check and answers 503 with the JSON error naming the
// failing dependencies — with the safe message of a *wxlogin.Error, and only "unreachable" for
// any other error (whose text, which may hold an address, is logged, never answered).
func TestReadyz(t *testing.T) {
	var redisErr, migErr error
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) {
		h.Ready = []wxhttp.ReadyCheck{
			{Name: "store", Check: func(ctx context.Context) error { return nil }},
			{Name: "migrations", Check: func(ctx context.Context) error { return migErr }},
			{Name: "redis", Check: func(ctx context.Context) error { return redisErr }},
		}
	})
	r := e.do("GET", "/readyz", "", nil)
	if m := r.JSON(t); r.Status != 200 || m["status"] != "ok" || m["error"] != nil {
		t.Fatalf("all ok: %d %s", r.Status, r.Body)
	}
	redisErr = errors.New("dial tcp 10.9.8.7:6379: connect: connection refused")
	r = e.do("GET", "/readyz", "", nil)
	if r.Status != 503 || r.ErrorCode(t) != wxlogin.EUPSTREAMUNAVAIL || r.Header.Get("Retry-After") == "" {
		t.Fatalf("redis down: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	checks, _ := m["checks"].(map[string]any)
	if m["status"] != "unavailable" || checks["redis"] != "unreachable" || checks["store"] != "ok" || checks["migrations"] != "ok" {
		t.Errorf("redis down: %s", r.Body)
	}
	if msg := m["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "redis") || strings.Contains(msg, "store") {
		t.Errorf("message does not name exactly redis: %q", msg)
	}
	if strings.Contains(string(r.Body), "10.9.8.7") {
		t.Error("the readiness answer repeats the dependency's address")
	}
	redisErr = nil
	migErr = wxlogin.Errorf(wxlogin.EUPSTREAMUNAVAIL, "schema migrations are not applied")
	r = e.do("GET", "/readyz", "", nil)
	if m := r.JSON(t); r.Status != 503 || m["checks"].(map[string]any)["migrations"] != "schema migrations are not applied" {
		t.Fatalf("not migrated: %d %s", r.Status, r.Body)
	}
}
