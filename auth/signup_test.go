package auth

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// signupWeChat is a fake WeChat with phone codes and risk ranks on top of fakeWeChat.
type signupWeChat struct {
	*fakeWeChat
	mu        sync.Mutex
	phones    map[string]string // phone code → number
	risk      map[string]int    // openid → rank
	riskCalls int
	pn        int
}

func newSignupWeChat(appid string, platform bool) *signupWeChat {
	return &signupWeChat{fakeWeChat: newFakeWeChat(appid, platform), phones: map[string]string{}, risk: map[string]int{}}
}

// phone plays the getPhoneNumber button for number and returns its code.
func (f *signupWeChat) phone(number string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pn++
	c := fmt.Sprintf("pcode-%d", f.pn)
	f.phones[c] = number
	return c
}

func (f *signupWeChat) GetPhoneNumber(_ context.Context, code, _ string) (*wechat.PhoneInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.phones[code]
	if !ok {
		return nil, &wechat.APIError{Code: wechat.CodeInvalidCode, API: "/wxa/business/getuserphonenumber"}
	}
	delete(f.phones, code)
	info := &wechat.PhoneInfo{PhoneNumber: "+86" + n, PurePhoneNumber: n, CountryCode: "86"}
	info.Watermark.AppID = f.appid
	return info, nil
}

func (f *signupWeChat) GetUserRiskRank(_ context.Context, req wechat.RiskRankRequest) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.riskCalls++
	if req.Scene != wechat.RiskSceneRegister || req.ClientIP == "" {
		return 0, &wechat.APIError{Code: 40097, API: "/wxa/getuserriskrank"}
	}
	return f.risk[req.OpenID], nil
}

// signupEnv is a Service on real SQLite with signupWeChat apps and the sign-up settings of cfg.
type signupEnv struct {
	*ruleEnv
	wx map[string]*signupWeChat
}

func newSignupEnv(t *testing.T, cfg func(*Config), apps ...*signupWeChat) *signupEnv {
	t.Helper()
	re, c := openRuleEnv(t, filepath.Join(t.TempDir(), "db.sqlite"))
	e := &signupEnv{ruleEnv: re, wx: map[string]*signupWeChat{}}
	for _, a := range apps {
		e.apps[a.appid], e.wx[a.appid] = a.fakeWeChat, a
		c.Apps = append(c.Apps, AppClient{App: wxlogin.App{ID: a.appid}, WeChat: a})
	}
	c.PhoneLogin = true
	c.Lockout = LockoutPolicy{MaxFailures: 3, LockFor: 10 * time.Minute, IPMaxFailures: 1000, IPWindow: time.Minute}
	if cfg != nil {
		cfg(&c)
	}
	e.serve(t, c)
	return e
}

var admin = Admin{Name: "ops", Meta: Meta{IP: "10.0.0.1"}}

// noAccount returns the link token of a no_account answer, failing the test on any other.
func noAccount(t *testing.T, err error) string {
	t.Helper()
	na, ok := err.(*NoAccountError)
	if !ok || wxlogin.ErrorCode(err) != wxlogin.ENOACCOUNT || na.LinkToken == "" {
		t.Fatalf("want no_account with a link token, got %v", err)
	}
	if strings.Contains(err.Error(), na.LinkToken.Reveal()) {
		t.Fatal("the error's text shows the link token")
	}
	return na.LinkToken.Reveal()
}

