package auth

import (
	"context"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The find-or-create-or-merge rules of the WeChat doors and of binding, on SQLite with a fake
// WeChat: wxa and wxb share an open platform (their sessions carry a unionid), wxc has none.
func TestIdentityRules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, e *ruleEnv)
	}{
		{"a first login creates a user, the next one finds it", func(t *testing.T, e *ruleEnv) {
			a, err := e.wechat("wxa", "amy", "")
			if err != nil || !a.NewUser {
				t.Fatalf("first login: %v, new %v", err, a != nil && a.NewUser)
			}
			b, err := e.wechat("wxa", "amy", "")
			if err != nil || b.NewUser || b.User.ID != a.User.ID {
				t.Fatalf("second login: %v, user %s want %s", err, b.User.ID, a.User.ID)
			}
		}},
		{"a unionid joins the apps of one open platform", func(t *testing.T, e *ruleEnv) {
			a, _ := e.wechat("wxa", "ben", "")
			b, err := e.wechat("wxb", "ben", "")
			if err != nil || b.NewUser || b.User.ID != a.User.ID || b.User.UnionID != "u-ben" {
				t.Fatalf("wxb: %v, %+v", err, b.User)
			}
		}},
		{"without a unionid each app has its own user", func(t *testing.T, e *ruleEnv) {
			a, _ := e.wechat("wxa", "cat", "")
			c, err := e.wechat("wxc", "cat", "")
			if err != nil || !c.NewUser || c.User.ID == a.User.ID {
				t.Fatalf("wxc: %v, %+v", err, c.User)
			}
		}},
		{"credentials bind a new identity to the account", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "dora")
			l, err := e.wechat("wxa", "dora", "dora")
			if err != nil || l.User.ID != u.ID || l.NewUser || l.Username != "dora" || l.User.UnionID != "u-dora" {
				t.Fatalf("bind on login: %v, %+v", err, l)
			}
		}},
		{"credentials merge a bare WeChat user into the account", func(t *testing.T, e *ruleEnv) {
			bare, _ := e.wechat("wxa", "eve", "")
			u := e.signUp(t, "eve")
			l, err := e.wechat("wxa", "eve", "eve")
			if err != nil || l.User.ID != u.ID || e.userOf(t, "wxa", "eve") != u.ID || e.exists(t, bare.User.ID) {
				t.Fatalf("merge: %v; identity at %s; bare user left: %v", err, e.userOf(t, "wxa", "eve"), e.exists(t, bare.User.ID))
			}
			if _, err := e.svc.Authenticate(ctx, bare.AccessToken.Reveal()); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("the merged user's session still works: %v", err)
			}
		}},
		{"credentials never take an identity from a user with an account", func(t *testing.T, e *ruleEnv) {
			owner := e.signUp(t, "fay")
			if _, err := e.wechat("wxa", "fay", "fay"); err != nil {
				t.Fatal(err)
			}
			e.signUp(t, "gus")
			_, err := e.wechat("wxa", "fay", "gus")
			if wxlogin.ErrorCode(err) != wxlogin.ECONFLICT || e.userOf(t, "wxa", "fay") != owner.ID {
				t.Fatalf("bind to gus: %v; identity at %s", err, e.userOf(t, "wxa", "fay"))
			}
		}},
		{"one identity per app per user", func(t *testing.T, e *ruleEnv) {
			e.signUp(t, "hal")
			if _, err := e.wechat("wxc", "hal", "hal"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.wechat("wxc", "hal2", "hal"); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("second identity at wxc: %v", err)
			}
		}},
		{"BindWeChat merges a bare holder and refuses another's identity", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "ivy")
			l, _ := e.svc.LoginPassword(ctx, "", "ivy", "correct horse battery", Meta{})
			p := e.principal(t, l)
			bare, _ := e.wechat("wxc", "ivy", "")
			prof, err := e.svc.BindWeChat(ctx, p, "wxc", e.apps["wxc"].login("ivy"), Meta{})
			if err != nil || len(prof.Identities) != 1 || e.exists(t, bare.User.ID) {
				t.Fatalf("bind: %v; bare left %v", err, e.exists(t, bare.User.ID))
			}
			e.signUp(t, "jon")
			if _, err := e.wechat("wxa", "jon", "jon"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.BindWeChat(ctx, p, "wxa", e.apps["wxa"].login("jon"), Meta{}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("bind jon's identity: %v", err)
			}
			if e.userOf(t, "wxc", "ivy") != u.ID {
				t.Fatal("ivy's identity moved")
			}
		}},
		{"unbinding the last way to log in is refused", func(t *testing.T, e *ruleEnv) {
			l, _ := e.wechat("wxa", "kim", "")
			if err := e.svc.UnbindWeChat(ctx, e.principal(t, l), "wxa", Meta{}); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("unbind the only identity: %v", err)
			}
			if err := e.svc.UnbindWeChat(ctx, e.principal(t, l), "wxb", Meta{}); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Fatalf("unbind a missing identity: %v", err)
			}
		}},
		{"unbinding takes the app's sessions and the unionid along", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "lea")
			w, err := e.wechat("wxa", "lea", "lea")
			if err != nil {
				t.Fatal(err)
			}
			pw, _ := e.svc.LoginPassword(ctx, "", "lea", "correct horse battery", Meta{})
			if err := e.svc.UnbindWeChat(ctx, e.principal(t, pw), "wxa", Meta{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Authenticate(ctx, w.AccessToken.Reveal()); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("the unbound app's session still works: %v", err)
			}
			if _, err := e.svc.Authenticate(ctx, pw.AccessToken.Reveal()); err != nil {
				t.Fatalf("the password session ended: %v", err)
			}
			if got, _ := e.store.User(ctx, u.ID); got.UnionID != "" {
				t.Fatalf("unionid %q kept", got.UnionID)
			}
			if l, err := e.wechat("wxa", "lea", ""); err != nil || l.User.ID == u.ID {
				t.Fatalf("the device logs in as a new user: %v", err)
			}
		}},
		{"a unionid learned later links the user", func(t *testing.T, e *ruleEnv) {
			e.apps["wxa"].platform = false
			a, _ := e.wechat("wxa", "max", "")
			if a.User.UnionID != "" {
				t.Fatal("unionid without a platform")
			}
			e.apps["wxa"].platform = true
			b, err := e.wechat("wxa", "max", "")
			if err != nil || b.User.ID != a.User.ID || b.User.UnionID != "u-max" {
				t.Fatalf("learned: %v %+v", err, b.User)
			}
			id, _ := e.store.Identity(ctx, "wxa", e.apps["wxa"].openid("max"))
			if id.UnionID != "u-max" {
				t.Fatalf("identity unionid %q", id.UnionID)
			}
		}},
		{"a unionid learned later merges a bare user of another app", func(t *testing.T, e *ruleEnv) {
			e.apps["wxa"].platform = false
			a, _ := e.wechat("wxa", "ned", "")
			b, _ := e.wechat("wxb", "ned", "") // wxb knows the unionid: another user for now
			if a.User.ID == b.User.ID {
				t.Fatal("joined without a unionid")
			}
			e.apps["wxa"].platform = true
			l, err := e.wechat("wxa", "ned", "")
			if err != nil || e.userOf(t, "wxa", "ned") != e.userOf(t, "wxb", "ned") || l.User.ID != e.userOf(t, "wxb", "ned") {
				t.Fatalf("after learning: %v; wxa at %s, wxb at %s", err, e.userOf(t, "wxa", "ned"), e.userOf(t, "wxb", "ned"))
			}
			if e.exists(t, a.User.ID) && e.exists(t, b.User.ID) {
				t.Fatal("both users remain")
			}
		}},
		{"a unionid conflict between two users with accounts changes nothing", func(t *testing.T, e *ruleEnv) {
			e.apps["wxa"].platform = false
			e.signUp(t, "ola")
			a, _ := e.wechat("wxa", "ola", "ola")
			e.signUp(t, "ola2")
			b, _ := e.wechat("wxb", "ola", "ola2")
			e.apps["wxa"].platform = true
			l, err := e.wechat("wxa", "ola", "")
			if err != nil || l.User.ID != a.User.ID || e.userOf(t, "wxb", "ola") != b.User.ID {
				t.Fatalf("conflict: %v; user %s", err, l.User.ID)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newRuleEnv(t, newFakeWeChat("wxa", true), newFakeWeChat("wxb", true), newFakeWeChat("wxc", false)))
		})
	}
}

