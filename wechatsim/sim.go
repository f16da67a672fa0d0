package wechatsim

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Lifetimes and limits WeChat applies (docs/wechat-api.md §1, §2, §5, §7).
const (
	codeTTL               = 5 * time.Minute // wx.login codes and phone codes
	tradeTTL              = 5 * time.Minute // getPaidUnionId window after a payment
	tokenTTL              = 7200 * time.Second
	tokenOverlap          = 5 * time.Minute  // old token still valid after a new one is issued
	stableForceGap        = 30 * time.Second // minimum gap between two forced stable-token refreshes
	stableForcePerDay     = 20
	code2SessionPerMinute = 100
	defaultSessionKeyTTL  = 72 * time.Hour
	maxBody               = 1 << 20
)

// App is an app registered with the simulator. Platform is the open-platform account it is bound to
// ("" = not bound: no unionid is returned). Kind is the app's kind ("" = wxlogin.KindMiniProgram).
// App prints and logs with its secret redacted.
type App struct {
	ID, Secret, Platform string
	Kind                 wxlogin.AppKind
}

// String returns "appid:[redacted]" or "appid:[redacted]:platform".
func (a App) String() string {
	if a.Platform == "" {
		return a.ID + ":[redacted]"
	}
	return a.ID + ":[redacted]:" + a.Platform
}

// LogValue logs the app without its secret.
func (a App) LogValue() slog.Value {
	return slog.GroupValue(slog.String("appid", a.ID), slog.String("kind", string(a.kind())), slog.String("platform", a.Platform))
}

// ParseApp parses "appid:secret" or "appid:secret:platform" (the --app flag). It returns an EINVALID
// *wxlogin.Error, which never quotes the secret, when a part is empty or holds spaces.
func ParseApp(s string) (App, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return App{}, wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app must be appid:secret or appid:secret:platform (got %d colon-separated parts)", len(parts))
	}
	a := App{ID: parts[0], Secret: parts[1]}
	if len(parts) == 3 {
		a.Platform = parts[2]
		if a.Platform == "" {
			return App{}, wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app %q: platform is empty (leave out the last colon for an app without one)", a.ID)
		}
	}
	if err := a.validate(); err != nil {
		return App{}, err
	}
	return a, nil
}

