package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// oauthState is the web OAuth side of a fakeWeChat: codes carry their scope; a snapshot code a
// virtual openid; exchangeErr and userInfoErr play WeChat's faults.
type oauthState struct {
	scopes      map[string]string // code → scope
	snapshot    map[string]bool
	exchangeErr error
	userInfoErr error
	userInfos   int
}

// authorize plays the consent page (or the SDK's SendAuth) for device user at scope and returns
// the code WeChat hands back.
func (f *fakeWeChat) authorize(user, scope string, snapshot bool) string {
	c := f.login(user)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.oauth.scopes == nil {
		f.oauth.scopes, f.oauth.snapshot = map[string]string{}, map[string]bool{}
	}
	f.oauth.scopes[c], f.oauth.snapshot[c] = scope, snapshot
	return c
}

func (f *fakeWeChat) OAuthExchange(_ context.Context, code string) (*wechat.OAuthToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.oauth.exchangeErr != nil {
		return nil, f.oauth.exchangeErr
	}
	user, ok := f.codes[code]
	scope := f.oauth.scopes[code]
	switch {
	case !ok || scope == "":
		return nil, &wechat.APIError{Code: wechat.CodeInvalidCode, API: "/sns/oauth2/access_token"}
	case f.used[code]:
		return nil, &wechat.APIError{Code: wechat.CodeCodeUsed, API: "/sns/oauth2/access_token"}
	}
	f.used[code] = true
	if f.oauth.snapshot[code] {
		return &wechat.OAuthToken{AccessToken: "at-snap", OpenID: "o-virtual-" + code, Scope: scope, SnapshotUser: true}, nil
	}
	t := &wechat.OAuthToken{AccessToken: wxlogin.Secret("at-" + scope + "-" + user), RefreshToken: "rt", ExpiresIn: 7200,
		OpenID: f.openid(user), Scope: scope}
	if f.platform && scope != wechat.ScopeBase {
		t.UnionID = "u-" + user
	}
	return t, nil
}

func (f *fakeWeChat) OAuthUserInfo(_ context.Context, at wxlogin.Secret, openid string) (*wechat.OAuthUserProfile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oauth.userInfos++
	if f.oauth.userInfoErr != nil {
		return nil, f.oauth.userInfoErr
	}
	scope, user, ok := strings.Cut(strings.TrimPrefix(at.Reveal(), "at-"), "-")
	if !ok || scope == wechat.ScopeBase {
		return nil, &wechat.APIError{Code: 48001, API: "/sns/userinfo"}
	}
	p := &wechat.OAuthUserProfile{OpenID: openid, Nickname: "WeChat " + user, HeadImgURL: "https://thirdwx.qlogo.cn/" + user}
	if f.platform {
		p.UnionID = "u-" + user
	}
	return p, nil
}

// oauth logs device user in at appid through the web OAuth door with a fresh code of scope.
func (e *ruleEnv) oauth(appid, user, scope string) (*Login, error) {
	code := e.apps[appid].authorize(user, scope, false)
	return e.svc.LoginOAuth(context.Background(), OAuthLogin{AppID: appid, Code: code}, Meta{IP: "10.2.2.2", UserAgent: "browser"})
}

func kindApp(appid string, platform bool, kind wxlogin.AppKind) *fakeWeChat {
	f := newFakeWeChat(appid, platform)
	f.kind = kind
	return f
}

