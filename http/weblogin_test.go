package http_test

import (
	"encoding/json"
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
