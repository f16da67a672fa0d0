package auth

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechat"
)

// fakeWeChat is one app's WeChat for rule tests: codes are issued per device user and are
// accepted once, as WeChat does (40163 on reuse, 40029 when unknown).
type fakeWeChat struct {
	appid    string
	platform bool // bound to an open platform: sessions carry a unionid
	kind     wxlogin.AppKind
	oauth    oauthState // the web OAuth side (oauth_test.go)

	mu    sync.Mutex
	codes map[string]string // code → user
	used  map[string]bool
	calls int
	n     int
}

func newFakeWeChat(appid string, platform bool) *fakeWeChat {
	return &fakeWeChat{appid: appid, platform: platform, codes: map[string]string{}, used: map[string]bool{}}
}

// login plays wx.login for device user and returns a fresh code.
func (f *fakeWeChat) login(user string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	c := fmt.Sprintf("code-%s-%d", user, f.n)
	f.codes[c] = user
	return c
}

func (f *fakeWeChat) openid(user string) string { return "o-" + f.appid + "-" + user }

func (f *fakeWeChat) AppID() string { return f.appid }

func (f *fakeWeChat) Code2Session(_ context.Context, code string) (*wechat.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	user, ok := f.codes[code]
	switch {
	case !ok:
		return nil, &wechat.APIError{Code: wechat.CodeInvalidCode, API: "/sns/jscode2session"}
	case f.used[code]:
		return nil, &wechat.APIError{Code: wechat.CodeCodeUsed, API: "/sns/jscode2session"}
	}
	f.used[code] = true
	ws := &wechat.Session{OpenID: f.openid(user), SessionKey: wxlogin.Secret("sk-" + code)}
	if f.platform {
		ws.UnionID = "u-" + user
	}
	return ws, nil
}

func (f *fakeWeChat) CheckSessionKey(context.Context, string, wxlogin.Secret) error { return nil }
func (f *fakeWeChat) GetPhoneNumber(context.Context, string, string) (*wechat.PhoneInfo, error) {
	return nil, &wechat.APIError{Code: wechat.CodeInvalidCode, API: "/wxa/business/getuserphonenumber"}
}
func (f *fakeWeChat) GetPaidUnionID(context.Context, string, string) (string, error) { return "", nil }

// ruleEnv is a Service on real SQLite with fake WeChat apps, for the rules' table tests.
type ruleEnv struct {
	svc   *Service
	store wxlogin.Store
	apps  map[string]*fakeWeChat

	mu  sync.Mutex
	now time.Time
}

// clock returns the env's time; advance moves it.
func (e *ruleEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
func (e *ruleEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func newRuleEnv(t *testing.T, apps ...*fakeWeChat) *ruleEnv {
	t.Helper()
	e, c := openRuleEnv(t, filepath.Join(t.TempDir(), "db.sqlite"))
	for _, a := range apps {
		e.apps[a.appid] = a
		c.Apps = append(c.Apps, AppClient{App: wxlogin.App{ID: a.appid, Kind: a.kind}, WeChat: a})
	}
	c.Lockout = LockoutPolicy{MaxFailures: 3, LockFor: 10 * time.Minute, IPMaxFailures: 1000, IPWindow: time.Minute}
	e.serve(t, c)
	return e
}

// openRuleEnv returns a ruleEnv on a migrated SQLite store at path (closed when t ends), with no
// service yet, and the Config every rule test starts from: that store, a fresh data key and
// signing key, sign-up on, the env's clock and cheap password hashing.
func openRuleEnv(t *testing.T, path string) (*ruleEnv, Config) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := keyring.Generate("k1")
	ring, _ := keyring.New(k)
	e := &ruleEnv{store: st, apps: map[string]*fakeWeChat{}, now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	issuer, err := token.New(ctx, token.Options{Keys: st, Sealer: ring, Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	return e, Config{Store: st, Tokens: issuer, Sealer: ring, Signup: true, Now: e.clock,
		Argon2: Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}}
}

// serve builds the env's service from c.
func (e *ruleEnv) serve(t *testing.T, c Config) {
	t.Helper()
	svc, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
}

// signUp creates an account username with password "correct horse battery" and returns its user.
func (e *ruleEnv) signUp(t *testing.T, username string) *wxlogin.User {
	t.Helper()
	u, err := e.svc.SignUp(context.Background(), username, "correct horse battery", Meta{IP: "10.9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// wechat logs device user in at appid with a fresh code, with credentials when username is set.
func (e *ruleEnv) wechat(appid, user, username string) (*Login, error) {
	in := WeChatLogin{AppID: appid, Code: e.apps[appid].login(user)}
	if username != "" {
		in.Username, in.Password = username, "correct horse battery"
	}
	return e.svc.LoginWeChat(context.Background(), in, Meta{IP: "10.1.1.1", UserAgent: "mp"})
}

// principal returns the principal of l's access token.
func (e *ruleEnv) principal(t *testing.T, l *Login) *Principal {
	t.Helper()
	p, err := e.svc.Authenticate(context.Background(), l.AccessToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// userOf returns the user id the identity (appid, openid of device user) belongs to, "" when none.
func (e *ruleEnv) userOf(t *testing.T, appid, user string) string {
	t.Helper()
	id, err := e.store.Identity(context.Background(), appid, e.apps[appid].openid(user))
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return id.UserID
}

// exists reports whether user id exists.
func (e *ruleEnv) exists(t *testing.T, id string) bool {
	t.Helper()
	_, err := e.store.User(context.Background(), id)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return false
	} else if err != nil {
		t.Fatal(err)
	}
	return true
}
