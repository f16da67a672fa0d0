package wechatsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

const (
	appOA  = "wxoa00000000000001" // official account, platform "open1"
	appWeb = "wxweb0000000000001" // website, platform "open1"
	appMob = "wxmob0000000000001" // mobile app, platform "open1"
	appOA2 = "wxoa00000000000002" // official account, no platform
)

func init() {
	secrets[appOA], secrets[appWeb], secrets[appMob], secrets[appOA2] = "secretOA", "secretWeb", "secretMob", "secretOA2"
}

func newKindsHarness(t *testing.T, opts Options) *harness {
	opts.Apps = []App{
		{ID: appA, Secret: secretA, Platform: platform},
		{ID: appC, Secret: secretC},
		{ID: appOA, Secret: secrets[appOA], Platform: platform, Kind: wxlogin.KindOfficialAccount},
		{ID: appWeb, Secret: secrets[appWeb], Platform: platform, Kind: wxlogin.KindWebsite},
		{ID: appMob, Secret: secrets[appMob], Platform: platform, Kind: wxlogin.KindMobileApp},
		{ID: appOA2, Secret: secrets[appOA2], Kind: wxlogin.KindOfficialAccount},
	}
	return newHarness(t, opts)
}

// noRedirect is an HTTP client that returns redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// visit GETs an authorize page and returns the status, the Location and the body.
func (h *harness) visit(path string, q url.Values) (int, *url.URL, string) {
	h.t.Helper()
	resp, err := noRedirect().Get(h.srv.URL + path + "?" + q.Encode())
	if err != nil {
		h.t.Fatal(err)
	}
	return readPage(h.t, resp)
}

func (h *harness) submit(path string, form url.Values) (int, *url.URL, string) {
	h.t.Helper()
	resp, err := noRedirect().PostForm(h.srv.URL+path, form)
	if err != nil {
		h.t.Fatal(err)
	}
	return readPage(h.t, resp)
}

func readPage(t *testing.T, resp *http.Response) (int, *url.URL, string) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var loc *url.URL
	if l := resp.Header.Get("Location"); l != "" {
		var err error
		if loc, err = url.Parse(l); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, loc, string(b)
}

