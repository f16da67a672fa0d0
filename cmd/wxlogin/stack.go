package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/metrics"
	"github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/postgres"
	"github.com/wxlogin/wxlogin/redis"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// stack is a wired server: its handler and what must be closed after it stops.
type stack struct {
	handler http.Handler
	store   wxlogin.Store
	svc     *auth.Service
	issuer  *token.Issuer
	redis   *redis.Client // nil on a single instance without Redis
	metrics *metrics.Metrics
	oidc    *oidc.Provider // nil when no OIDC client is configured
	// deliverer sends the webhook outbox (nil without webhooks; see webhooks.go).
	deliverer *webhook.Deliverer

	stopReload context.CancelFunc // stops the key reloader (nil when not started)
	reloadDone chan struct{}      // closed when the key reloader has returned
}

// startKeyReloader runs reloadKeys in the background until Close (or ctx ends).
func (s *stack) startKeyReloader(ctx context.Context, every time.Duration, logger *slog.Logger) {
	ctx, s.stopReload = context.WithCancel(ctx)
	s.reloadDone = make(chan struct{})
	go func() {
		defer close(s.reloadDone)
		s.reloadKeys(ctx, every, logger)
	}()
}

// reloadKeys reloads the signing keys every interval until ctx ends, so that a rotation made by
// another instance (or `wxlogin keys rotate`) is picked up without a restart.
func (s *stack) reloadKeys(ctx context.Context, every time.Duration, logger *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.issuer.Reload(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("signing keys not reloaded", "err", err)
			}
		}
	}
}

// Close stops the key reloader and waits for it, then closes Redis and the store. Call it only after
// the HTTP server has drained, so no request is cut off from its store.
func (s *stack) Close() error {
	if s.stopReload != nil {
		s.stopReload()
		<-s.reloadDone
	}
	if s.redis != nil {
		s.redis.Close()
	}
	return s.store.Close()
}

// parseApps parses "appid:secret[:platform],..." into apps; errors never echo a secret.
func parseApps(s string) ([]wxlogin.App, error) {
	var apps []wxlogin.App
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		a, err := wechatsim.ParseApp(item)
		if err != nil {
			appid, _, _ := strings.Cut(item, ":")
			return nil, fmt.Errorf("app %q: want appid:secret[:platform]", appid)
		}
		apps = append(apps, wxlogin.App{ID: a.ID, Secret: wxlogin.Secret(a.Secret), Platform: a.Platform})
	}
	if len(apps) == 0 {
		return nil, errors.New("no app configured")
	}
	return apps, nil
}

// parsePairs parses "id:secret,..." into a map; errors never echo a secret.
func parsePairs(s, what string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, secret, ok := strings.Cut(item, ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("%s: each entry must be id:secret (entry %q is not)", what, id)
		}
		out[id] = secret
	}
	return out, nil
}

// migratingStore is a Store that applies its own schema migrations (both backends are).
type migratingStore interface {
	wxlogin.Store
	Migrate(ctx context.Context) error
	Migrated(ctx context.Context) (bool, error)
}

// openStore opens the store a database URL names: "postgres://…" / "postgresql://…" (PostgreSQL),
// or "sqlite:PATH" / a plain path (SQLite). Errors never repeat the URL, which may hold a password.
func openStore(ctx context.Context, url string, logger *slog.Logger, sqliteOpts ...sqlite.Option) (migratingStore, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return postgres.Open(ctx, url, postgres.WithLogger(logger))
	}
	path, ok := strings.CutPrefix(url, "sqlite:")
	if !ok {
		if strings.Contains(url, "://") {
			return nil, fmt.Errorf("database %q: use postgres://… or sqlite:PATH", strings.SplitN(url, "://", 2)[0]+"://…")
		}
		path = url
	}
	path = strings.TrimPrefix(path, "//")
	if path == "" {
		return nil, errors.New("database: empty sqlite path")
	}
	return sqlite.Open(ctx, path, append([]sqlite.Option{sqlite.WithLogger(logger)}, sqliteOpts...)...)
}

// commandConfig returns the configuration of a command: the YAML file at path (or
// $WXLOGIN_CONFIG), overlaid by the environment. Errors name the setting at fault.
func commandConfig(path string, getenv func(string) string) (*Config, error) {
	if path == "" {
		path = getenv("WXLOGIN_CONFIG")
	}
	cfg, err := loadConfig(path, getenv)
	if err != nil {
		return nil, fmt.Errorf("bad configuration: %w", err)
	}
	return cfg, nil
}

// openKeysAndStore returns the data keys and the store of cfg, for the commands that work on the
// database outside a server. The caller closes the store.
func openKeysAndStore(ctx context.Context, cfg *Config) (*keyring.Keyring, migratingStore, error) {
	ring, err := keyring.Parse(cfg.DataKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("data_keys: %w", err)
	}
	store, err := openStore(ctx, cfg.Database, nil, sqlite.WithSynchronous(cfg.SQLiteSynchronous))
	if err != nil {
		return nil, nil, err
	}
	return ring, store, nil
}

