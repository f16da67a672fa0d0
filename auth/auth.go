// Package auth is wxlogin's login service: the business rules (who is found, created, bound or
// merged; how sessions and refresh tokens live and die). Handlers call it; stores only keep what it
// decides.
//
// The service is split by concern over one shared core:
//   - core (core.go, merge.go, cachedstore.go, wechaterrors.go): the store behind its one cache
//     decorator, the token issuer, the sealer, the apps, the clock, the logger and the audit
//     writer; find-or-create-or-merge (upsertIdentity and the merge policy), session issue
//     (startSession, signAccess), transactions that retry racing writers (update), and the one
//     mapping of WeChat errcodes to ours (wechatError);
//   - SessionKeeper (session.go): authenticate, refresh, logout, revoke, introspect, JWKS;
//   - Doors (login.go, cloud.go, phone.go's LoginPhone): the WeChat login doors;
//   - Identities (identity.go, phone.go): profile, bind, unbind, phone, open data, paid unionid;
//   - Accounts (accounts.go, password.go): sign-up, passwords, lock-out;
//   - Administration (admin.go): the admin API.
//
// Service bundles them; its methods are theirs. A concern reaches another only through its methods
// (Doors holds Accounts for the credentials of a binding login; Administration holds the
// SessionKeeper), never through its helpers.
//
// Adding a login door (official-account OAuth, website QR login, mobile app, mini-program-code QR
// login, OIDC) is one file with one Doors method that:
//  1. validates its input and gets the WeChat user from its door (map errors with wechatError,
//     adding a wechatCall when an errcode means something only for that call);
//  2. seals the session_key if the door gives one (SessionKeyAD);
//  3. in c.update, calls upsertIdentity (find-or-create-or-merge), refuses a disabled user
//     (disabledLogin), calls startSession and writes its login.success audit event in the same
//     transaction;
//  4. after the commit, returns signAccess(login).
//
// Its rules are then those of every door, and its table tests use the fake WeChat of
// fakewechat_test.go.
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
	// SignupPolicy says which doors of which apps may create users (default: open everywhere).
	SignupPolicy SignupRules
	// PhoneSignup lets LoginPhone create a user for an unknown verified phone (phone-first sign-up).
	PhoneSignup bool
	// SignupRiskMax, when set (0-4), refuses sign-ups WeChat's getuserriskrank ranks above it.
	SignupRiskMax *int
	// Avatars keeps uploaded avatars (default: Store); AvatarMaxBytes caps an upload (default
	// DefaultAvatarMaxBytes).
	Avatars        wxlogin.AvatarStore
	AvatarMaxBytes int64
	// Web configures the browser redirect flow of official accounts and websites (webflow.go).
	Web WebConfig
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

	// QR configures the website's login by a scanned mini-program code (qrlogin.go).
	QR QRConfig
	// Webhooks routes the events of audited changes to the webhook endpoints (auth/outbox.go).
	Webhooks []WebhookRoute
	// DeletionGrace is how long after DeleteMe an account is deleted (0: at once; auth/deletion.go).
	DeletionGrace time.Duration
}

// Service is the login service: the concerns below over one shared core. Its methods are theirs
// (promoted), so callers see one service; each concern is also usable alone.
type Service struct {
	*SessionKeeper  // sessions and tokens: authenticate, refresh, logout, revoke, introspect
	*Doors          // the WeChat doors: wx.login code, Cloud Run, phone code
	*Identities     // profiles, binding, unbinding, phone, open data, paid unionid
	*Accounts       // sign-up, passwords, lock-out
	*Administration // the admin API: search, disable, revoke, audit, pruning
	*QRDoor         // the website's login by a scanned mini-program code
	*Webhooks       // the admin API's webhook deliveries: list, redeliver, replay
	*Deletions      // account deletion: by the user after a grace period, by operators at once
	*Lookup         // business services look users up (openid per app, unionid, phone)

	core *core
}

// core is what every concern shares: the store behind its cache decorator, the token issuer, the
// sealer of session_keys, the apps, the clock, the logger and the audit writer, and the rules every
// door ends in (find-or-create-or-merge, session issue). No concern reaches into another's
// helpers: they call the core, or another concern through its methods.
type core struct {
	store      *cachedStore
	tokens     *token.Issuer
	sealer     wxlogin.Sealer
	apps       map[string]AppClient
	appOrder   []string
	sessionTTL time.Duration
	now        func() time.Time
	log        *slog.Logger
	signup     signupRules // who may sign up (signup.go)
}

