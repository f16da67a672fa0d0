package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// The web apps of the test environment: an official account and a website on the mini programs'
// open platform.
const (
	appOA     = "wxo0000000000000o4"
	appWeb    = "wxw0000000000000w5"
	secretOA  = "secretO-0123456789abcdef01234567"
	secretWeb = "secretW-0123456789abcdef01234567"
)

var webApps = []wxlogin.App{
	{ID: appOA, Secret: secretOA, Platform: platform, Kind: wxlogin.KindOfficialAccount},
	{ID: appWeb, Secret: secretWeb, Platform: platform, Kind: wxlogin.KindWebsite},
}

// oauthCode plays the consent page of appid for device user with scope.
func (e *env) oauthCode(appid, user, scope string, snapshot bool) string {
	e.t.Helper()
	c, err := e.sim.OAuthCode(appid, user, scope, snapshot)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) loginOAuth(appid, code string) *response {
	e.t.Helper()
	return e.do("POST", "/v1/login/wechat/oauth", "", map[string]string{"appid": appid, "code": code})
}

// One person through the mini program, the official account and the website is one user with
// three identities and one unionid.
func TestLoginOAuthOnePerson(t *testing.T) {
	e := newEnv(t)
	mp := e.login(appA, "alice")
	oa := e.mustTokens(e.loginOAuth(appOA, e.oauthCode(appOA, "alice", wechat.ScopeUserInfo, false)))
	web := e.mustTokens(e.loginOAuth(appWeb, e.oauthCode(appWeb, "alice", wechat.ScopeLogin, false)))
	if oa.User.ID != mp.User.ID || web.User.ID != mp.User.ID || oa.NewUser || web.NewUser {
		t.Fatalf("users: mini program %s, official account %s, website %s", mp.User.ID, oa.User.ID, web.User.ID)
	}
	me := e.do("GET", "/v1/me", web.AccessToken, nil)
	var body struct {
		UnionID    string `json:"unionid"`
		Nickname   string `json:"nickname"`
		Identities []struct {
			AppID   string `json:"appid"`
			OpenID  string `json:"openid"`
			UnionID string `json:"unionid"`
			Kind    string `json:"kind"`
		} `json:"identities"`
	}
	json.Unmarshal(me.Body, &body)
	if len(body.Identities) != 3 || body.UnionID != e.sim.UnionID(platform, "alice") || body.Nickname != "alice" {
		t.Fatalf("GET /v1/me = %s", me.Body)
	}
	for _, id := range body.Identities {
		if id.OpenID != e.sim.OpenID(id.AppID, "alice") {
			t.Errorf("identity %s: openid %s", id.AppID, id.OpenID)
		}
		if want := map[string]string{appA: "miniprogram", appOA: "official_account", appWeb: "website"}[id.AppID]; id.Kind != want {
			t.Errorf("identity %s: kind %q, want %q", id.AppID, id.Kind, want)
		}
	}
	// The user's WeChat OAuth tokens never reach a response or a log line.
	if out := e.bodies.String() + e.logs.String(); strings.Contains(out, "refresh_token=") || strings.Contains(out, "access_token=") {
		t.Error("a WeChat OAuth token appears in a response or log line")
	}
}

// Snapshot visitors are refused; replays, a mini program's appid and bad bodies are 4xx.
func TestLoginOAuthRefusals(t *testing.T) {
	e := newEnv(t)
	r := e.loginOAuth(appOA, e.oauthCode(appOA, "bob", wechat.ScopeBase, true))
	if r.Status != 403 || r.ErrorCode(t) != wxlogin.ESNAPSHOTUSER {
		t.Fatalf("snapshot: %d %s", r.Status, r.Body)
	}
	code := e.oauthCode(appWeb, "bob", wechat.ScopeLogin, false)
	e.mustTokens(e.loginOAuth(appWeb, code))
	if r := e.loginOAuth(appOA, code); r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
		t.Fatalf("code of another app: %d %s", r.Status, r.Body)
	}
	for _, body := range []any{
		map[string]string{"appid": appA, "code": e.code(appA, "bob")},
		map[string]string{"appid": appOA},
		map[string]string{"code": "abc"},
		map[string]string{"appid": "wxunknown", "code": "abc"},
		map[string]any{"appid": appOA, "code": "abc", "scope": "x"},
	} {
		if r := e.do("POST", "/v1/login/wechat/oauth", "", body); r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("%v: %d %s", body, r.Status, r.Body)
		}
	}
}

// A fault of the sns API is 503 upstream_unavailable with Retry-After, as for code2Session.
func TestLoginOAuthUpstreamFault(t *testing.T) {
	e := newEnv(t)
	if err := e.sim.SetFault(wechatsim.Fault{Path: "/sns/oauth2/access_token", Errcode: -1, Errmsg: "system error"}); err != nil {
		t.Fatal(err)
	}
	r := e.loginOAuth(appOA, e.oauthCode(appOA, "cid", wechat.ScopeUserInfo, false))
	if r.Status != 503 || r.ErrorCode(t) != wxlogin.EUPSTREAMUNAVAIL || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fault: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	e.sim.ClearFaults()
	e.sim.SetFault(wechatsim.Fault{Path: "/sns/oauth2/access_token", Reset: true})
	if r := e.loginOAuth(appOA, e.oauthCode(appOA, "cid", wechat.ScopeUserInfo, false)); r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
}

// webReturn is the page the test's web apps register as their redirect URI.
const webReturn = "https://shop.example.com/after-login?from=wxlogin"

var webRedirectURIs = map[string][]string{appOA: {webReturn}, appWeb: {webReturn}}

