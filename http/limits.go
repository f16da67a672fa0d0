package http

import (
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
)

// limitInFlight answers EOVERLOADED (503 + Retry-After) instead of running next once max requests
// are in flight, so that a flood queues nowhere and the process keeps its memory. Liveness and
// readiness probes are exempt: an overloaded instance is alive, and killing it would not help.
// max <= 0 means no cap.
func (s *server) limitInFlight(max int, next http.Handler) http.Handler {
	if max <= 0 {
		return next
	}
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			s.writeError(w, r, &wxlogin.Error{Code: wxlogin.EOVERLOADED, Message: "the server is overloaded; try again shortly", RetryAfter: time.Second})
			return
		}
		defer func() { <-slots }()
		next.ServeHTTP(w, r)
	})
}
