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
	now   time.Time
}

func newRuleEnv(t *testing.T, apps ...*fakeWeChat) *ruleEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := keyring.Generate("k1")
	ring, _ := keyring.New(k)
	issuer, err := token.New(ctx, token.Options{Keys: st, Sealer: ring})
	if err != nil {
		t.Fatal(err)
	}
	e := &ruleEnv{store: st, apps: map[string]*fakeWeChat{}}
	var clients []AppClient
	for _, a := range apps {
		e.apps[a.appid] = a
		clients = append(clients, AppClient{App: wxlogin.App{ID: a.appid}, WeChat: a})
	}
	e.svc, err = New(Config{Store: st, Tokens: issuer, Sealer: ring, Apps: clients, Signup: true,
		Argon2: Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return e
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