// SessionKeeper keeps sessions and their tokens.
type SessionKeeper struct{ *core }

// Doors are the WeChat login doors. A new door (official-account OAuth, website QR, app, mini
// program code, OIDC) is one more method here, in its own file: it gets the WeChat user from its
// door, then calls the core's upsertIdentity (find-or-create-or-merge) and startSession/signAccess
// (issue) inside update, as LoginWeChat does.
type Doors struct {
	*core
	accounts   *Accounts // checks the credentials of a code login that binds an account
	codes      wxlogin.CodeCache
	cloudRun   bool
	phoneLogin bool
	web        WebConfig
}

// Identities are a user's profile, WeChat identities and phone.
type Identities struct {
	*core
	avatars   wxlogin.AvatarStore // where avatars are kept (avatar.go)
	avatarMax int64
}

// Accounts are business accounts: sign-up, password checks and lock-out.
type Accounts struct {
	*core
	signup    bool
	argon     Argon2Params
	lockout   LockoutPolicy
	ipFails   ipFailures
	dummyHash string        // checked for unknown usernames, with the configured cost, so they take as long
	hashLimit chan struct{} // bounds concurrent argon2id work (19 MiB each by default)
}

// Administration is what operators do through the admin API.
type Administration struct {
	*core
	sessions *SessionKeeper
	accounts *Accounts // hashes the passwords of the accounts operators create
}

// New returns a Service; it fails when a required dependency is missing or an app is duplicated.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Sealer == nil {
		return nil, errors.New("auth: Store, Tokens and Sealer are required")
	}
	c := &core{
		tokens:     cfg.Tokens,
		sealer:     cfg.Sealer,
		apps:       map[string]AppClient{},
		sessionTTL: cfg.SessionTTL,
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.store = newCachedStore(withOutbox(cfg.Store, cfg.Webhooks), cfg.CacheSize, cfg.Invalidations, c.now, c.log)
	var err error
	if c.signup, err = newSignupRules(cfg); err != nil {
		return nil, err
	}
	if c.sessionTTL <= 0 {
		c.sessionTTL = 30 * 24 * time.Hour
	}
	for _, a := range cfg.Apps {
		if a.App.ID == "" || a.WeChat == nil {
			return nil, errors.New("auth: every app needs an id and a WeChat client")
		}
		if _, dup := c.apps[a.App.ID]; dup {
			return nil, errors.New("auth: app " + a.App.ID + " configured twice")
		}
		c.apps[a.App.ID] = a
		c.appOrder = append(c.appOrder, a.App.ID)
	}
	acc := &Accounts{core: c, signup: cfg.Signup, argon: cfg.Argon2, lockout: cfg.Lockout}
	if acc.argon.Memory == 0 {
		acc.argon = DefaultArgon2
	}
	if acc.lockout.MaxFailures <= 0 {
		acc.lockout = DefaultLockout
	}
	acc.dummyHash = hashPassword("wxlogin-dummy-password", acc.argon)
	acc.hashLimit = make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	doors := &Doors{core: c, accounts: acc, codes: cfg.Codes, cloudRun: cfg.CloudRun, phoneLogin: cfg.PhoneLogin}
	doors.web = cfg.Web.withDefaults()
	if doors.codes == nil {
		w := cfg.CodeWindow
		if w <= 0 {
			w = 5 * time.Minute
		}
		doors.codes = NewMemoryCodeCache(w, c.now)
	}
	sessions := &SessionKeeper{core: c}
	return &Service{SessionKeeper: sessions, Doors: doors, Identities: newIdentities(c, cfg), Accounts: acc,
		Administration: &Administration{core: c, sessions: sessions, accounts: acc}, QRDoor: newQRDoor(c, cfg.QR), core: c,
		Webhooks: &Webhooks{core: c}, Deletions: &Deletions{core: c, accounts: acc, grace: cfg.DeletionGrace},
		Lookup: &Lookup{core: c}}, nil
}

// Run follows the other instances' cache invalidations until ctx ends (it returns at once on one
// instance). Until it has subscribed, and whenever the subscription is lost, caching is off. It
// also runs the QR notifier's subscription when it has one (redis.Notifier).
func (s *Service) Run(ctx context.Context) {
	s.QRDoor.run(ctx)
	s.core.store.run(ctx)
}

// Meta describes where a request came from, for sessions and the audit trail.
type Meta struct {
	IP        string
	UserAgent string
}
