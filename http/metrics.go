package http

import (
	"context"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Observer receives the measurements of the HTTP API; package metrics implements it. Every label
// it gets is bounded: route patterns (or "unmatched"), statuses, login methods and error codes.
type Observer interface {
	// ObserveRequest counts one request of route answered with status after d.
	ObserveRequest(route string, status int, d time.Duration)
	// ObserveLogin counts one login of method ("wechat", "password", "phone", "cloud", "signup")
	// whose result is "success" or the wxlogin error code it was answered with.
	ObserveLogin(method, result string)
	// ObserveRateLimited counts one request of route answered 429 rate_limited.
	ObserveRateLimited(route string)
}

// loginMethods maps the routes that log someone in to their login method.
var loginMethods = map[string]string{
	"POST /v1/login/wechat":   "wechat",
	"POST /v1/login/password": "password",
	"POST /v1/login/phone":    "phone",
	"POST /v1/login/cloud":    "cloud",
	"POST /v1/accounts":       "signup",
}

// measurement is what the measure middleware learns about one request: the status (through the
// embedded recorder) and the error code writeError wrote (through the request context).
type measurement struct {
	statusRecorder
	code string
}

// setErrorCode records the error code of the response of the request of ctx, when it is measured.
func setErrorCode(ctx context.Context, code string) {
	if m, ok := ctx.Value(keyMeasurement).(*measurement); ok {
		m.code = code
	}
}

// measure reports every request to obs: route pattern (never the raw path; "unmatched" when no
// route matches), status and latency; for login routes the method and result; and 429
// rate_limited answers by route.
func (s *server) measure(mux *http.ServeMux, obs Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m := &measurement{statusRecorder: statusRecorder{ResponseWriter: w}}
		r = r.WithContext(context.WithValue(r.Context(), keyMeasurement, m))
		next.ServeHTTP(&m.statusRecorder, r)
		d := time.Since(start)
		status := m.status
		if status == 0 {
			status = http.StatusOK
		}
		route := r.Pattern // set by the mux on this very request
		if route == "" {
			// Answered before routing (e.g. by a limiter in front of the mux): find the route.
			_, route = mux.Handler(r)
		}
		if route == "" {
			route = "unmatched"
		}
		obs.ObserveRequest(route, status, d)
		if method, ok := loginMethods[route]; ok {
			result := "success"
			if status >= 400 {
				result = m.code
				if result == "" {
					result = "unknown"
				}
			}
			obs.ObserveLogin(method, result)
		}
		if status == http.StatusTooManyRequests && m.code == wxlogin.ERATELIMITED {
			obs.ObserveRateLimited(route)
		}
	})
}

// handleMetrics serves the metrics handler of Config.Metrics (not_found when none is configured).
func (s *server) handleMetrics() http.Handler {
	if s.cfg.Metrics != nil {
		return s.cfg.Metrics
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, wxlogin.Errorf(wxlogin.ENOTFOUND, "metrics are not enabled"))
	})
}