// users returns how many users exist.
func (e *signupEnv) users(t *testing.T) int {
	t.Helper()
	us, err := e.store.Users(context.Background(), wxlogin.UserFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(us)
}

// events returns the types of the audit events of type typ.
func (e *signupEnv) events(t *testing.T, typ string) []*wxlogin.AuditEvent {
	t.Helper()
	ev, err := e.store.AuditEvents(context.Background(), wxlogin.AuditFilter{Type: typ, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (e *signupEnv) phoneLogin(appid, number string, wxUser, link string) (*Login, error) {
	in := PhoneLogin{AppID: appid, Code: e.wx[appid].phone(number), LinkToken: link}
	if wxUser != "" {
		in.WxCode = e.apps[appid].login(wxUser)
	}
	return e.svc.LoginPhoneWith(context.Background(), in, Meta{IP: "10.1.1.1", UserAgent: "mp"})
}

func existingOnly(c *Config) { c.SignupPolicy = SignupRules{Default: SignupExistingOnly} }

// The sign-up policy, link tokens and operator-created users, on SQLite with a fake WeChat: wxa
// and wxb share an open platform, wxc has none.
func TestSignupPolicy(t *testing.T) {
	ctx := context.Background()
	pw := "correct horse battery"
	tests := []struct {
		name string
		cfg  func(*Config)
		run  func(t *testing.T, e *signupEnv)
	}{
		{"open: an unknown WeChat user gets a user", nil, func(t *testing.T, e *signupEnv) {
			l, err := e.wechat("wxa", "amy", "")
			if err != nil || !l.NewUser {
				t.Fatalf("%v", err)
			}
		}},
		{"existing_only: an unknown WeChat user gets no_account and nobody is created", existingOnly, func(t *testing.T, e *signupEnv) {
			_, err := e.wechat("wxa", "amy", "")
			noAccount(t, err)
			if n := e.users(t); n != 0 {
				t.Fatalf("%d users exist", n)
			}
			if ev := e.events(t, "signup.refused"); len(ev) != 1 || !strings.Contains(ev[0].Detail, "existing_only") {
				t.Fatalf("audit: %+v", ev)
			}
		}},
		{"existing_only: a known WeChat user still logs in", func(c *Config) {}, func(t *testing.T, e *signupEnv) {
			a, _ := e.wechat("wxa", "amy", "")
			e.svc.core.signup.rules = SignupRules{Default: SignupExistingOnly} // the policy changed later
			b, err := e.wechat("wxa", "amy", "")
			if err != nil || b.User.ID != a.User.ID {
				t.Fatalf("%v", err)
			}
		}},
		{"existing_only: a unionid known to a user joins it", existingOnly, func(t *testing.T, e *signupEnv) {
			u, _ := e.svc.CreateUser(ctx, admin, NewUser{Username: "ben", Password: pw})
			_, err := e.wechat("wxa", "ben", "")
			link := noAccount(t, err)
			if _, err := e.svc.LinkPassword(ctx, "", "ben", pw, link, Meta{IP: "10.1.1.1"}); err != nil {
				t.Fatal(err)
			}
			l, err := e.wechat("wxb", "ben", "") // same person, other app of the platform
			if err != nil || l.User.ID != u.User.ID || l.NewUser {
				t.Fatalf("%v", err)
			}
		}},
		{"a link token binds the identity to the account with the password, once", existingOnly, func(t *testing.T, e *signupEnv) {
			u, err := e.svc.CreateUser(ctx, admin, NewUser{Username: "cat", Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.wechat("wxa", "cat", "")
			link := noAccount(t, err)
			l, err := e.svc.LinkPassword(ctx, "", "cat", pw, link, Meta{IP: "10.1.1.1"})
			if err != nil || l.User.ID != u.User.ID || l.Session.AppID != "wxa" || e.userOf(t, "wxa", "cat") != u.User.ID {
				t.Fatalf("link: %v", err)
			}
			if _, err := e.svc.LinkPassword(ctx, "", "cat", pw, link, Meta{IP: "10.1.1.1"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("second use: %v", err)
			}
			w, err := e.wechat("wxa", "cat", "")
			if err != nil || w.User.ID != u.User.ID {
				t.Fatalf("WeChat login after the link: %v", err)
			}
			if ev := e.events(t, "identity.link"); len(ev) != 1 || ev[0].UserID != u.User.ID {
				t.Fatalf("audit: %+v", ev)
			}
		}},
		{"a wrong password spends nothing", existingOnly, func(t *testing.T, e *signupEnv) {
			e.svc.CreateUser(ctx, admin, NewUser{Username: "dan", Password: pw})
			_, err := e.wechat("wxa", "dan", "")
			link := noAccount(t, err)
			if _, err := e.svc.LinkPassword(ctx, "", "dan", "wrong password!", link, Meta{IP: "10.1.1.1"}); wxlogin.ErrorCode(err) != wxlogin.ECREDENTIALS {
				t.Fatalf("%v", err)
			}
			if _, err := e.svc.LinkPassword(ctx, "", "dan", pw, link, Meta{IP: "10.1.1.1"}); err != nil {
				t.Fatalf("the token was spent by a failure: %v", err)
			}
		}},
		{"a link token expires after 10 minutes", existingOnly, func(t *testing.T, e *signupEnv) {
			e.svc.CreateUser(ctx, admin, NewUser{Username: "eve", Password: pw})
			_, err := e.wechat("wxa", "eve", "")
			link := noAccount(t, err)
			e.advance(LinkTokenTTL)
			if _, err := e.svc.LinkPassword(ctx, "", "eve", pw, link, Meta{IP: "10.1.1.1"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("%v", err)
			}
			if _, err := e.svc.LinkPassword(ctx, "", "eve", pw, "made-up-token", Meta{IP: "10.1.1.1"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("%v", err)
			}
		}},
		{"a link token is of its app", existingOnly, func(t *testing.T, e *signupEnv) {
			e.svc.CreateUser(ctx, admin, NewUser{Username: "fay", Password: pw})
			_, err := e.wechat("wxa", "fay", "")
			link := noAccount(t, err)
			if _, err := e.svc.LinkPassword(ctx, "wxc", "fay", pw, link, Meta{IP: "10.1.1.1"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("%v", err)
			}
		}},
		{"a link token never takes an identity another account holds", existingOnly, func(t *testing.T, e *signupEnv) {
			e.svc.CreateUser(ctx, admin, NewUser{Username: "gus", Password: pw})
			e.svc.CreateUser(ctx, admin, NewUser{Username: "hal", Password: pw})
			_, err := e.wechat("wxc", "gus", "")
			l1 := noAccount(t, err)
			_, err = e.wechat("wxc", "gus", "")
			l2 := noAccount(t, err)
			g, err := e.svc.LinkPassword(ctx, "", "gus", pw, l1, Meta{IP: "10.1.1.1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.LinkPassword(ctx, "", "hal", pw, l2, Meta{IP: "10.1.1.1"}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("%v", err)
			}
			if e.userOf(t, "wxc", "gus") != g.User.ID {
				t.Fatal("the identity moved")
			}
		}},
		{"a link token and a phone code bind the identity to the phone's user", func(c *Config) { existingOnly(c) }, func(t *testing.T, e *signupEnv) {
			u, err := e.svc.CreateUser(ctx, admin, NewUser{Phone: "13800000001"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.wechat("wxa", "ida", "")
			link := noAccount(t, err)
			l, err := e.phoneLogin("wxa", "13800000001", "", link)
			if err != nil || l.User.ID != u.User.ID || e.userOf(t, "wxa", "ida") != u.User.ID || l.NewUser {
				t.Fatalf("%v", err)
			}
			if _, err := e.phoneLogin("wxa", "13800000001", "", link); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("second use: %v", err)
			}
		}},
		{"per app and per door: overrides win over the default", func(c *Config) {
			c.CloudRun = true
			c.SignupPolicy = SignupRules{Default: SignupExistingOnly, Overrides: map[string]SignupPolicy{"wxc": SignupOpen, "wxa/cloudrun": SignupOpen}}
		}, func(t *testing.T, e *signupEnv) {
			if _, err := e.wechat("wxc", "jon", ""); err != nil {
				t.Fatalf("wxc is open: %v", err)
			}
			_, err := e.wechat("wxa", "jon", "")
			noAccount(t, err)
			if _, err := e.svc.LoginCloud(ctx, "wxa", "o-cloud-jon", "", Meta{IP: "10.1.1.1"}); err != nil {
				t.Fatalf("wxa's Cloud Run door is open: %v", err)
			}
			_, err = e.svc.LoginCloud(ctx, "wxb", "o-cloud-jon", "", Meta{IP: "10.1.1.1"})
			noAccount(t, err)
		}},
		{"operators create users with a username, a phone or both", existingOnly, func(t *testing.T, e *signupEnv) {
			if _, err := e.svc.CreateUser(ctx, admin, NewUser{}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("empty: %v", err)
			}
			if _, err := e.svc.CreateUser(ctx, admin, NewUser{Username: "kim", Password: "short"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("weak password: %v", err)
			}
			if _, err := e.svc.CreateUser(ctx, admin, NewUser{Phone: "12x"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("bad phone: %v", err)
			}
			u, err := e.svc.CreateUser(ctx, admin, NewUser{Username: "Kim", Password: pw, Phone: "13800000002", CountryCode: "+86", Nickname: " Kim "})
			if err != nil || u.Username != "kim" || u.User.Phone != "13800000002" || u.User.PhoneCountryCode != "86" || u.User.Nickname != "Kim" {
				t.Fatalf("%v %+v", err, u)
			}
			if _, err := e.svc.CreateUser(ctx, admin, NewUser{Username: "kim", Password: pw}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("taken username: %v", err)
			}
			if _, err := e.svc.CreateUser(ctx, admin, NewUser{Phone: "13800000002"}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("taken phone: %v", err)
			}
			if l, err := e.svc.LoginPassword(ctx, "", "kim", pw, Meta{IP: "10.1.1.1"}); err != nil || l.User.ID != u.User.ID {
				t.Fatalf("password login: %v", err)
			}
			if ev := e.events(t, "user.create"); len(ev) != 1 || ev[0].ActorID != "admin:ops" || strings.Contains(ev[0].Detail, "13800000002") {
				t.Fatalf("audit: %+v", ev)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newSignupEnv(t, tt.cfg, newSignupWeChat("wxa", true), newSignupWeChat("wxb", true), newSignupWeChat("wxc", false)))
		})
	}
}

// Phone-first sign-up: a verified phone finds or creates the user; wx_code binds its identity.
func TestPhoneSignup(t *testing.T) {
	phoneSignup := func(c *Config) { c.PhoneSignup, c.PhoneLogin = true, false }
	tests := []struct {
		name string
		cfg  func(*Config)
		run  func(t *testing.T, e *signupEnv)
	}{
		{"without phone sign-up an unknown number is invalid_credentials", nil, func(t *testing.T, e *signupEnv) {
			if _, err := e.phoneLogin("wxa", "13900000001", "", ""); wxlogin.ErrorCode(err) != wxlogin.ECREDENTIALS {
				t.Fatalf("%v", err)
			}
			if e.users(t) != 0 {
				t.Fatal("a user was created")
			}
		}},
		{"phone and wx_code off: forbidden", func(c *Config) { c.PhoneLogin = false }, func(t *testing.T, e *signupEnv) {
			if _, err := e.phoneLogin("wxa", "13900000001", "", ""); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("%v", err)
			}
		}},
		{"an unknown number creates a user holding it; the next login finds it", phoneSignup, func(t *testing.T, e *signupEnv) {
			a, err := e.phoneLogin("wxa", "13900000002", "", "")
			if err != nil || !a.NewUser || a.User.Phone != "13900000002" || a.User.PhoneCountryCode != "86" {
				t.Fatalf("%v", err)
			}
			b, err := e.phoneLogin("wxa", "13900000002", "", "")
			if err != nil || b.NewUser || b.User.ID != a.User.ID {
				t.Fatalf("%v", err)
			}
			if len(e.events(t, "phone.verify")) != 1 {
				t.Fatal("phone.verify not audited once")
			}
		}},
		{"wx_code binds the WeChat identity: one tap, one user", phoneSignup, func(t *testing.T, e *signupEnv) {
			l, err := e.phoneLogin("wxa", "13900000003", "amy", "")
			if err != nil || !l.NewUser || e.userOf(t, "wxa", "amy") != l.User.ID || l.User.UnionID != "u-amy" {
				t.Fatalf("%v", err)
			}
			w, err := e.wechat("wxa", "amy", "")
			if err != nil || w.User.ID != l.User.ID {
				t.Fatalf("WeChat login: %v", err)
			}
			if e.users(t) != 1 {
				t.Fatalf("%d users", e.users(t))
			}
		}},
		{"a bare WeChat user's number joins it, no second user", phoneSignup, func(t *testing.T, e *signupEnv) {
			w, _ := e.wechat("wxa", "ben", "")
			l, err := e.phoneLogin("wxa", "13900000004", "ben", "")
			if err != nil || l.User.ID != w.User.ID || l.NewUser || l.User.Phone != "13900000004" || e.users(t) != 1 {
				t.Fatalf("%v", err)
			}
		}},
		{"a known number takes in a bare WeChat user (merge policy)", phoneSignup, func(t *testing.T, e *signupEnv) {
			p, _ := e.phoneLogin("wxa", "13900000005", "", "")
			w, _ := e.wechat("wxa", "cat", "")
			l, err := e.phoneLogin("wxa", "13900000005", "cat", "")
			if err != nil || l.User.ID != p.User.ID || e.userOf(t, "wxa", "cat") != p.User.ID || e.exists(t, w.User.ID) {
				t.Fatalf("%v", err)
			}
			if len(e.events(t, "user.merge")) != 1 || len(e.events(t, "identity.bind")) != 1 {
				t.Fatal("merge and bind not audited")
			}
		}},
		{"a known number never takes an identity of a user with an account", phoneSignup, func(t *testing.T, e *signupEnv) {
			e.phoneLogin("wxa", "13900000006", "", "")
			e.signUp(t, "dan")
			owner, err := e.wechat("wxa", "dan", "dan")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.phoneLogin("wxa", "13900000006", "dan", ""); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("%v", err)
			}
			if e.userOf(t, "wxa", "dan") != owner.User.ID {
				t.Fatal("the identity moved")
			}
			if len(e.events(t, "merge.conflict")) != 1 {
				t.Fatal("conflict not audited")
			}
		}},
		{"a WeChat user holding another number: conflict", phoneSignup, func(t *testing.T, e *signupEnv) {
			e.phoneLogin("wxa", "13900000007", "eve", "")
			if _, err := e.phoneLogin("wxa", "13900000008", "eve", ""); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("%v", err)
			}
		}},
		{"existing_only at the phone door: no sign-up, a link token for wx_code", func(c *Config) {
			phoneSignup(c)
			c.SignupPolicy = SignupRules{Overrides: map[string]SignupPolicy{"*/phone": SignupExistingOnly}}
		}, func(t *testing.T, e *signupEnv) {
			if _, err := e.phoneLogin("wxa", "13900000009", "", ""); wxlogin.ErrorCode(err) != wxlogin.ECREDENTIALS {
				t.Fatalf("%v", err)
			}
			_, err := e.phoneLogin("wxa", "13900000009", "fay", "")
			noAccount(t, err)
			if e.users(t) != 0 {
				t.Fatal("a user was created")
			}
		}},
		{"a disabled phone holder cannot log in", phoneSignup, func(t *testing.T, e *signupEnv) {
			p, _ := e.phoneLogin("wxa", "13900000010", "", "")
			if err := e.svc.SetDisabled(context.Background(), "admin:ops", p.User.ID, true, Meta{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.phoneLogin("wxa", "13900000010", "", ""); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("%v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newSignupEnv(t, tt.cfg, newSignupWeChat("wxa", true), newSignupWeChat("wxc", false)))
		})
	}
}

// The risk check: above the limit nobody is created; known people are not checked.
func TestSignupRisk(t *testing.T) {
	ctx := context.Background()
	max := 2
	wxa := newSignupWeChat("wxa", true)
	e := newSignupEnv(t, func(c *Config) { c.SignupRiskMax, c.PhoneSignup = &max, true }, wxa)
	wxa.risk[wxa.openid("amy")] = 3
	wxa.risk[wxa.openid("ben")] = 2
	if _, err := e.wechat("wxa", "amy", ""); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
		t.Fatalf("rank 3: %v", err)
	}
	if ev := e.events(t, "signup.refused"); len(ev) != 1 || !strings.Contains(ev[0].Detail, `"rank":"3"`) {
		t.Fatalf("audit: %+v", ev)
	}
	if _, err := e.wechat("wxa", "ben", ""); err != nil {
		t.Fatalf("rank 2: %v", err)
	}
	calls := wxa.riskCalls
	if _, err := e.wechat("wxa", "ben", ""); err != nil || wxa.riskCalls != calls {
		t.Fatalf("a known user was checked again: %v, %d calls", err, wxa.riskCalls-calls)
	}
	if _, err := e.phoneLogin("wxa", "13700000001", "", ""); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Fatalf("phone sign-up without wx_code under a risk limit: %v", err)
	}
	if _, err := e.phoneLogin("wxa", "13700000001", "amy", ""); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
		t.Fatalf("phone sign-up of a risky user: %v", err)
	}
	if e.users(t) != 1 {
		t.Fatalf("%d users", e.users(t))
	}
	if _, err := New(Config{Store: e.store, Tokens: e.svc.core.tokens, Sealer: e.svc.core.sealer, SignupRiskMax: &max,
		Apps: []AppClient{{App: wxlogin.App{ID: "wxz"}, WeChat: newFakeWeChat("wxz", false)}}}); err == nil {
		t.Fatal("a client without the risk call was accepted")
	}
	_ = ctx
}

func TestParseSignupRules(t *testing.T) {
	r, err := ParseSignupRules("existing_only", "wxa=open, wxb/phone=open,*/cloudrun=open")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		app, door string
		want      SignupPolicy
	}{{"wxa", DoorWeChat, SignupOpen}, {"wxb", DoorPhone, SignupOpen}, {"wxb", DoorWeChat, SignupExistingOnly},
		{"wxc", DoorCloudRun, SignupOpen}, {"wxc", "", SignupExistingOnly}} {
		if got := r.For(c.app, c.door); got != c.want {
			t.Errorf("%s/%s: %s, want %s", c.app, c.door, got, c.want)
		}
	}
	for _, bad := range [][2]string{{"closed", ""}, {"open", "wxa=closed"}, {"open", "wxa/door=open"}, {"open", "*=open"}, {"open", "wxa"}} {
		if _, err := ParseSignupRules(bad[0], bad[1]); err == nil {
			t.Errorf("%q %q accepted", bad[0], bad[1])
		}
	}
	if (SignupRules{}).For("wxa", DoorWeChat) != SignupOpen {
		t.Fatal("the zero rules are not open")
	}
}
