package auth

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

const (
	testCallback = "https://login.example.com/v1/oauth/wechat/callback"
	testReturn   = "https://shop.example.com/after-login"
)

// webEnv is a ruleEnv whose official account "oa" and website "web" register testReturn.
func webEnv(t *testing.T) *ruleEnv {
	e := newRuleEnv(t, newFakeWeChat("wxa", true), kindApp("oa", true, wxlogin.KindOfficialAccount),
		kindApp("web", true, wxlogin.KindWebsite), kindApp("app", true, wxlogin.KindMobileApp))
	e.svc.Doors.web = WebConfig{OpenBaseURL: "https://open.example", RedirectURIs: map[string][]string{
		"oa": {testReturn}, "web": {testReturn}}}.withDefaults()
	return e
}

// start begins a flow at appid and returns the redirect and wxlogin's state in WeChat's URL.
func (e *ruleEnv) start(t *testing.T, appid, scope string) (*WebRedirect, string) {
	t.Helper()
	r, err := e.svc.StartWeb(context.Background(), WebStart{AppID: appid, RedirectURI: testReturn, State: "caller-state", Scope: scope, CallbackURL: testCallback})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	return r, u.Query().Get("state")
}

// The browser redirect flow's rules: WeChat's URL, single-use state bound to the browser, exact
// redirect URIs, the one-time login_code, and the same user as the mini program.
func TestWebFlowRules(t *testing.T) {
	ctx := context.Background()
	m := Meta{IP: "10.4.4.4", UserAgent: "browser"}
	tests := []struct {
		name string
		run  func(t *testing.T, e *ruleEnv)
	}{
		{"the official account's flow ends in the mini program's user, through a one-time login_code", func(t *testing.T, e *ruleEnv) {
			mp, _ := e.wechat("wxa", "amy", "")
			r, state := e.start(t, "oa", "")
			want := "https://open.example/connect/oauth2/authorize?appid=oa&redirect_uri=" + url.QueryEscape(testCallback) +
				"&response_type=code&scope=snsapi_userinfo&state=" + state + "#wechat_redirect"
			if r.URL != want || len(state) != 48 || r.Browser == "" {
				t.Fatalf("URL %s\nwant %s", r.URL, want)
			}
			res, err := e.svc.FinishWeb(ctx, WebCallback{State: state, Code: e.apps["oa"].authorize("amy", wechat.ScopeUserInfo, false), Browser: r.Browser}, m)
			if err != nil || res.UserID != mp.User.ID || res.RedirectURI != testReturn || res.State != "caller-state" || res.AppID != "oa" {
				t.Fatalf("finish: %v, %+v", err, res)
			}
			code, err := e.svc.IssueLoginCode(ctx, res)
			if err != nil {
				t.Fatal(err)
			}
			l, err := e.svc.ExchangeLoginCode(ctx, code, m)
			if err != nil || l.User.ID != mp.User.ID || l.Session.AppID != "oa" || l.Session.Method != MethodOAuth || l.AccessToken == "" {
				t.Fatalf("exchange: %v, %+v", err, l)
			}
			if _, err := e.svc.ExchangeLoginCode(ctx, code, m); wxlogin.ErrorCode(err) != wxlogin.EINVALIDCODE {
				t.Fatalf("second exchange: %v", err)
			}
		}},
		{"a website goes to qrconnect with snsapi_login", func(t *testing.T, e *ruleEnv) {
			r, _ := e.start(t, "web", "")
			if !strings.HasPrefix(r.URL, "https://open.example/connect/qrconnect?appid=web&") || !strings.Contains(r.URL, "&scope=snsapi_login&") {
				t.Fatalf("URL %s", r.URL)
			}
		}},
		{"a replayed state, another browser's cookie or an expired state is refused without a redirect", func(t *testing.T, e *ruleEnv) {
			r, state := e.start(t, "oa", "")
			if res, err := e.svc.FinishWeb(ctx, WebCallback{State: state, Code: "c", Browser: "another-browser"}, m); res != nil || wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("another browser: %v, %+v", err, res)
			}
			if res, err := e.svc.FinishWeb(ctx, WebCallback{State: state, Code: "c", Browser: r.Browser}, m); res != nil || wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("replay after a refusal: %v, %+v", err, res)
			}
			r, state = e.start(t, "oa", "")
			e.svc.FinishWeb(ctx, WebCallback{State: state, Code: e.apps["oa"].authorize("bo", wechat.ScopeUserInfo, false), Browser: r.Browser}, m)
			if res, err := e.svc.FinishWeb(ctx, WebCallback{State: state, Code: "c", Browser: r.Browser}, m); res != nil || wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("replay: %v, %+v", err, res)
			}
			r, state = e.start(t, "oa", "")
			e.advance(11 * time.Minute)
			if res, err := e.svc.FinishWeb(ctx, WebCallback{State: state, Code: "c", Browser: r.Browser}, m); res != nil || wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("expired: %v, %+v", err, res)
			}
		}},
		{"a refusal goes back with an error; a snapshot visit too, creating nobody", func(t *testing.T, e *ruleEnv) {
			r, state := e.start(t, "oa", "")
			res, err := e.svc.FinishWeb(ctx, WebCallback{State: state, Browser: r.Browser}, m)
			if res == nil || res.RedirectURI != testReturn || wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("refusal: %v, %+v", err, res)
			}
			r, state = e.start(t, "oa", wechat.ScopeBase)
			res, err = e.svc.FinishWeb(ctx, WebCallback{State: state, Code: e.apps["oa"].authorize("cy", wechat.ScopeBase, true), Browser: r.Browser}, m)
			if res == nil || res.UserID != "" || wxlogin.ErrorCode(err) != wxlogin.ESNAPSHOTUSER {
				t.Fatalf("snapshot: %v, %+v", err, res)
			}
			if users, _ := e.store.Users(ctx, wxlogin.UserFilter{}); len(users) != 0 {
				t.Fatalf("%d users created", len(users))
			}
		}},
		{"only registered redirect URIs, exactly; loopback only when allowed", func(t *testing.T, e *ruleEnv) {
			for _, uri := range []string{"", testReturn + "/", testReturn + "?x=1", "https://evil.example/after-login", "http://127.0.0.1:9000/cb"} {
				_, err := e.svc.StartWeb(ctx, WebStart{AppID: "oa", RedirectURI: uri, CallbackURL: testCallback})
				if wxlogin.ErrorCode(err) != wxlogin.EINVALID {
					t.Errorf("%q: %v", uri, err)
				}
			}
			e.svc.Doors.web.AllowLoopback = true
			for uri, ok := range map[string]bool{"http://127.0.0.1:9000/cb": true, "http://[::1]:9000/cb": true, "http://127.0.0.1/cb": false,
				"https://127.0.0.1:9000/cb": false, "http://localhost:9000/cb": false, "http://10.0.0.1:9000/cb": false} {
				_, err := e.svc.StartWeb(ctx, WebStart{AppID: "oa", RedirectURI: uri, CallbackURL: testCallback})
				if (err == nil) != ok {
					t.Errorf("loopback %q: %v", uri, err)
				}
			}
		}},
		{"abandoned flows are pruned once expired", func(t *testing.T, e *ruleEnv) {
			e.start(t, "oa", "")
			if n, err := e.svc.PruneWebTickets(ctx, e.clock()); err != nil || n != 0 {
				t.Fatalf("live flow pruned: %d, %v", n, err)
			}
			e.advance(11 * time.Minute)
			if n, err := e.svc.PruneWebTickets(ctx, e.clock()); err != nil || n != 1 {
				t.Fatalf("expired flow: %d, %v", n, err)
			}
		}},
		{"mini programs, mobile apps and wrong scopes cannot start a browser flow", func(t *testing.T, e *ruleEnv) {
			for _, in := range []WebStart{{AppID: "wxa"}, {AppID: "app"}, {AppID: "oa", Scope: wechat.ScopeLogin}, {AppID: "web", Scope: wechat.ScopeUserInfo},
				{AppID: "oa", State: strings.Repeat("s", 513)}, {AppID: "nope"}} {
				in.RedirectURI, in.CallbackURL = testReturn, testCallback
				if _, err := e.svc.StartWeb(ctx, in); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
					t.Errorf("%+v: %v", in.AppID, err)
				}
			}
		}},
		{"a login_code lives 60 seconds; a disabled user cannot trade one", func(t *testing.T, e *ruleEnv) {
			r, state := e.start(t, "web", "")
			res, err := e.svc.FinishWeb(ctx, WebCallback{State: state, Code: e.apps["web"].authorize("di", wechat.ScopeLogin, false), Browser: r.Browser}, m)
			if err != nil {
				t.Fatal(err)
			}
			old, _ := e.svc.IssueLoginCode(ctx, res)
			e.advance(61 * time.Second)
			if _, err := e.svc.ExchangeLoginCode(ctx, old, m); wxlogin.ErrorCode(err) != wxlogin.EINVALIDCODE {
				t.Fatalf("expired: %v", err)
			}
			code, _ := e.svc.IssueLoginCode(ctx, res)
			u, _ := e.store.User(ctx, res.UserID)
			u.Disabled = true
			e.store.Update(ctx, func(tx wxlogin.Tx) error { return tx.UpdateUser(ctx, u) })
			if _, err := e.svc.ExchangeLoginCode(ctx, code, m); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("disabled: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, webEnv(t)) })
	}
}
