package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/metrics"
)

// scrape returns what GET /metrics answers.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l+"\n") {
			t.Errorf("metrics lack %s", l)
		}
	}
}

// TestWeChatObserver calls the WeChat observer methods as the wechat clients will and checks the
// series: calls by errcode or transport with latency, rejections, breaker state, token refreshes.
func TestWeChatObserver(t *testing.T) {
	m := metrics.New()
	const app = "wx1234567890abcdef"
	m.ObserveCall(app, "code2session", "0", 30*time.Millisecond)
	m.ObserveCall(app, "code2session", "0", 40*time.Millisecond)
	m.ObserveCall(app, "code2session", "40029", 10*time.Millisecond)
	m.ObserveCall(app, "code2session", "-1", 10*time.Millisecond)
	m.ObserveCall(app, "stable_token", "transport", 5*time.Second)
	m.ObserveCall(app, "stable_token", "<html>garbage", time.Millisecond) // bounded: "other"
	m.ObserveRejected(app, "code2session", "circuit_open")
	m.ObserveRejected(app, "code2session", "overloaded")
	m.ObserveRejected(app, "code2session", "something new")
	m.ObserveBreaker(app, "code2session", "open")
	m.ObserveBreaker(app, "stable_token", "half_open")
	m.ObserveBreaker(app, "phone", "open")
	m.ObserveBreaker(app, "phone", "closed")
	m.ObserveTokenRefresh(app, true)
	m.ObserveTokenRefresh(app, false)
	m.ObserveTokenRefresh(app, true)

	wantLines(t, scrape(t, m),
		`wxlogin_wechat_calls_total{api="code2session",appid="wx1234567890abcdef",outcome="0"} 2`,
		`wxlogin_wechat_calls_total{api="code2session",appid="wx1234567890abcdef",outcome="40029"} 1`,
		`wxlogin_wechat_calls_total{api="code2session",appid="wx1234567890abcdef",outcome="-1"} 1`,
		`wxlogin_wechat_calls_total{api="stable_token",appid="wx1234567890abcdef",outcome="transport"} 1`,
		`wxlogin_wechat_calls_total{api="stable_token",appid="wx1234567890abcdef",outcome="other"} 1`,
		`wxlogin_wechat_call_duration_seconds_count{api="code2session",appid="wx1234567890abcdef"} 4`,
		`wxlogin_wechat_call_duration_seconds_bucket{api="code2session",appid="wx1234567890abcdef",le="0.025"} 2`,
		`wxlogin_wechat_call_duration_seconds_bucket{api="stable_token",appid="wx1234567890abcdef",le="2.5"} 1`,
		`wxlogin_wechat_rejected_total{api="code2session",appid="wx1234567890abcdef",reason="circuit_open"} 1`,
		`wxlogin_wechat_rejected_total{api="code2session",appid="wx1234567890abcdef",reason="overloaded"} 1`,
		`wxlogin_wechat_rejected_total{api="code2session",appid="wx1234567890abcdef",reason="other"} 1`,
		`wxlogin_wechat_breaker_state{api="code2session",appid="wx1234567890abcdef"} 1`,
		`wxlogin_wechat_breaker_state{api="stable_token",appid="wx1234567890abcdef"} 2`,
		`wxlogin_wechat_breaker_state{api="phone",appid="wx1234567890abcdef"} 0`,
		`wxlogin_wechat_token_refreshes_total{appid="wx1234567890abcdef",result="ok"} 2`,
		`wxlogin_wechat_token_refreshes_total{appid="wx1234567890abcdef",result="error"} 1`,
	)
}

// The interface the wechat package declares for its observer; *Metrics must satisfy it.
var _ interface {
	ObserveCall(appid, api, outcome string, d time.Duration)
	ObserveRejected(appid, api, reason string)
	ObserveBreaker(appid, api, state string)
	ObserveTokenRefresh(appid string, ok bool)
} = (*metrics.Metrics)(nil)

// failingStore answers every call with err.
type failingStore struct {
	wxlogin.Store // nil: methods not overridden here must not be called
	err           error
	closed        bool
}

func (f *failingStore) User(ctx context.Context, id string) (*wxlogin.User, error) { return nil, f.err }
func (f *failingStore) Session(ctx context.Context, id string) (*wxlogin.Session, error) {
	return nil, f.err
}
func (f *failingStore) Ping(ctx context.Context) error { return f.err }
func (f *failingStore) Update(ctx context.Context, fn func(wxlogin.Tx) error) error {
	if f.err != nil {
		return f.err
	}
	return fn(nil)
}
func (f *failingStore) Close() error { f.closed = true; return nil }

// TestInstrumentStore: failures are counted by operation; not_found, conflict, business errors of
// an Update's fn and the caller's cancellation are not; errors and results pass through unchanged.
func TestInstrumentStore(t *testing.T) {
	m := metrics.New()
	ctx := context.Background()
	fs := &failingStore{}
	s := metrics.InstrumentStore(fs, m)

	boom := errors.New("disk I/O error")
	fs.err = boom
	if _, err := s.User(ctx, "u1"); err != boom {
		t.Fatalf("User error = %v, want it unchanged", err)
	}
	s.Session(ctx, "s1")
	s.Ping(ctx)
	s.Update(ctx, func(wxlogin.Tx) error { return nil })
	s.Update(ctx, func(wxlogin.Tx) error { return nil })

	fs.err = wxlogin.Errorf(wxlogin.ENOTFOUND, "no such user")
	s.User(ctx, "u2")
	fs.err = wxlogin.Errorf(wxlogin.ECONFLICT, "taken")
	s.Session(ctx, "s2")
	fs.err = context.Canceled
	s.Ping(ctx)
	fs.err = nil
	if err := s.Update(ctx, func(wxlogin.Tx) error { return wxlogin.Errorf(wxlogin.EFORBIDDEN, "disabled") }); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
		t.Fatalf("Update's fn error = %v, want it unchanged", err)
	}
	s.Close()
	if !fs.closed {
		t.Error("Close did not reach the store")
	}

	body := scrape(t, m)
	wantLines(t, body,
		`wxlogin_store_errors_total{op="user"} 1`,
		`wxlogin_store_errors_total{op="session"} 1`,
		`wxlogin_store_errors_total{op="ping"} 1`,
		`wxlogin_store_errors_total{op="update"} 2`,
	)
}

// TestRegistryIsOwn: two Metrics do not share series (no global default registry).
func TestRegistryIsOwn(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.ObserveLogin("wechat", "success")
	if strings.Contains(scrape(t, b), `wxlogin_logins_total{`) {
		t.Error("a login observed by one Metrics shows in another")
	}
	if !strings.Contains(scrape(t, a), `wxlogin_logins_total{method="wechat",result="success"} 1`) {
		t.Error("login not counted")
	}
}