// browser is a cookie-keeping client that does not follow redirects: each hop is checked.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches u; requests to the server are checked against openapi.yaml.
func (b *browser) get(u string) *response {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(u, b.e.srv.URL) {
		checkContract(b.e.t, exchange{req: req, checkReq: true, status: resp.StatusCode, header: resp.Header, body: body})
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// webLogin runs the browser flow at appid for device user up to the caller's page, and returns
// the final Location's query.
func (b *browser) webLogin(appid, user string) url.Values {
	b.e.t.Helper()
	r := b.get(b.e.srv.URL + "/v1/oauth/wechat/authorize?" + url.Values{"appid": {appid}, "redirect_uri": {webReturn}, "state": {"s-1"}}.Encode())
	if r.Status != 302 {
		b.e.t.Fatalf("authorize: %d %s", r.Status, r.Body)
	}
	wx, _ := url.Parse(r.Header.Get("Location"))
	q := wx.Query()
	q.Set("sim_user", user) // the simulator's page confirms at once
	wx.RawQuery, wx.Fragment = q.Encode(), ""
	r = b.get(wx.String())
	if r.Status != 302 || !strings.HasPrefix(r.Header.Get("Location"), b.e.srv.URL+"/v1/oauth/wechat/callback?") {
		b.e.t.Fatalf("WeChat's page: %d %s %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	cb := r.Header.Get("Location")
	r = b.get(cb)
	if r.Status != 302 || !strings.HasPrefix(r.Header.Get("Location"), "https://shop.example.com/after-login?") {
		b.e.t.Fatalf("callback: %d %s %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	back, _ := url.Parse(r.Header.Get("Location"))
	v := back.Query()
	v.Set("_callback", cb)
	return v
}

// The redirect flow of the official account and the website lands on the caller's page with a
// login_code that trades for the mini program's user, once.
func TestWebRedirectFlow(t *testing.T) {
	e := newEnv(t)
	mp := e.login(appA, "alice")
	for _, appid := range []string{appOA, appWeb} {
		b := e.browser()
		v := b.webLogin(appid, "alice")
		if v.Get("state") != "s-1" || v.Get("from") != "wxlogin" || v.Get("login_code") == "" {
			t.Fatalf("%s: back with %v", appid, v)
		}
		tk := e.mustTokens(e.do("POST", "/v1/login/exchange", "", map[string]string{"login_code": v.Get("login_code")}))
		if tk.User.ID != mp.User.ID {
			t.Fatalf("%s: user %s, want the mini program's %s", appid, tk.User.ID, mp.User.ID)
		}
		if r := e.do("POST", "/v1/login/exchange", "", map[string]string{"login_code": v.Get("login_code")}); r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
			t.Fatalf("second exchange: %d %s", r.Status, r.Body)
		}
		// The callback replayed, even by the same browser, is refused without a redirect.
		if r := b.get(v.Get("_callback")); r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID || r.Header.Get("Location") != "" {
			t.Fatalf("%s: replayed callback: %d %s", appid, r.Status, r.Body)
		}
	}
	me := e.do("GET", "/v1/me", mp.AccessToken, nil)
	var body struct {
		Identities []struct{} `json:"identities"`
	}
	json.Unmarshal(me.Body, &body)
	if len(body.Identities) != 3 {
		t.Fatalf("identities: %s", me.Body)
	}
}

// No open redirect, no state from another browser.
func TestWebRedirectRefusals(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, q := range []url.Values{
		{"appid": {appOA}, "redirect_uri": {"https://evil.example/"}},
		{"appid": {appOA}, "redirect_uri": {webReturn + "&x=1"}},
		{"appid": {appOA}},
		{"appid": {appA}, "redirect_uri": {webReturn}},
		{"appid": {appWeb}, "redirect_uri": {webReturn}, "scope": {"snsapi_base"}},
	} {
		r := b.get(e.srv.URL + "/v1/oauth/wechat/authorize?" + q.Encode())
		if r.Status != 400 || r.Header.Get("Location") != "" || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("%v: %d %s", q, r.Status, r.Body)
		}
	}
	// A state started in one browser does not finish in another.
	r := b.get(e.srv.URL + "/v1/oauth/wechat/authorize?" + url.Values{"appid": {appOA}, "redirect_uri": {webReturn}}.Encode())
	wx, _ := url.Parse(r.Header.Get("Location"))
	state := wx.Query().Get("state")
	code := e.oauthCode(appOA, "eve", wechat.ScopeUserInfo, false)
	other := e.browser()
	if r := other.get(e.srv.URL + "/v1/oauth/wechat/callback?" + url.Values{"code": {code}, "state": {state}}.Encode()); r.Status != 400 || r.Header.Get("Location") != "" {
		t.Fatalf("other browser: %d %s", r.Status, r.Body)
	}
	// A refusal goes back to the caller with error=access_denied.
	r = b.get(e.srv.URL + "/v1/oauth/wechat/authorize?" + url.Values{"appid": {appOA}, "redirect_uri": {webReturn}, "state": {"x"}}.Encode())
	wx, _ = url.Parse(r.Header.Get("Location"))
	r = b.get(e.srv.URL + "/v1/oauth/wechat/callback?" + url.Values{"state": {wx.Query().Get("state")}}.Encode())
	back, _ := url.Parse(r.Header.Get("Location"))
	if r.Status != 302 || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "x" || back.Query().Get("login_code") != "" {
		t.Fatalf("refusal: %d %s", r.Status, r.Header.Get("Location"))
	}
	if r := b.get(e.srv.URL + "/v1/oauth/wechat/callback"); r.Status != 400 {
		t.Fatalf("no state: %d", r.Status)
	}
	if r := e.do("POST", "/v1/login/exchange", "", map[string]string{"login_code": "nope"}); r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
		t.Fatalf("unknown login_code: %d %s", r.Status, r.Body)
	}
}
