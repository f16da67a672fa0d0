// Package http is wxlogin's HTTP API: routes.go lists every route; handlers decode requests, call
// the auth service and encode its answers; errors leave in the one JSON shape of docs/architecture.md §3.
package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"
)

// Config configures the HTTP API.
type Config struct {
	// IntrospectionClients maps a service's client id to its secret (HTTP Basic on /v1/introspect).
	IntrospectionClients map[string]string
	// AdminTokens maps an operator's name to its admin token (Bearer on /admin/v1); the name is the
	// actor "admin:<name>" of the audit trail. Only SHA-256 hashes are kept. None: /admin/v1 is 404.
	AdminTokens map[string]string
	// TrustProxyHeaders makes the client IP come from X-Forwarded-For / X-Real-IP (behind a proxy
	// that sets them); otherwise it is the connection's address.
	TrustProxyHeaders bool
	// Issuer is the iss of access tokens, echoed by introspection.
	Issuer string
	// MaxBodyBytes caps request bodies (default 64 KiB).
	MaxBodyBytes int64
	Now          func() time.Time

	// RateLimits limits logins, refreshes and phone requests (zero: none); Limiter counts them
	// (nil: in this process; a failing Limiter falls back to this process's counts).
	RateLimits RateLimits
	Limiter    Limiter
	// MaxConcurrent caps the requests in flight (health probes exempt); 0: no cap.
	MaxConcurrent int
	// MaxInFlightPerClient bounds the requests one client address has in flight, body reading
	// included (0: no bound); BodyMinRate is the slowest a body may arrive, bytes per second, after
	// BodyReadGrace (default 5s) (0: no minimum). See guardSlowClients.
	MaxInFlightPerClient int
	BodyMinRate          int64
	BodyReadGrace        time.Duration
	// ReadTimeout is the http.Server's: a body's deadline never goes past it (0: no cap).
	ReadTimeout time.Duration
	// Observer, when set, receives request, login and rate-limit measurements (package metrics).
	Observer Observer
	// Metrics, when set, serves GET /metrics (package metrics' Handler).
	Metrics http.Handler
	// Ready lists what GET /readyz checks, in order; when empty it checks the store.
	Ready []ReadyCheck
	// OIDC serves the OpenID Connect provider's routes (package oidc's Provider.Handler; nil: off),
	// and OIDCClients are its clients as GET /admin/v1/clients lists them.
	OIDC        http.Handler
	OIDCClients []OIDCClientInfo
	// AvatarBaseURL is the base of avatar links (https://login.example.com); "" : the request's host.
	AvatarBaseURL string
	// WebCallbackURL is GET /v1/oauth/wechat/callback as browsers reach it (weblogin.go); empty:
	// built from the request's Host (and X-Forwarded-Proto with TrustProxyHeaders).
	WebCallbackURL string

	// LookupClients are the introspection clients allowed to look users up (GET /v1/users), and
	// LookupRate limits each one's lookups (lookup.go).
	LookupClients map[string]bool
	LookupRate    RateLimit
}

// NewServer returns the HTTP handler of the whole API over svc (an *auth.Service).
func NewServer(logger *slog.Logger, cfg Config, svc Service) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &server{log: logger, cfg: cfg, svc: svc, clients: hashClients(cfg.IntrospectionClients), admins: hashAdmins(cfg.AdminTokens)}
	s.cfg.AdminTokens = nil // only the hashes stay in memory
	s.limits = newRateLimiter(cfg, logger)
	mux := http.NewServeMux()
	addRoutes(mux, s)
	var h http.Handler = jsonNotFound(mux, s)
	h = s.limitInFlight(cfg.MaxConcurrent, h)
	h = s.guardSlowClients(cfg.MaxInFlightPerClient, cfg.BodyMinRate, cfg.BodyReadGrace, cfg.ReadTimeout, h)
	h = s.recoverPanics(h)
	h = s.observe(mux, cfg.Observer, h)
	h = withRequestID(h)
	return h
}

type server struct {
	log     *slog.Logger
	cfg     Config
	svc     Service
	clients map[string][32]byte // client id → sha256(secret)
	limits  *rateLimiter
	admins  []adminToken // sorted by name
}

// hashClients keeps only hashes of the introspection secrets in memory.
func hashClients(m map[string]string) map[string][32]byte {
	out := make(map[string][32]byte, len(m))
	for id, secret := range m {
		out[id] = sha256.Sum256([]byte(secret))
	}
	return out
}

// checkClient reports whether id/secret is a configured introspection client, in constant time
// for the secret.
func (s *server) checkClient(id, secret string) bool {
	want, ok := s.clients[id]
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1 && ok
}