// The lock-out and session rules.
func TestAccountAndSessionRules(t *testing.T) {
	ctx := context.Background()
	const pw = "correct horse battery"
	tests := []struct {
		name string
		run  func(t *testing.T, e *ruleEnv)
	}{
		{"three wrong passwords lock the account, even against the right one, until the lock ends", func(t *testing.T, e *ruleEnv) {
			e.signUp(t, "pia")
			for i := 0; i < 3; i++ {
				if _, err := e.svc.LoginPassword(ctx, "", "pia", "wrong password", Meta{IP: "10.0.0.1"}); wxlogin.ErrorCode(err) != wxlogin.ECREDENTIALS {
					t.Fatalf("wrong %d: %v", i, err)
				}
			}
			if _, err := e.svc.LoginPassword(ctx, "", "PIA", pw, Meta{IP: "10.0.0.2"}); wxlogin.ErrorCode(err) != wxlogin.ECREDENTIALS {
				t.Fatalf("right password while locked: %v", err)
			}
			e.advance(10 * time.Minute)
			if _, err := e.svc.LoginPassword(ctx, "", "pia", pw, Meta{IP: "10.0.0.2"}); err != nil {
				t.Fatalf("after the lock: %v", err)
			}
		}},
		{"a success resets the count of failures", func(t *testing.T, e *ruleEnv) {
			e.signUp(t, "quy")
			for round := 0; round < 2; round++ {
				for i := 0; i < 2; i++ {
					e.svc.LoginPassword(ctx, "", "quy", "wrong password", Meta{})
				}
				if _, err := e.svc.LoginPassword(ctx, "", "quy", pw, Meta{}); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}},
		{"a refresh token works once; its reuse ends the session", func(t *testing.T, e *ruleEnv) {
			e.signUp(t, "ray")
			l, _ := e.svc.LoginPassword(ctx, "", "ray", pw, Meta{})
			next, err := e.svc.Refresh(ctx, l.RefreshToken.Reveal(), Meta{})
			if err != nil || next.Session.ID != l.Session.ID {
				t.Fatalf("refresh: %v", err)
			}
			if _, err := e.svc.Refresh(ctx, l.RefreshToken.Reveal(), Meta{}); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("reuse: %v", err)
			}
			if _, err := e.svc.Refresh(ctx, next.RefreshToken.Reveal(), Meta{}); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("the session survived a reuse: %v", err)
			}
			if _, err := e.svc.Authenticate(ctx, next.AccessToken.Reveal()); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("access after a reuse: %v", err)
			}
		}},
		{"logout ends one session, logout-all every one", func(t *testing.T, e *ruleEnv) {
			e.signUp(t, "sue")
			a, _ := e.svc.LoginPassword(ctx, "", "sue", pw, Meta{})
			b, _ := e.svc.LoginPassword(ctx, "", "sue", pw, Meta{})
			c, _ := e.svc.LoginPassword(ctx, "", "sue", pw, Meta{})
			if err := e.svc.Logout(ctx, e.principal(t, a), Meta{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Authenticate(ctx, a.AccessToken.Reveal()); err == nil {
				t.Fatal("a still works")
			}
			if err := e.svc.LogoutAll(ctx, e.principal(t, b), Meta{}); err != nil {
				t.Fatal(err)
			}
			for _, l := range []*Login{b, c} {
				if _, err := e.svc.Authenticate(ctx, l.AccessToken.Reveal()); err == nil {
					t.Fatal("a session survived logout-all")
				}
			}
		}},
		{"a session idle past its lifetime ends; a refresh slides it", func(t *testing.T, e *ruleEnv) {
			e.signUp(t, "tom")
			l, _ := e.svc.LoginPassword(ctx, "", "tom", pw, Meta{})
			e.advance(20 * 24 * time.Hour)
			next, err := e.svc.Refresh(ctx, l.RefreshToken.Reveal(), Meta{})
			if err != nil {
				t.Fatal(err)
			}
			e.advance(20 * 24 * time.Hour) // 40 days after login, 20 after the refresh
			if _, err := e.svc.Refresh(ctx, next.RefreshToken.Reveal(), Meta{}); err != nil {
				t.Fatalf("slid session: %v", err)
			}
			e.signUp(t, "uma")
			idle, _ := e.svc.LoginPassword(ctx, "", "uma", pw, Meta{})
			e.advance(31 * 24 * time.Hour)
			if _, err := e.svc.Refresh(ctx, idle.RefreshToken.Reveal(), Meta{}); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("idle session refreshed: %v", err)
			}
		}},
		{"a disabled user cannot log in and its sessions end", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "val")
			l, _ := e.svc.LoginPassword(ctx, "", "val", pw, Meta{})
			if err := e.svc.SetDisabled(ctx, "admin:test", u.ID, true, Meta{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Authenticate(ctx, l.AccessToken.Reveal()); err == nil {
				t.Fatal("a disabled user's session works")
			}
			if _, err := e.svc.LoginPassword(ctx, "", "val", pw, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("disabled login: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newRuleEnv(t, newFakeWeChat("wxa", true)))
		})
	}
}