// buildStack wires store, keys, WeChat clients, the auth service and the HTTP API from cfg.
func buildStack(ctx context.Context, cfg *Config, logger *slog.Logger, httpClient *http.Client) (*stack, error) {
	apps, err := cfg.allApps()
	if err != nil {
		return nil, err
	}
	web, err := cfg.webConfig(apps)
	if err != nil {
		return nil, err
	}
	ring, err := keyring.Parse(cfg.DataKeys)
	if err != nil {
		return nil, fmt.Errorf("data_keys: %w", err)
	}
	clients, err := parsePairs(cfg.IntrospectClients, "introspection_clients")
	if err != nil {
		return nil, err
	}
	admins, err := parseAdminTokens(cfg.AdminTokens)
	if err != nil {
		return nil, err
	}
	hooks, err := parseWebhooks(cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	lookupRate, err := wxhttp.ParseRateLimit(cfg.RateLimitLookup)
	if err != nil {
		return nil, fmt.Errorf("rate_limit_lookup: %w", err)
	}
	store, err := openStore(ctx, cfg.Database, logger, sqlite.WithSynchronous(cfg.SQLiteSynchronous))
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			store.Close()
		}
	}()
	if cfg.MigrateOnStart {
		if err := store.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
	} else if m, err := store.Migrated(ctx); err != nil || !m {
		return nil, errors.New("the database is not migrated: run 'wxlogin migrate' first (or set migrate_on_start)")
	}
	m := metrics.New()
	if httpClient == nil {
		httpClient = &http.Client{Timeout: cfg.WeChatTimeout}
	}
	// Several instances share the WeChat access token and code de-duplication through Redis; one
	// instance may keep them in memory.
	var (
		rc     *redis.Client
		tokens wxlogin.TokenCache
		codes  wxlogin.CodeCache
	)
	if cfg.RedisURL != "" {
		if rc, err = redis.Open(ctx, cfg.RedisURL, redis.WithPrefix(cfg.RedisPrefix), redis.WithLogger(logger)); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		defer func() {
			if !ok {
				rc.Close()
			}
		}()
		tokens, codes = rc.TokenCache(), rc.CodeCache(cfg.CodeWindow)
	}
	// Caching verified tokens is safe on one instance (SQLite), or on several when Redis carries
	// the invalidations; several instances without Redis do not cache.
	cacheSize, inval := cfg.CacheSize, wxlogin.Invalidations(nil)
	if cacheSize == 0 {
		cacheSize = -1
	}
	if rc != nil {
		inval = rc.Invalidations()
	} else if store.Shared() {
		cacheSize = -1
	}
	lockout, err := cfg.lockout()
	if err != nil {
		return nil, err
	}
	limits, err := cfg.rateLimits()
	if err != nil {
		return nil, err
	}
	oidcCfg, err := cfg.oidcConfig()
	if err != nil {
		return nil, err
	}
	var limiter wxhttp.Limiter // nil: counted in this process
	if rc != nil {
		limiter = rc.Limiter() // shared by every instance; falls back to this process's counts while Redis is down
	}
	signup, err := cfg.signupSettings()
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, app.Config{
		Auth: auth.Config{Store: store, Sealer: ring, Codes: codes, CodeWindow: cfg.CodeWindow, CacheSize: cacheSize, Invalidations: inval,
			SessionTTL: cfg.SessionTTL, Signup: cfg.Signup, PhoneLogin: cfg.PhoneLogin, CloudRun: cfg.CloudRunLogin,
			Argon2:  auth.Argon2Params{Memory: cfg.Argon2Memory, Time: cfg.Argon2Time, Threads: cfg.Argon2Threads},
			Lockout: lockout, SignupPolicy: signup.rules, PhoneSignup: cfg.PhoneSignup, SignupRiskMax: signup.riskMax,
			Avatars: signup.avatars, AvatarMaxBytes: cfg.AvatarMaxBytes, Web: web, QR: cfg.qrLogin(qrNotifier(rc)),
			DeletionGrace: cfg.DeletionGrace},
		HTTP: wxhttp.Config{IntrospectionClients: clients, Issuer: cfg.Issuer, TrustProxyHeaders: cfg.TrustProxyHeaders,
			MaxBodyBytes: cfg.MaxBodyBytes, RateLimits: limits, Limiter: limiter, MaxConcurrent: cfg.MaxConcurrentRequests,
			MaxInFlightPerClient: cfg.MaxInFlightPerClient, BodyMinRate: cfg.BodyMinRate, BodyReadGrace: cfg.BodyReadGrace, ReadTimeout: cfg.ReadTimeout,
			AdminTokens: admins, Ready: readyChecks(store, rc), AvatarBaseURL: cfg.AvatarBaseURL, WebCallbackURL: cfg.WebCallbackURL,
			LookupClients: lookupClients(cfg.LookupClients), LookupRate: lookupRate},
		Apps: apps, WeChatBaseURL: cfg.WeChatBaseURL, WeChatHTTPClient: httpClient, WeChatTokens: tokens,
		Issuer: cfg.Issuer, TokenTTL: cfg.AccessTokenTTL, SigningAlgorithm: cfg.SigningAlgorithm,
		Metrics: m, Logger: logger, OIDC: oidcCfg,
		Webhooks: hooks, WebhookRetryWindow: cfg.WebhookRetryWindow, WebhookMinBackoff: cfg.WebhookRetryMin,
		WebhookTimeout: cfg.WebhookTimeout,
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return &stack{handler: a.Handler, store: store, issuer: a.Tokens, svc: a.Service, redis: rc, metrics: m, oidc: a.OIDC, deliverer: a.Deliverer}, nil
}

// newHTTPServer returns an http.Server with limits a public login server needs (cfg's timeouts and
// header size).
func newHTTPServer(h http.Handler, logger *slog.Logger, cfg *Config) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveUntilDone serves srv on ln until ctx ends, then shuts down within grace.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(wxhttp.GuardFraming(ln)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Shutdown closes the listener and idle connections, then waits for active ones to finish
	// their request; past grace, the remaining connections are cut.
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: requests still running after %s: %w", grace, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newLogger returns a slog logger of the configured format and level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, errors.New("log_level must be debug, info, warn or error")
	}
	return l, nil
}