func authQ(appid, scope string, extra ...string) url.Values {
	q := url.Values{"appid": {appid}, "redirect_uri": {"https://rp.example/cb?x=1"}, "response_type": {"code"},
		"scope": {scope}, "state": {"st8"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func (h *harness) exchange(appid, code string) map[string]any {
	h.t.Helper()
	return h.get(PathOAuthAccessToken, url.Values{"appid": {appid}, "secret": {secrets[appid]}, "code": {code},
		"grant_type": {"authorization_code"}})
}

// simUserCode runs an authorize with sim_user and returns the code of the redirect.
func (h *harness) simUserCode(path, appid, scope, user string, extra ...string) string {
	h.t.Helper()
	status, loc, body := h.visit(path, authQ(appid, scope, append([]string{"sim_user", user}, extra...)...))
	if status != http.StatusFound || loc == nil {
		h.t.Fatalf("authorize: status %d, body %s", status, body)
	}
	if loc.Host != "rp.example" || loc.Path != "/cb" || loc.Query().Get("x") != "1" || loc.Query().Get("state") != "st8" {
		h.t.Fatalf("redirect %s: want https://rp.example/cb?x=1&state=st8&code=…", loc)
	}
	code := loc.Query().Get("code")
	if len(code) != 32 {
		h.t.Fatalf("code %q: want 32 characters", code)
	}
	return code
}

func TestOAuthAuthorizePage(t *testing.T) {
	h := newKindsHarness(t, Options{})
	h.login(appA, "alice") // a device user known on the platform

	status, _, body := h.visit(PathOAuthAuthorize, authQ(appOA, ScopeUserInfo, "state", `"><script>x</script>`))
	if status != http.StatusOK || !strings.Contains(body, `<form method="post" action="/connect/oauth2/authorize">`) {
		t.Fatalf("page: status %d body %s", status, body)
	}
	if strings.Contains(body, "<script>x</script>") || !strings.Contains(body, "&#34;&gt;&lt;script&gt;") {
		t.Fatalf("state not escaped: %s", body)
	}
	if !strings.Contains(body, `value="alice"`) || !strings.Contains(body, `id="refuse"`) {
		t.Fatalf("page lacks the known user or the refuse button: %s", body)
	}

	// Picking the listed user confirms.
	form := authQ(appOA, ScopeUserInfo)
	form.Set("user", "alice")
	status, loc, _ := h.submit(PathOAuthAuthorize, form)
	if status != http.StatusFound || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st8" {
		t.Fatalf("confirm: %d %v", status, loc)
	}
	m := h.exchange(appOA, loc.Query().Get("code"))
	if m["openid"] != OpenID(appOA, "alice") || m["unionid"] != UnionID(platform, "alice") || m["scope"] != ScopeUserInfo {
		t.Fatalf("exchange: %v", m)
	}

	// Typing a user confirms too.
	form = authQ(appWeb, ScopeLogin)
	form.Set("user_typed", " bob ")
	form.Set("action", "confirm")
	status, loc, _ = h.submit(PathQRConnect, form)
	if status != http.StatusFound || h.exchange(appWeb, loc.Query().Get("code"))["openid"] != OpenID(appWeb, "bob") {
		t.Fatalf("typed user: %d %v", status, loc)
	}

	// Refuse: no code, state kept.
	form = authQ(appOA, ScopeBase)
	form.Set("action", "refuse")
	status, loc, _ = h.submit(PathOAuthAuthorize, form)
	if status != http.StatusFound || loc.Query().Has("code") || loc.Query().Get("state") != "st8" || loc.Query().Get("x") != "1" {
		t.Fatalf("refuse: %d %v", status, loc)
	}

	// Confirm without a user.
	form = authQ(appOA, ScopeBase)
	form.Set("action", "confirm")
	if status, _, _ := h.submit(PathOAuthAuthorize, form); status != http.StatusBadRequest {
		t.Fatalf("confirm without user: %d", status)
	}
}

func TestOAuthAuthorizeValidation(t *testing.T) {
	h := newKindsHarness(t, Options{})
	tests := []struct {
		name   string
		path   string
		q      url.Values
		status int
	}{
		{"website appid on authorize", PathOAuthAuthorize, authQ(appWeb, ScopeBase), 400},
		{"official account on qrconnect", PathQRConnect, authQ(appOA, ScopeLogin), 400},
		{"mini program", PathOAuthAuthorize, authQ(appA, ScopeBase), 400},
		{"unknown appid", PathOAuthAuthorize, authQ("wxnope", ScopeBase), 404},
		{"missing appid", PathOAuthAuthorize, authQ("", ScopeBase), 400},
		{"login scope on authorize", PathOAuthAuthorize, authQ(appOA, ScopeLogin), 400},
		{"userinfo scope on qrconnect", PathQRConnect, authQ(appWeb, ScopeUserInfo), 400},
		{"bad response_type", PathOAuthAuthorize, authQ(appOA, ScopeBase, "response_type", "token"), 400},
		{"relative redirect_uri", PathOAuthAuthorize, authQ(appOA, ScopeBase, "redirect_uri", "/cb"), 400},
		{"javascript redirect_uri", PathOAuthAuthorize, authQ(appOA, ScopeBase, "redirect_uri", "javascript:alert(1)"), 400},
		{"long state", PathOAuthAuthorize, authQ(appOA, ScopeBase, "state", strings.Repeat("s", 129)), 400},
		{"snapshot on qrconnect", PathQRConnect, authQ(appWeb, ScopeLogin, "sim_snapshot", "1"), 400},
	}
	for _, tt := range tests {
		status, loc, body := h.visit(tt.path, tt.q)
		if status != tt.status || loc != nil || !strings.Contains(body, `id="error"`) {
			t.Errorf("%s: status %d location %v, want %d and an error page", tt.name, status, loc, tt.status)
		}
	}
}

func TestOAuthExchangeRules(t *testing.T) {
	h := newKindsHarness(t, Options{})

	t.Run("code once, 5 minutes, per app", func(t *testing.T) {
		code := h.simUserCode(PathOAuthAuthorize, appOA, ScopeBase, "carol")
		wantErr(t, h.exchange(appOA2, code), 40029)
		m := h.exchange(appOA, code)
		if m["openid"] != OpenID(appOA, "carol") || m["scope"] != ScopeBase || m["refresh_token"] == nil {
			t.Fatalf("exchange: %v", m)
		}
		if n, _ := m["expires_in"].(json.Number).Int64(); n != 7200 {
			t.Fatalf("expires_in %v", m["expires_in"])
		}
		if _, ok := m["unionid"]; ok {
			t.Fatalf("snsapi_base of a user who never authorized got a unionid: %v", m)
		}
		if _, ok := m["is_snapshotuser"]; ok {
			t.Fatalf("is_snapshotuser on a normal visit: %v", m)
		}
		wantErr(t, h.exchange(appOA, code), 40163)
		late := h.simUserCode(PathOAuthAuthorize, appOA, ScopeBase, "carol")
		h.sim.Advance(5 * time.Minute)
		wantErr(t, h.exchange(appOA, late), 40029)
		wantErr(t, h.exchange(appOA, "0nosuchcode0000000000000000000000"), 40029)
	})

	t.Run("missing code, wrong secret, grant_type", func(t *testing.T) {
		code := h.simUserCode(PathOAuthAuthorize, appOA, ScopeBase, "dan")
		wantErr(t, h.get(PathOAuthAccessToken, url.Values{"appid": {appOA}, "secret": {secrets[appOA]}, "grant_type": {"authorization_code"}}), 41008)
		wantErr(t, h.get(PathOAuthAccessToken, url.Values{"appid": {appOA}, "secret": {"wrong"}, "code": {code}, "grant_type": {"authorization_code"}}), 40125)
		wantErr(t, h.get(PathOAuthAccessToken, url.Values{"appid": {appOA}, "secret": {secrets[appOA]}, "code": {code}, "grant_type": {"client_credential"}}), 40002)
		if h.exchange(appOA, code)["openid"] == nil {
			t.Fatal("the failed attempts spent the code")
		}
	})

	t.Run("unionid per platform, openid per app", func(t *testing.T) {
		oa := h.exchange(appOA, h.simUserCode(PathOAuthAuthorize, appOA, ScopeUserInfo, "erin"))
		web := h.exchange(appWeb, h.simUserCode(PathQRConnect, appWeb, ScopeLogin, "erin"))
		mob := h.exchange(appMob, h.ctl(http.MethodPost, "/sim/login", map[string]string{"appid": appMob, "user": "erin"}, 200)["code"].(string))
		mp := h.code2Session(appA, h.login(appA, "erin"))
		u := UnionID(platform, "erin")
		for name, m := range map[string]map[string]any{"official account": oa, "website": web, "mobile app": mob, "mini program": mp} {
			if m["unionid"] != u {
				t.Errorf("%s: unionid %v, want %s", name, m["unionid"], u)
			}
		}
		if oa["openid"] == web["openid"] || web["openid"] == mob["openid"] || oa["openid"] == mp["openid"] {
			t.Errorf("openids shared between apps: %v %v %v %v", oa["openid"], web["openid"], mob["openid"], mp["openid"])
		}
		if mob["scope"] != ScopeUserInfo || web["scope"] != ScopeLogin {
			t.Errorf("scopes: mobile %v, website %v", mob["scope"], web["scope"])
		}
		// snsapi_base after the user authorized the app: unionid included.
		base := h.exchange(appOA, h.simUserCode(PathOAuthAuthorize, appOA, ScopeBase, "erin"))
		if base["unionid"] != u {
			t.Errorf("snsapi_base of an authorized user: %v", base)
		}
		// No platform: no unionid.
		if m := h.exchange(appOA2, h.simUserCode(PathOAuthAuthorize, appOA2, ScopeUserInfo, "erin")); m["unionid"] != nil {
			t.Errorf("unbound official account got a unionid: %v", m)
		}
	})

	t.Run("snapshot", func(t *testing.T) {
		m := h.exchange(appOA, h.simUserCode(PathOAuthAuthorize, appOA, ScopeUserInfo, "fay", "sim_snapshot", "1"))
		if n, _ := m["is_snapshotuser"].(json.Number).Int64(); n != 1 {
			t.Fatalf("is_snapshotuser: %v", m)
		}
		if m["openid"] != SnapshotOpenID(appOA, "fay") || m["openid"] == OpenID(appOA, "fay") || m["unionid"] != nil {
			t.Fatalf("snapshot visit revealed the user: %v", m)
		}
		wantErr(t, h.get(PathOAuthUserInfo, url.Values{"access_token": {m["access_token"].(string)}, "openid": {m["openid"].(string)}}), 48001)
	})
}

func TestOAuthUserInfoRefreshAuth(t *testing.T) {
	h := newKindsHarness(t, Options{})
	m := h.exchange(appOA, h.simUserCode(PathOAuthAuthorize, appOA, ScopeUserInfo, "gus"))
	at, rt, openid := m["access_token"].(string), m["refresh_token"].(string), m["openid"].(string)

	ui := h.get(PathOAuthUserInfo, url.Values{"access_token": {at}, "openid": {openid}, "lang": {"zh_CN"}})
	if ui["openid"] != openid || ui["nickname"] != "gus" || ui["unionid"] != UnionID(platform, "gus") || ui["headimgurl"] == "" {
		t.Fatalf("userinfo: %v", ui)
	}
	if p, ok := ui["privilege"].([]any); !ok || len(p) != 0 {
		t.Fatalf("privilege: %v", ui["privilege"])
	}
	wantErr(t, h.get(PathOAuthUserInfo, url.Values{"access_token": {at}, "openid": {OpenID(appOA, "other")}}), 40003)
	wantErr(t, h.get(PathOAuthUserInfo, url.Values{"access_token": {"nope"}, "openid": {openid}}), 40001)
	wantErr(t, h.get(PathOAuthUserInfo, url.Values{"openid": {openid}}), 41001)

	base := h.exchange(appOA, h.simUserCode(PathOAuthAuthorize, appOA, ScopeBase, "hal"))
	wantErr(t, h.get(PathOAuthUserInfo, url.Values{"access_token": {base["access_token"].(string)}, "openid": {base["openid"].(string)}}), 48001)

	wantErr(t, h.get(PathOAuthAuth, url.Values{"access_token": {at}, "openid": {openid}}), 0)
	wantErr(t, h.get(PathOAuthAuth, url.Values{"access_token": {at}, "openid": {"x"}}), 40003)

	h.sim.Advance(7200 * time.Second)
	wantErr(t, h.get(PathOAuthAuth, url.Values{"access_token": {at}, "openid": {openid}}), 42001)
	wantErr(t, h.get(PathOAuthUserInfo, url.Values{"access_token": {at}, "openid": {openid}}), 42001)

	r := h.get(PathOAuthRefreshToken, url.Values{"appid": {appOA}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if r["access_token"] == at || r["refresh_token"] != rt || r["openid"] != openid || r["scope"] != ScopeUserInfo {
		t.Fatalf("refresh: %v", r)
	}
	wantErr(t, h.get(PathOAuthAuth, url.Values{"access_token": {r["access_token"].(string)}, "openid": {openid}}), 0)
	wantErr(t, h.get(PathOAuthRefreshToken, url.Values{"appid": {appWeb}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}), 40030)
	wantErr(t, h.get(PathOAuthRefreshToken, url.Values{"appid": {appOA}, "grant_type": {"refresh_token"}, "refresh_token": {"nope"}}), 40030)
	wantErr(t, h.get(PathOAuthRefreshToken, url.Values{"appid": {appOA}, "grant_type": {"x"}, "refresh_token": {rt}}), 40002)
	h.sim.Advance(30 * 24 * time.Hour)
	wantErr(t, h.get(PathOAuthRefreshToken, url.Values{"appid": {appOA}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}), 42002)
}

func TestOAuthCodeKinds(t *testing.T) {
	h := newKindsHarness(t, Options{})
	for _, tt := range []struct {
		appid, scope string
		snapshot     bool
		ok           bool
	}{
		{appOA, ScopeBase, false, true},
		{appOA, ScopeUserInfo, true, true},
		{appOA, ScopeLogin, false, false},
		{appWeb, ScopeLogin, false, true},
		{appWeb, ScopeLogin, true, false},
		{appMob, ScopeUserInfo, false, true},
		{appMob, ScopeBase, false, false},
		{appA, ScopeBase, false, false},
	} {
		_, err := h.sim.OAuthCode(tt.appid, "ivy", tt.scope, tt.snapshot)
		if (err == nil) != tt.ok || err != nil && wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("OAuthCode(%s, %s, snapshot %v) = %v", tt.appid, tt.scope, tt.snapshot, err)
		}
	}
	// wx.login is for mini programs only; /sim/login of an official account is a 400.
	if _, err := h.sim.Login(appOA, "ivy"); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Errorf("Login(official account) = %v", err)
	}
	h.ctl(http.MethodPost, "/sim/login", map[string]string{"appid": appWeb, "user": "ivy"}, http.StatusBadRequest)
}

func TestAppKinds(t *testing.T) {
	for _, tt := range []struct {
		parse func(string) (App, error)
		kind  wxlogin.AppKind
	}{
		{ParseOfficialAccount, wxlogin.KindOfficialAccount},
		{ParseWebsite, wxlogin.KindWebsite},
		{ParseMobileApp, wxlogin.KindMobileApp},
	} {
		a, err := tt.parse("wx1:s3cret:open1")
		if err != nil || a != (App{ID: "wx1", Secret: "s3cret", Platform: "open1", Kind: tt.kind}) {
			t.Errorf("parse %s: %+v %v", tt.kind, a, err)
		}
		if _, err := tt.parse("wx1"); err == nil {
			t.Errorf("parse %s accepted a bad app", tt.kind)
		}
	}
	h := newKindsHarness(t, Options{})
	if err := h.sim.AddApp(App{ID: "wxbad", Secret: "s", Kind: "tv"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Errorf("AddApp(bad kind) = %v", err)
	}
	h.ctl(http.MethodPost, "/sim/apps", map[string]string{"appid": "wxweb2", "secret": "s2", "kind": "website"}, http.StatusCreated)
	h.ctl(http.MethodPost, "/sim/apps", map[string]string{"appid": "wxweb3", "secret": "s3", "kind": "tv"}, http.StatusBadRequest)
	apps := h.ctl(http.MethodGet, "/sim/apps", nil, http.StatusOK)["apps"].([]any)
	kinds := map[string]any{}
	for _, a := range apps {
		m := a.(map[string]any)
		kinds[m["appid"].(string)] = m["kind"]
	}
	if kinds["wxweb2"] != "website" || kinds[appA] != "miniprogram" || kinds[appOA] != "official_account" || kinds[appMob] != "mobile_app" {
		t.Errorf("kinds listed: %v", kinds)
	}
	if status, _, _ := h.visit(PathQRConnect, authQ("wxweb2", ScopeLogin, "sim_user", "x")); status != http.StatusFound {
		t.Errorf("qrconnect of a website added at run time: %d", status)
	}
}

func TestQRConnectPage(t *testing.T) {
	h := newKindsHarness(t, Options{})
	status, _, body := h.visit(PathQRConnect, authQ(appWeb, ScopeLogin))
	if status != http.StatusOK || !strings.Contains(body, "Scan to log in") || !strings.Contains(body, `action="/connect/qrconnect"`) ||
		!strings.HasSuffix(strings.TrimSpace(body), "</html>") {
		t.Fatalf("qrconnect page: %d %s", status, body)
	}
}
