package http

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// ReadyCheck is one dependency GET /readyz checks. Check returns nil when the dependency is usable;
// a *wxlogin.Error's message is shown to the prober (so it must be safe), any other error is shown
// as "unreachable" and only logged.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// readyTimeout bounds all the checks of one probe together.
const readyTimeout = 5 * time.Second

// readyBody is the answer of /readyz: status, the result of every check, and on 503 the JSON error
// of docs/architecture.md §3 naming the dependencies that failed.
type readyBody struct {
	Status    string            `json:"status"`
	Checks    map[string]string `json:"checks"`
	Error     *errorDetail      `json:"error,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// handleReadyz answers 200 when every check passes, else 503 upstream_unavailable naming the
// failing dependencies (never a DSN or address: those go to the log only).
func (s *server) handleReadyz() http.Handler {
	checks := s.cfg.Ready
	if len(checks) == 0 {
		checks = []ReadyCheck{{Name: "store", Check: s.svc.Ready}}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		body := readyBody{Status: "ok", Checks: make(map[string]string, len(checks))}
		var failed []string
		for _, c := range checks {
			err := c.Check(ctx)
			if err == nil {
				body.Checks[c.Name] = "ok"
				continue
			}
			msg := "unreachable"
			var we *wxlogin.Error
			if errors.As(err, &we) {
				msg = we.Message
			}
			s.log.WarnContext(r.Context(), "not ready", "dependency", c.Name, "err", err)
			body.Checks[c.Name] = msg
			failed = append(failed, c.Name+": "+msg)
		}
		if len(failed) == 0 {
			encode(w, http.StatusOK, body)
			return
		}
		body.Status = "unavailable"
		body.Error = &errorDetail{Code: wxlogin.EUPSTREAMUNAVAIL, Message: "not ready: " + strings.Join(failed, "; ")}
		body.RequestID = requestID(r.Context())
		setErrorCode(r.Context(), wxlogin.EUPSTREAMUNAVAIL)
		w.Header().Set("Retry-After", "5")
		encode(w, http.StatusServiceUnavailable, body)
	})
}