func (a App) validate() error {
	switch {
	case a.ID == "":
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: appid is empty")
	case !printable(a.ID):
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: appid must be printable ASCII without spaces or colons")
	case a.Secret == "":
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app %q: secret is empty", a.ID)
	case !printable(a.Secret):
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app %q: secret must be printable ASCII without spaces or colons", a.ID)
	case a.Platform != "" && !printable(a.Platform):
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app %q: platform must be printable ASCII without spaces or colons", a.ID)
	case a.Kind != "" && !a.Kind.Valid():
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app %q: kind must be miniprogram, official_account, website or mobile_app", a.ID)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// Options configure a simulator.
type Options struct {
	Apps []App
	// Now is the base clock; nil means time.Now. The offset moved by Advance and POST /sim/clock is
	// added to it either way.
	Now func() time.Time
	// Logger receives one debug line per WeChat API call (method, path, errcode); nil discards. It
	// never receives secrets, session_keys, codes, tokens or query strings.
	Logger *slog.Logger
	// SessionKeyMinAge: a wx.login replaces the user's session_key only when the current one is older
	// than this (0: every wx.login replaces it).
	SessionKeyMinAge time.Duration
	// SessionKeyTTL is how long a session_key stays valid (0: 72 hours). Real WeChat does not say.
	SessionKeyTTL time.Duration
	// Pages are the published pages of mini programs, by appid, which getwxacodeunlimit with
	// check_path accepts; an app without an entry has DefaultPages (see SetPages).
	Pages map[string][]string
	// Push configures message push per appid (see SetPush).
	Push map[string]PushConfig
	// PushClient sends the pushes; nil means a client with a 5-second timeout (WeChat's limit).
	PushClient *http.Client
}

// Sim is the simulator: an http.Handler serving the WeChat API and the /sim/ control plane. It is safe
// for concurrent use; all state is in memory.
type Sim struct {
	baseNow   func() time.Time
	log       *slog.Logger
	keyMinAge time.Duration
	keyTTL    time.Duration
	mux       *http.ServeMux

	mu         sync.Mutex
	offset     time.Duration
	apps       map[string]*appState
	codes      map[string]*loginCode
	phoneCodes map[string]*phoneCode
	tokens     map[string]*accessToken
	trades     map[string]*trade
	issuedKeys []string
	oauth      oauthState
	risk       riskState
	encPhones  map[string]*encryptedPhone // by hex SHA-256 of the encryptedData
	push       map[string]PushConfig      // by appid
	pushClient *http.Client
	calls      map[string]int
	faults     map[string]*faultState
	lastPrune  time.Time
}

type appState struct {
	App
	pages    []string              // published pages; nil: DefaultPages
	users    map[string]*userState // by device user name
	byOpenID map[string]*userState
	plain    []string // /cgi-bin/token tokens, oldest first
	stable   []string // stable tokens, oldest first; the last is current
	// forced stable-token refreshes
	lastForce  time.Time
	forceDay   string
	forceCount int
}

type userState struct {
	name    string
	openid  string
	key     *sessionKey
	blocked bool
	// authorized: the user granted this app snsapi_userinfo or snsapi_login (web OAuth); an
	// snsapi_base exchange then carries the unionid too.
	authorized bool
	// code2Session calls in the current minute (45011)
	rateMinute int64
	rateCount  int
}

type sessionKey struct {
	value   string
	issued  time.Time
	expires time.Time
}

type loginCode struct {
	appid  string
	user   *userState
	key    string // the session_key current when wx.login issued the code
	issued time.Time
	used   bool
}

type phoneCode struct {
	appid  string
	user   *userState
	phone  phoneNumber
	issued time.Time
	used   bool
}

type accessToken struct {
	appid   string
	stable  bool
	expires time.Time
	revoked time.Time // zero: not revoked; from then on the token answers 40001
}

type trade struct {
	appid  string
	user   *userState
	issued time.Time
}

// New returns a simulator serving opts.Apps. Invalid or duplicate apps are skipped and logged at
// error level; use ParseApp or AddApp to get the error instead.
func New(opts Options) *Sim {
	s := &Sim{
		baseNow:    opts.Now,
		log:        opts.Logger,
		keyMinAge:  opts.SessionKeyMinAge,
		keyTTL:     opts.SessionKeyTTL,
		apps:       map[string]*appState{},
		codes:      map[string]*loginCode{},
		phoneCodes: map[string]*phoneCode{},
		tokens:     map[string]*accessToken{},
		trades:     map[string]*trade{},
		calls:      map[string]int{},
		faults:     map[string]*faultState{},
		oauth:      newOAuthState(),
		risk:       newRiskState(),
		encPhones:  map[string]*encryptedPhone{},
		push:       map[string]PushConfig{},
		pushClient: opts.PushClient,
	}
	if s.pushClient == nil {
		s.pushClient = &http.Client{Timeout: pushTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if s.baseNow == nil {
		s.baseNow = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.keyTTL <= 0 {
		s.keyTTL = defaultSessionKeyTTL
	}
	for _, a := range opts.Apps {
		if err := s.AddApp(a); err != nil {
			s.log.Error("wechatsim: app skipped", "appid", a.ID, "err", err)
		}
	}
	for appid, pages := range opts.Pages {
		if err := s.SetPages(appid, pages); err != nil {
			s.log.Error("wechatsim: pages skipped", "appid", appid, "err", wxlogin.ErrorMessage(err))
		}
	}
	for appid, pc := range opts.Push {
		if err := s.SetPush(appid, pc); err != nil {
			s.log.Error("wechatsim: push config skipped", "appid", appid, "err", wxlogin.ErrorMessage(err))
		}
	}
	s.mux = s.routes()
	return s
}

// now returns the simulator's time. Callers may hold s.mu or not: offset is read under the lock.
func (s *Sim) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Sim) nowLocked() time.Time { return s.baseNow().Add(s.offset) }

// Advance moves the simulator's clock forward by d (backward when negative).
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// Now returns the simulator's current time (the base clock plus the offset set by Advance).
func (s *Sim) Now() time.Time { return s.now() }

// AddApp registers an app. It returns EINVALID for an invalid app and ECONFLICT when the appid is taken.
func (s *Sim) AddApp(a App) error {
	if err := a.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[a.ID]; ok {
		return wxlogin.Errorf(wxlogin.ECONFLICT, "wechatsim: app %q already exists", a.ID)
	}
	s.apps[a.ID] = &appState{App: a, users: map[string]*userState{}, byOpenID: map[string]*userState{}}
	return nil
}

// Apps returns the registered apps, secrets included, in no particular order.
func (s *Sim) Apps() []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]App, 0, len(s.apps))
	for _, a := range s.apps {
		out = append(out, a.App)
	}
	return out
}

func (s *Sim) appLocked(appid string) (*appState, error) {
	a := s.apps[appid]
	if a == nil {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "wechatsim: no app %q", appid)
	}
	return a, nil
}

