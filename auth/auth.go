// Package auth is wxlogin's login service: it orchestrates the WeChat client, the store and the
// token issuer, and holds the business rules (who is found, created, bound or merged; how sessions
// and refresh tokens live and die). Handlers call it; stores only keep what it decides.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechat"
)

// WeChat is what the service uses of one app's WeChat API client; *wechat.Client implements it.
type WeChat interface {
	AppID() string
	Code2Session(ctx context.Context, code string) (*wxlogin.WeChatSession, error)
	CheckSessionKey(ctx context.Context, openid string, key wxlogin.Secret) error
	GetPhoneNumber(ctx context.Context, code, openid string) (*wechat.PhoneInfo, error)
	GetPaidUnionID(ctx context.Context, openid, transactionID string) (string, error)
}

// AppClient pairs a configured app with its WeChat client.
type AppClient struct {
	App    wxlogin.App
	WeChat WeChat
}

// Config configures a Service.
type Config struct {
	Store  wxlogin.Store
	Tokens *token.Issuer
	Sealer wxlogin.Sealer // seals session_keys at rest
	Apps   []AppClient
	Codes  wxlogin.CodeCache // default: NewMemoryCodeCache(CodeWindow)
	// CodeWindow is how long a settled code exchange is remembered (default 5 minutes, a code's life).
	CodeWindow time.Duration
	// SessionTTL is how long a session lives without a refresh (default 30 days); each refresh slides it.
	SessionTTL time.Duration
	// Signup enables POST /v1/accounts.
	Signup bool
	// CloudRun enables LoginCloud (WeChat Cloud Run's X-WX-OPENID headers). Off by default.
	CloudRun bool
	// PhoneLogin enables LoginPhone (a phone code logs in the user owning that verified phone).
	PhoneLogin bool
	// Argon2 sets the cost of new password hashes (default DefaultArgon2).
	Argon2 Argon2Params
	// Lockout limits password guessing (default DefaultLockout).
	Lockout LockoutPolicy
	// CacheSize bounds each of the caches of verified tokens, sessions and profiles (entries;
	// default DefaultCacheSize); a negative size turns caching off.
	CacheSize int
	// Invalidations shares cache invalidations with the other instances of a shared store. Several
	// instances must set it or turn caching off; one instance leaves it nil.
	Invalidations wxlogin.Invalidations
	Now           func() time.Time
	Logger        *slog.Logger
}

// Service is the login service.
type Service struct {
	store      *cachedStore
	tokens     *token.Issuer
	sealer     wxlogin.Sealer
	apps       map[string]AppClient
	appOrder   []string
	codes      wxlogin.CodeCache
	sessionTTL time.Duration
	signup     bool
	cloudRun   bool
	phoneLogin bool
	argon      Argon2Params
	lockout    LockoutPolicy
	ipFails    ipFailures
	dummyHash  string        // checked for unknown usernames, with the configured cost, so they take as long
	hashLimit  chan struct{} // bounds concurrent argon2id work (19 MiB each by default)
	now        func() time.Time
	log        *slog.Logger
}

// New returns a Service; it fails when a required dependency is missing or an app is duplicated.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Sealer == nil {
		return nil, errors.New("auth: Store, Tokens and Sealer are required")
	}
	s := &Service{
		tokens:     cfg.Tokens,
		sealer:     cfg.Sealer,
		apps:       map[string]AppClient{},
		codes:      cfg.Codes,
		sessionTTL: cfg.SessionTTL,
		signup:     cfg.Signup,
		cloudRun:   cfg.CloudRun,
		phoneLogin: cfg.PhoneLogin,
		argon:      cfg.Argon2,
		lockout:    cfg.Lockout,
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.store = newCachedStore(cfg.Store, cfg.CacheSize, cfg.Invalidations, s.now, s.log)
	if s.sessionTTL <= 0 {
		s.sessionTTL = 30 * 24 * time.Hour
	}
	if s.argon.Memory == 0 {
		s.argon = DefaultArgon2
	}
	if s.lockout.MaxFailures <= 0 {
		s.lockout = DefaultLockout
	}
	s.dummyHash = hashPassword("wxlogin-dummy-password", s.argon)
	s.hashLimit = make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	if s.codes == nil {
		w := cfg.CodeWindow
		if w <= 0 {
			w = 5 * time.Minute
		}
		s.codes = NewMemoryCodeCache(w, s.now)
	}
	for _, a := range cfg.Apps {
		if a.App.ID == "" || a.WeChat == nil {
			return nil, errors.New("auth: every app needs an id and a WeChat client")
		}
		if _, dup := s.apps[a.App.ID]; dup {
			return nil, errors.New("auth: app " + a.App.ID + " configured twice")
		}
		s.apps[a.App.ID] = a
		s.appOrder = append(s.appOrder, a.App.ID)
	}
	return s, nil
}

// Run follows the other instances' cache invalidations until ctx ends (it returns at once on one
// instance). Until it has subscribed, and whenever the subscription is lost, caching is off.
func (s *Service) Run(ctx context.Context) { s.store.run(ctx) }

// Meta describes where a request came from, for sessions and the audit trail.
type Meta struct {
	IP        string
	UserAgent string
}

// app returns the configured app for appid; with appid "" and exactly one app, that app.
// Errors: EINVALID (missing or unknown appid).
func (s *Service) app(appid string) (AppClient, error) {
	if appid == "" {
		if len(s.appOrder) == 1 {
			return s.apps[s.appOrder[0]], nil
		}
		return AppClient{}, wxlogin.Errorf(wxlogin.EINVALID, "appid is required: several apps are configured")
	}
	a, ok := s.apps[appid]
	if !ok {
		return AppClient{}, wxlogin.Errorf(wxlogin.EINVALID, "unknown appid %q", appid)
	}
	return a, nil
}

// audit stores an audit event outside any transaction; failures are logged, never fatal to the
// caller's request. Inside Update, write events through the Tx instead.
func (s *Service) audit(ctx context.Context, e *wxlogin.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if err := s.store.AddAuditEvent(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit event not stored", "type", e.Type, "err", err)
	}
}