// The rules of the web OAuth door: one person through every door of one open platform, separate
// users without one, the merge policy, snapshot users, replays and WeChat's faults. wxa (mini
// program), oa (official account), web (website) and app (mobile app) share an open platform; oa2
// (official account) and mp2 (mini program) have none.
func TestOAuthRules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, e *ruleEnv)
	}{
		{"the mini program, the official account and the website are one user with three identities", func(t *testing.T, e *ruleEnv) {
			mp, err := e.wechat("wxa", "amy", "")
			if err != nil {
				t.Fatal(err)
			}
			oa, err := e.oauth("oa", "amy", wechat.ScopeUserInfo)
			if err != nil || oa.NewUser || oa.User.ID != mp.User.ID {
				t.Fatalf("official account: %v, %+v", err, oa)
			}
			web, err := e.oauth("web", "amy", wechat.ScopeLogin)
			if err != nil || web.NewUser || web.User.ID != mp.User.ID {
				t.Fatalf("website: %v, %+v", err, web)
			}
			ids, err := e.store.IdentitiesByUser(ctx, mp.User.ID)
			if err != nil || len(ids) != 3 {
				t.Fatalf("identities: %v, %d", err, len(ids))
			}
			kinds := map[string]wxlogin.AppKind{}
			for _, id := range ids {
				kinds[id.AppID] = id.Kind
			}
			if kinds["wxa"] != "" || kinds["oa"] != wxlogin.KindOfficialAccount || kinds["web"] != wxlogin.KindWebsite {
				t.Fatalf("identity kinds %v", kinds)
			}
			for _, id := range ids {
				if id.UnionID != "u-amy" {
					t.Fatalf("identity %s has unionid %q", id.AppID, id.UnionID)
				}
			}
			u, _ := e.store.User(ctx, mp.User.ID)
			if u.UnionID != "u-amy" || u.Nickname != "WeChat amy" || u.AvatarURL != "https://thirdwx.qlogo.cn/amy" {
				t.Fatalf("user %+v", u)
			}
			if oa.Session.Method != MethodOAuth || oa.Session.AppID != "oa" || oa.AccessToken == "" || oa.RefreshToken == "" {
				t.Fatalf("session %+v", oa.Session)
			}
			if p := e.principal(t, web); p.UserID != mp.User.ID {
				t.Fatalf("website token's user %s", p.UserID)
			}
		}},
		{"a mobile app's SDK code joins the same user", func(t *testing.T, e *ruleEnv) {
			web, _ := e.oauth("web", "bob", wechat.ScopeLogin)
			app, err := e.oauth("app", "bob", wechat.ScopeUserInfo)
			if err != nil || app.User.ID != web.User.ID || app.NewUser {
				t.Fatalf("mobile app: %v, %+v", err, app)
			}
		}},
		{"the website first, then the mini program finds the same user", func(t *testing.T, e *ruleEnv) {
			web, err := e.oauth("web", "cid", wechat.ScopeLogin)
			if err != nil || !web.NewUser {
				t.Fatalf("website: %v", err)
			}
			mp, err := e.wechat("wxa", "cid", "")
			if err != nil || mp.User.ID != web.User.ID {
				t.Fatalf("mini program: %v, %s want %s", err, mp.User.ID, web.User.ID)
			}
		}},
		{"apps without a platform stay separate", func(t *testing.T, e *ruleEnv) {
			mp, _ := e.wechat("wxa", "dan", "")
			oa2, err := e.oauth("oa2", "dan", wechat.ScopeUserInfo)
			if err != nil || !oa2.NewUser || oa2.User.ID == mp.User.ID || oa2.User.UnionID != "" {
				t.Fatalf("oa2: %v, %+v", err, oa2.User)
			}
			mp2, _ := e.wechat("mp2", "dan", "")
			if mp2.User.ID == oa2.User.ID || mp2.User.ID == mp.User.ID {
				t.Fatal("platform-less apps joined")
			}
		}},
		{"snsapi_base without a prior grant has no unionid and reads no profile; a later userinfo grant merges", func(t *testing.T, e *ruleEnv) {
			mp, _ := e.wechat("wxa", "eli", "")
			base, err := e.oauth("oa", "eli", wechat.ScopeBase)
			if err != nil || base.User.ID == mp.User.ID || e.apps["oa"].oauth.userInfos != 0 {
				t.Fatalf("base: %v; joined %v; userinfo calls %d", err, base.User.ID == mp.User.ID, e.apps["oa"].oauth.userInfos)
			}
			full, err := e.oauth("oa", "eli", wechat.ScopeUserInfo)
			if err != nil || full.User.ID != mp.User.ID || e.exists(t, base.User.ID) {
				t.Fatalf("userinfo: %v; user %s want %s; bare user left %v", err, full.User.ID, mp.User.ID, e.exists(t, base.User.ID))
			}
			if ev, _ := e.store.AuditEvents(ctx, wxlogin.AuditFilter{Type: "user.merge"}); len(ev) == 0 {
				evs, _ := e.store.AuditEvents(ctx, wxlogin.AuditFilter{})
				types := []string{}
				for _, x := range evs {
					types = append(types, x.Type)
				}
				t.Fatalf("no merge event among %v", types)
			}
		}},
		{"a user's own nickname is never overwritten by WeChat's", func(t *testing.T, e *ruleEnv) {
			mp, _ := e.wechat("wxa", "fay", "")
			u, _ := e.store.User(ctx, mp.User.ID)
			u.Nickname = "Fay herself"
			e.store.Update(ctx, func(tx wxlogin.Tx) error { return tx.UpdateUser(ctx, u) })
			l, err := e.oauth("web", "fay", wechat.ScopeLogin)
			if err != nil || l.User.Nickname != "Fay herself" {
				t.Fatalf("%v, nickname %q", err, l.User.Nickname)
			}
		}},
		{"the website finds the account user of a bound mini program by unionid", func(t *testing.T, e *ruleEnv) {
			acc := e.signUp(t, "gil")
			if _, err := e.wechat("wxa", "gil", "gil"); err != nil {
				t.Fatal(err)
			}
			l, err := e.oauth("web", "gil", wechat.ScopeLogin)
			if err != nil || l.User.ID != acc.ID || l.Username != "gil" || l.NewUser {
				t.Fatalf("website: %v, %+v", err, l)
			}
		}},
		{"a snapshot visitor is refused and nothing is created", func(t *testing.T, e *ruleEnv) {
			code := e.apps["oa"].authorize("hal", wechat.ScopeBase, true)
			before, _ := e.store.Users(ctx, wxlogin.UserFilter{})
			_, err := e.svc.LoginOAuth(ctx, OAuthLogin{AppID: "oa", Code: code}, Meta{IP: "10.2.2.2"})
			if wxlogin.ErrorCode(err) != wxlogin.ESNAPSHOTUSER {
				t.Fatalf("snapshot: %v", err)
			}
			after, _ := e.store.Users(ctx, wxlogin.UserFilter{})
			if len(after) != len(before) {
				t.Fatalf("users %d → %d", len(before), len(after))
			}
			if _, err := e.svc.LoginOAuth(ctx, OAuthLogin{AppID: "oa", Code: code}, Meta{IP: "10.2.2.2"}); wxlogin.ErrorCode(err) != wxlogin.EINVALIDCODE {
				t.Fatalf("replayed snapshot code: %v", err)
			}
		}},
		{"a retried code is answered from the first exchange; another client's replay is refused", func(t *testing.T, e *ruleEnv) {
			code := e.apps["web"].authorize("ivy", wechat.ScopeLogin, false)
			m := Meta{IP: "10.3.3.3", UserAgent: "b"}
			a, err := e.svc.LoginOAuth(ctx, OAuthLogin{AppID: "web", Code: code}, m)
			if err != nil {
				t.Fatal(err)
			}
			calls := e.apps["web"].calls
			b, err := e.svc.LoginOAuth(ctx, OAuthLogin{AppID: "web", Code: code}, m)
			if err != nil || b.User.ID != a.User.ID || b.Session.ID == a.Session.ID || e.apps["web"].calls != calls {
				t.Fatalf("retry: %v; WeChat calls %d → %d", err, calls, e.apps["web"].calls)
			}
			if _, err := e.svc.LoginOAuth(ctx, OAuthLogin{AppID: "web", Code: code}, Meta{IP: "10.9.9.9", UserAgent: "b"}); wxlogin.ErrorCode(err) != wxlogin.EINVALIDCODE {
				t.Fatalf("other client: %v", err)
			}
		}},
		{"a used or unknown code is invalid_code", func(t *testing.T, e *ruleEnv) {
			if _, err := e.svc.LoginOAuth(ctx, OAuthLogin{AppID: "oa", Code: "nope"}, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EINVALIDCODE {
				t.Fatalf("unknown: %v", err)
			}
		}},
		{"a mini program's appid, an unknown appid or an empty code is invalid_request", func(t *testing.T, e *ruleEnv) {
			for _, in := range []OAuthLogin{{AppID: "wxa", Code: "c"}, {AppID: "nope", Code: "c"}, {AppID: "oa", Code: ""}} {
				if _, err := e.svc.LoginOAuth(ctx, in, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
					t.Fatalf("%+v: %v", in, err)
				}
			}
		}},
		{"the door is refused to a disabled user", func(t *testing.T, e *ruleEnv) {
			l, _ := e.oauth("web", "jon", wechat.ScopeLogin)
			u, _ := e.store.User(ctx, l.User.ID)
			u.Disabled = true
			e.store.Update(ctx, func(tx wxlogin.Tx) error { return tx.UpdateUser(ctx, u) })
			if _, err := e.oauth("web", "jon", wechat.ScopeLogin); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("disabled: %v", err)
			}
		}},
		{"WeChat down is upstream_unavailable with a retry delay; a userinfo fault still logs in", func(t *testing.T, e *ruleEnv) {
			e.apps["oa"].oauth.exchangeErr = &wechat.APIError{Code: -1, API: "/sns/oauth2/access_token"}
			_, err := e.oauth("oa", "kim", wechat.ScopeUserInfo)
			var we *wxlogin.Error
			if !errors.As(err, &we) || we.Code != wxlogin.EUPSTREAMUNAVAIL || we.RetryAfter <= 0 {
				t.Fatalf("exchange down: %v", err)
			}
			e.apps["oa"].oauth.exchangeErr = nil
			e.apps["oa"].oauth.userInfoErr = &wechat.APIError{Code: -1, API: "/sns/userinfo"}
			l, err := e.oauth("oa", "kim", wechat.ScopeUserInfo)
			if err != nil || l.User.UnionID != "u-kim" || l.User.Nickname != "" {
				t.Fatalf("userinfo down: %v, %+v", err, l)
			}
		}},
		{"failures and successes are audited with the method and kind", func(t *testing.T, e *ruleEnv) {
			e.oauth("app", "lea", wechat.ScopeUserInfo)
			e.svc.LoginOAuth(ctx, OAuthLogin{AppID: "app", Code: "unknown"}, Meta{})
			for typ, want := range map[string]string{"login.success": `"kind":"mobile_app"`, "login.failure": `"reason":"invalid_code"`} {
				evs, _ := e.store.AuditEvents(ctx, wxlogin.AuditFilter{Type: typ})
				if len(evs) != 1 || !strings.Contains(evs[0].Detail, want) || !strings.Contains(evs[0].Detail, MethodOAuth) {
					t.Fatalf("%s: %d events %v", typ, len(evs), fmt.Sprint(evs))
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newRuleEnv(t, newFakeWeChat("wxa", true), kindApp("oa", true, wxlogin.KindOfficialAccount),
				kindApp("web", true, wxlogin.KindWebsite), kindApp("app", true, wxlogin.KindMobileApp),
				kindApp("oa2", false, wxlogin.KindOfficialAccount), newFakeWeChat("mp2", false)))
		})
	}
}