// userLocked returns the state of device user name in app a, creating it.
// deviceLocked returns the device user of (appid, user). Errors: ENOTFOUND, EINVALID.
func (s *Sim) deviceLocked(appid, user string) (*userState, error) {
	a, err := s.appLocked(appid)
	if err != nil {
		return nil, err
	}
	return s.userLocked(a, user)
}

func (s *Sim) userLocked(a *appState, name string) (*userState, error) {
	if name == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: user is empty")
	}
	if u := a.users[name]; u != nil {
		return u, nil
	}
	u := &userState{name: name, openid: OpenID(a.ID, name)}
	a.users[name] = u
	a.byOpenID[u.openid] = u
	return u, nil
}

// validKey returns u's session_key when it exists and has not expired.
func validKey(u *userState, now time.Time) *sessionKey {
	if u.key == nil || !now.Before(u.key.expires) {
		return nil
	}
	return u.key
}

func (s *Sim) newKeyLocked(now, expires time.Time) *sessionKey {
	k := &sessionKey{value: randomBase64(16), issued: now, expires: expires}
	s.issuedKeys = append(s.issuedKeys, k.value)
	return k
}

// Login plays wx.login for device user `user` of appid: it returns a fresh 32-character code, replacing
// the user's session_key first when it is missing, expired or older than SessionKeyMinAge. Errors:
// ENOTFOUND (unknown app), EINVALID (empty user; the app is not a mini program).
func (s *Sim) Login(appid, user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.deviceLocked(appid, user)
	if err != nil {
		return "", err
	}
	if k := s.apps[appid].kind(); k != wxlogin.KindMiniProgram {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app %q is a %s, not a mini program: wx.login is a mini-program API", appid, k)
	}
	now := s.nowLocked()
	s.pruneLocked(now)
	if k := validKey(u, now); k == nil || now.Sub(k.issued) >= s.keyMinAge {
		u.key = s.newKeyLocked(now, now.Add(s.keyTTL))
	}
	code := randomCode()
	s.codes[code] = &loginCode{appid: appid, user: u, key: u.key.value, issued: now}
	return code, nil
}

// PhoneCode plays <button open-type="getPhoneNumber"> for user: it returns a 64-hex-character code,
// valid 5 minutes and once, for phone ("13580006666", "+1 5551234567"; "" = a number derived from
// user). Errors: ENOTFOUND (unknown app), EINVALID (empty user, bad phone).
func (s *Sim) PhoneCode(appid, user, phone string) (string, error) {
	p, err := parsePhone(phone, user)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.deviceLocked(appid, user)
	if err != nil {
		return "", err
	}
	now := s.nowLocked()
	s.pruneLocked(now)
	code := randomHex(32)
	s.phoneCodes[code] = &phoneCode{appid: appid, user: u, phone: p, issued: now}
	return code, nil
}

