package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
	keyMeasurement
)

// requestID returns the request id of ctx ("" outside a request).
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// withRequestID gives every request an id: the client's X-Request-Id when it is sane, else a new
// one. The response carries it in X-Request-Id.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// measurements recycles the per-request measurement, so that observing a request allocates nothing.
var measurements = sync.Pool{New: func() any { return new(measurement) }}

// observe handles what is learnt of every request once it is answered, measuring it once for both
// uses: it logs one line (method, route pattern — never the raw URL or its query —, status,
// duration, request id, client IP) at info level, and reports route, status and latency to obs
// (when not nil), plus, for login routes, the method and result and, for 429 rate_limited answers,
// the route. A request answered before routing (e.g. by a limiter in front of the mux) is put
// under the route the mux would have chosen; one no route matches under "unmatched".
func (s *server) observe(mux *http.ServeMux, obs Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		logging := s.log.Enabled(ctx, slog.LevelInfo)
		if !logging && obs == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := s.cfg.Now()
		m := measurements.Get().(*measurement)
		*m = measurement{statusRecorder: statusRecorder{ResponseWriter: w}}
		// Like w itself, m is not used once the handler returned: it goes back to the pool.
		defer func() { *m = measurement{}; measurements.Put(m) }()
		if obs != nil {
			r = r.WithContext(context.WithValue(ctx, keyMeasurement, m))
		}
		next.ServeHTTP(&m.statusRecorder, r)
		d := s.cfg.Now().Sub(start)
		status := m.status
		if status == 0 {
			status = http.StatusOK
		}
		route := r.Pattern // set by the mux on this very request
		if route == "" {
			_, route = mux.Handler(r)
		}
		if route == "" {
			route = "unmatched"
		}
		if logging {
			s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("request_id", requestID(ctx)), slog.String("ip", s.clientIP(r)))
		}
		if obs != nil {
			report(obs, route, status, m.code, d)
		}
	})
}

// recoverPanics turns a panic into a logged internal error, so one bad request cannot take the
// process down.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// jsonNotFound answers requests no route matches (404) or whose method is wrong (405) in the
// JSON error shape instead of the mux's plain text.
func jsonNotFound(mux *http.ServeMux, s *server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EMETHODNOTALLOWED, "method %s is not allowed here; allowed: %s", r.Method, probe.header.Get("Allow")))
			return
		}
		if probe.status >= 300 && probe.status < 400 { // the mux's redirects (e.g. path cleaning)
			mux.ServeHTTP(w, r)
			return
		}
		s.writeError(w, r, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such route"))
	})
}

// headerProbe captures the status and headers of the mux's own 404/405 handler.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

// clientIP returns the caller's IP address.
func (s *server) clientIP(r *http.Request) string {
	if s.cfg.TrustProxyHeaders {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(ip) != nil {
				return ip
			}
		}
		if ip := strings.TrimSpace(r.Header.Get("X-Real-Ip")); net.ParseIP(ip) != nil {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// meta returns the request's origin for sessions and the audit trail.
func (s *server) meta(r *http.Request) auth.Meta {
	return auth.Meta{IP: s.clientIP(r), UserAgent: cleanHeaderText(r.UserAgent())}
}

// authenticated requires a valid Bearer access token whose session is active.
func (s *server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r)
		if !ok {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "an Authorization: Bearer access token is required"))
			return
		}
		p, err := s.svc.Authenticate(r.Context(), tok)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	})
}

// bearerToken returns the token of the request's one Authorization header of scheme Bearer (the
// scheme is case-insensitive, RFC 7235 §2.1); false when there is none, it is empty, or there are
// several headers (which one would count is ambiguous).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

// principal returns the authenticated caller (set by authenticated).
func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(keyPrincipal).(*auth.Principal)
	return p
}

// noStore marks a response that carries tokens as not cacheable.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
