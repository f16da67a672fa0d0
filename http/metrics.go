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

// measurement is what the observe middleware learns about one request: the status (through the
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

// report gives obs what it counts of one answered request: route, status and latency; for login
// routes the method and result (success, or the error code written); 429 rate_limited answers by
// route.
func report(obs Observer, route string, status int, code string, d time.Duration) {
	obs.ObserveRequest(route, status, d)
	if method, ok := loginMethods[route]; ok {
		result := "success"
		if status >= 400 {
			result = code
			if result == "" {
				result = "unknown"
			}
		}
		obs.ObserveLogin(method, result)
	}
	if status == http.StatusTooManyRequests && code == wxlogin.ERATELIMITED {
		obs.ObserveRateLimited(route)
	}
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