// ExpireSessionKey makes user's current session_key expire now (checksession then answers 87007; the
// next Login issues a new key). Errors: ENOTFOUND (unknown app or user).
func (s *Sim) ExpireSessionKey(appid, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appLocked(appid)
	if err != nil {
		return err
	}
	u := a.users[user]
	if u == nil {
		return wxlogin.Errorf(wxlogin.ENOTFOUND, "wechatsim: app %q has no user %q", appid, user)
	}
	if u.key != nil {
		now := s.nowLocked()
		if now.Before(u.key.expires) {
			u.key.expires = now
		}
	}
	return nil
}

// Block blocks (or unblocks) user: code2Session then answers 40226. Errors: ENOTFOUND, EINVALID.
func (s *Sim) Block(appid, user string, blocked bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.deviceLocked(appid, user)
	if err != nil {
		return err
	}
	u.blocked = blocked
	return nil
}

// Payment records a payment by user and returns its 28-digit transaction_id, which getpaidunionid
// accepts for 5 minutes. Errors: ENOTFOUND, EINVALID.
func (s *Sim) Payment(appid, user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.deviceLocked(appid, user)
	if err != nil {
		return "", err
	}
	now := s.nowLocked()
	s.pruneLocked(now)
	id := "4200" + now.In(chinaTime).Format("20060102") + randomDigits(16)
	s.trades[id] = &trade{appid: appid, user: u, issued: now}
	return id, nil
}

// OpenID returns the openid WeChat reports for user in appid: 28 characters, deterministic.
func OpenID(appid, user string) string { return deriveID("openid", appid, user) }

// UnionID returns the unionid of user under open platform account platform: 28 characters, deterministic.
func UnionID(platform, user string) string { return deriveID("unionid", platform, user) }

// OpenID returns the openid of user in appid (see the package-level OpenID).
func (s *Sim) OpenID(appid, user string) string { return OpenID(appid, user) }

// UnionID returns the unionid of user under platform (see the package-level UnionID).
func (s *Sim) UnionID(platform, user string) string { return UnionID(platform, user) }

// IssuedSessionKeys returns every session_key the simulator ever issued, oldest first (tests assert
// none of them leaks into a response, a log line or a database).
func (s *Sim) IssuedSessionKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issuedKeys...)
}

// Calls returns how many requests the simulator received on a WeChat API path, e.g.
// "/cgi-bin/stable_token" (faulted ones included).
func (s *Sim) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// pruneLocked forgets codes, trades and tokens long past any use, at most once a minute.
func (s *Sim) pruneLocked(now time.Time) {
	if now.Sub(s.lastPrune) < time.Minute && !now.Before(s.lastPrune) {
		return
	}
	s.lastPrune = now
	for k, c := range s.codes {
		if now.Sub(c.issued) > time.Hour {
			delete(s.codes, k)
		}
	}
	for k, c := range s.phoneCodes {
		if now.Sub(c.issued) > time.Hour {
			delete(s.phoneCodes, k)
		}
	}
	for k, t := range s.trades {
		if now.Sub(t.issued) > time.Hour {
			delete(s.trades, k)
		}
	}
	s.pruneOAuthLocked(now)
	for k, p := range s.encPhones {
		if now.Sub(p.issued) > encryptedMsgTTL+time.Hour {
			delete(s.encPhones, k)
		}
	}
	for k, t := range s.tokens {
		end := t.expires
		if !t.revoked.IsZero() && t.revoked.Before(end) {
			end = t.revoked
		}
		if now.Sub(end) > 24*time.Hour {
			delete(s.tokens, k)
		}
	}
	for _, a := range s.apps {
		a.plain = s.liveTokens(a.plain)
		a.stable = s.liveTokens(a.stable)
	}
}

func (s *Sim) liveTokens(list []string) []string {
	out := list[:0]
	for _, t := range list {
		if s.tokens[t] != nil {
			out = append(out, t)
		}
	}
	return out
}
