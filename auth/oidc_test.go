package auth

import (
	"context"
	"testing"

	"github.com/wxlogin/wxlogin"
)

// The sessions the OpenID Connect provider starts, refreshes and revokes, and its password check.
func TestOIDCSessions(t *testing.T) {
	ctx := context.Background()
	start := func(t *testing.T, e *ruleEnv, userID, client string, refresh bool) *wxlogin.OIDCSessionTokens {
		t.Helper()
		toks, err := e.svc.OIDC().StartSession(ctx, wxlogin.OIDCNewSession{UserID: userID, ClientID: client, Method: "password",
			AMR: []string{"pwd"}, RefreshToken: refresh, IP: "10.1.2.3", UserAgent: "browser"})
		if err != nil {
			t.Fatal(err)
		}
		return toks
	}
	tests := []struct {
		name string
		run  func(t *testing.T, e *ruleEnv)
	}{
		{"a session shows its client and its access token is the client's", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "amy")
			toks := start(t, e, u.ID, "web", true)
			sess, err := e.store.Session(ctx, toks.SessionID)
			if err != nil || sess.AppID != "web" || sess.UserID != u.ID || sess.Method != "password" || sess.IP != "10.1.2.3" {
				t.Fatalf("session %+v, %v", sess, err)
			}
			p, err := e.svc.OIDC().Authenticate(ctx, toks.AccessToken.Reveal())
			if err != nil || p.ClientID != "web" || p.UserID != u.ID || p.SessionID != toks.SessionID {
				t.Fatalf("principal %+v, %v", p, err)
			}
			in, err := e.svc.Introspect(ctx, toks.AccessToken.Reveal())
			if err != nil || !in.Active || in.Audience != "web" {
				t.Fatalf("introspection %+v, %v", in, err)
			}
			if toks.RefreshToken == "" {
				t.Fatal("offline_access asked, no refresh token")
			}
		}},
		{"no refresh token unless asked", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "ben")
			if toks := start(t, e, u.ID, "web", false); toks.RefreshToken != "" || toks.AccessToken == "" {
				t.Fatalf("tokens %+v", toks)
			}
		}},
		{"unknown or disabled users and a missing client get no session", func(t *testing.T, e *ruleEnv) {
			_, err := e.svc.OIDC().StartSession(ctx, wxlogin.OIDCNewSession{UserID: "usr_missing", ClientID: "web"})
			if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Fatalf("unknown user: %v", err)
			}
			u := e.signUp(t, "cat")
			if _, err := e.svc.OIDC().StartSession(ctx, wxlogin.OIDCNewSession{UserID: u.ID}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("no client: %v", err)
			}
			if err := e.svc.SetDisabled(ctx, "admin:t", u.ID, true, Meta{}); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.OIDC().StartSession(ctx, wxlogin.OIDCNewSession{UserID: u.ID, ClientID: "web"})
			if wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("disabled user: %v", err)
			}
		}},
		{"refresh rotates within the client; another client's refresh is refused and spends nothing", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "dan")
			toks := start(t, e, u.ID, "web", true)
			if _, err := e.svc.OIDC().Refresh(ctx, "other", toks.RefreshToken, "", ""); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("other client's refresh: %v", err)
			}
			next, err := e.svc.OIDC().Refresh(ctx, "web", toks.RefreshToken, "", "")
			if err != nil || next.SessionID != toks.SessionID || next.RefreshToken == "" || next.RefreshToken == toks.RefreshToken {
				t.Fatalf("refresh: %+v, %v", next, err)
			}
			if p, err := e.svc.OIDC().Authenticate(ctx, next.AccessToken.Reveal()); err != nil || p.ClientID != "web" {
				t.Fatalf("refreshed access token: %+v, %v", p, err)
			}
			// The spent token again: refused, and the session is revoked.
			if _, err := e.svc.OIDC().Refresh(ctx, "web", toks.RefreshToken, "", ""); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("reuse: %v", err)
			}
			if _, err := e.svc.OIDC().Authenticate(ctx, next.AccessToken.Reveal()); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("session alive after reuse: %v", err)
			}
			if _, err := e.svc.OIDC().Refresh(ctx, "", next.RefreshToken, "", ""); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("no client: %v", err)
			}
		}},
		{"revoke ends the session once, and a missing one is no error", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "eve")
			toks := start(t, e, u.ID, "web", true)
			for range 2 {
				if err := e.svc.OIDC().RevokeSession(ctx, toks.SessionID, "oidc.logout"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.svc.OIDC().Authenticate(ctx, toks.AccessToken.Reveal()); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("revoked session authenticates: %v", err)
			}
			if _, err := e.svc.OIDC().Refresh(ctx, "web", toks.RefreshToken, "", ""); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
				t.Fatalf("revoked session refreshes: %v", err)
			}
			if err := e.svc.OIDC().RevokeSession(ctx, "ses_missing", "oidc.logout"); err != nil {
				t.Fatalf("missing session: %v", err)
			}
			events, err := e.store.AuditEvents(ctx, wxlogin.AuditFilter{UserID: u.ID, Type: "session.revoke"})
			if err != nil || len(events) != 1 {
				t.Fatalf("want one session.revoke event, got %d (%v)", len(events), err)
			}
		}},
		{"the password check of the login page starts no session", func(t *testing.T, e *ruleEnv) {
			u := e.signUp(t, "fay")
			id, err := e.svc.CheckPassword(ctx, "fay", "correct horse battery", "10.0.0.1", "ua")
			if err != nil || id != u.ID {
				t.Fatalf("check: %q, %v", id, err)
			}
			if ss, _ := e.store.SessionsByUser(ctx, u.ID); len(ss) != 0 {
				t.Fatalf("%d sessions after a password check", len(ss))
			}
			if _, err := e.svc.CheckPassword(ctx, "fay", "wrong horse battery", "10.0.0.1", "ua"); wxlogin.ErrorCode(err) != wxlogin.ECREDENTIALS {
				t.Fatalf("wrong password: %v", err)
			}
			if _, err := e.svc.CheckPassword(ctx, "nobody", "correct horse battery", "10.0.0.1", "ua"); wxlogin.ErrorCode(err) != wxlogin.ECREDENTIALS {
				t.Fatalf("unknown user: %v", err)
			}
			if err := e.svc.SetDisabled(ctx, "admin:t", u.ID, true, Meta{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.CheckPassword(ctx, "fay", "correct horse battery", "10.0.0.1", "ua"); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("disabled user: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newRuleEnv(t)) })
	}
}
