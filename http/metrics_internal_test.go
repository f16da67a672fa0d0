package http

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

type fakeObserver struct {
	requests    []string
	logins      []string
	rateLimited []string
}

func (f *fakeObserver) ObserveRequest(route string, status int, d time.Duration) {
	f.requests = append(f.requests, route+" "+http.StatusText(status))
}
func (f *fakeObserver) ObserveLogin(method, result string) {
	f.logins = append(f.logins, method+" "+result)
}
func (f *fakeObserver) ObserveRateLimited(route string) { f.rateLimited = append(f.rateLimited, route) }

// TestMeasureRateLimited: a 429 rate_limited answer counts against its route, whether the limiter
// runs behind the mux (r.Pattern set) or in front of it (the route is looked up); a login answered
// rate_limited is a login with that result.
func TestMeasureRateLimited(t *testing.T) {
	s := &server{log: slog.New(slog.DiscardHandler), cfg: Config{Now: time.Now}}
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &wxlogin.Error{Code: wxlogin.ERATELIMITED, Message: "slow down", RetryAfter: time.Second})
	})
	mux := http.NewServeMux()
	mux.Handle("POST /v1/login/password", limited)
	obs := &fakeObserver{}

	// Behind the mux.
	h := s.observe(mux, obs, mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/login/password", nil))
	// In front of the mux: the handler answers before routing.
	h = s.observe(mux, obs, limited)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/login/password", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/no/such/route", nil))

	if len(obs.rateLimited) != 3 || obs.rateLimited[0] != "POST /v1/login/password" || obs.rateLimited[1] != "POST /v1/login/password" || obs.rateLimited[2] != "unmatched" {
		t.Errorf("rate limited = %q", obs.rateLimited)
	}
	if len(obs.logins) != 2 || obs.logins[0] != "password rate_limited" {
		t.Errorf("logins = %q", obs.logins)
	}
	if len(obs.requests) != 3 || obs.requests[2] != "unmatched Too Many Requests" {
		t.Errorf("requests = %q", obs.requests)
	}
}
