package http_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/postgres"
)

// sessionActive reports whether the session of an access token still authenticates.
func (e *oidcEnv) sessionActive(accessToken string) bool {
	return e.introspect(accessToken)["active"] == true
}

// TestOIDCRefusals: what a relying party gets wrong, through the real server.
func TestOIDCRefusals(t *testing.T) {
	e := newOIDCEnv(t)
	web := e.oauth(oidcWebID, oidcWebSecret.Reveal(), oidcWebCB)
	dev := e.oauth(oidc.DevClientID, "", "http://127.0.0.1:43210/callback")

	t.Run("a wrong redirect URI is refused without a redirect", func(t *testing.T) {
		for _, cb := range []string{"https://evil.example.com/cb", oidcWebCB + "/", oidcWebCB + "?x=1"} {
			conf := e.oauth(oidcWebID, "", cb)
			resp, _ := e.get(e.browser(), conf.AuthCodeURL("s"))
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d to %q", cb, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
	t.Run("a door that is not configured is not found", func(t *testing.T) {
		resp, body := e.get(e.browser(), "/oidc/door/official_account/start?id=oar_x")
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || body == "" {
			t.Fatalf("unconfigured door: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("a public client must send PKCE", func(t *testing.T) {
		resp, _ := e.get(e.browser(), dev.AuthCodeURL("s"))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s" {
			t.Fatalf("no PKCE: %d to %q", resp.StatusCode, loc)
		}
	})
	t.Run("a missing or wrong PKCE verifier fails the exchange", func(t *testing.T) {
		for name, opts := range map[string][]oauth2.AuthCodeOption{
			"missing": nil,
			"wrong":   {oauth2.VerifierOption(oauth2.GenerateVerifier())},
		} {
			v := oauth2.GenerateVerifier()
			cb := e.login(dev.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
			if _, err := dev.Exchange(e.ctx, cb.Query().Get("code"), opts...); err == nil || oauthErrorCode(t, err) != "invalid_grant" {
				t.Errorf("%s verifier: %v", name, err)
			}
		}
	})
	t.Run("code reuse fails and revokes what the first exchange issued", func(t *testing.T) {
		code := e.login(web.AuthCodeURL("s")).Query().Get("code")
		tok, err := web.Exchange(e.ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if !e.sessionActive(tok.AccessToken) {
			t.Fatal("first exchange's session is not active")
		}
		if _, err := web.Exchange(e.ctx, code); err == nil || oauthErrorCode(t, err) != "invalid_grant" {
			t.Fatalf("second exchange: %v", err)
		}
		if e.sessionActive(tok.AccessToken) {
			t.Fatal("the first exchange's session survived the code's reuse")
		}
	})
	t.Run("an expired code fails", func(t *testing.T) {
		code := e.login(web.AuthCodeURL("s")).Query().Get("code")
		e.clock.Advance(oidc.DefaultCodeTTL + time.Second)
		if _, err := web.Exchange(e.ctx, code); err == nil || oauthErrorCode(t, err) != "invalid_grant" {
			t.Fatalf("expired code: %v", err)
		}
	})
	t.Run("a wrong client secret fails", func(t *testing.T) {
		code := e.login(web.AuthCodeURL("s")).Query().Get("code")
		bad := e.oauth(oidcWebID, "not-the-secret-0123456789abcdef0123456789", oidcWebCB)
		if _, err := bad.Exchange(e.ctx, code); err == nil || oauthErrorCode(t, err) != "invalid_client" {
			t.Fatalf("wrong secret: %v", err)
		}
	})
	t.Run("a wrong password stays on the page", func(t *testing.T) {
		c := e.browser()
		resp, body := e.passwordForm(c, e.loginPage(c, web.AuthCodeURL("s")), "alice", "wrong horse battery")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" || !strings.Contains(body, `name="password"`) {
			t.Fatalf("wrong password: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("alg none is never accepted", func(t *testing.T) {
		tok, err := web.Exchange(e.ctx, e.login(web.AuthCodeURL("s")).Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		rawID := tok.Extra("id_token").(string)
		parts := strings.Split(rawID, ".")
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h map[string]any
		json.Unmarshal(hdr, &h)
		if h["alg"] != "ES256" {
			t.Fatalf("ID token alg %v", h["alg"])
		}
		forged := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"`+fmt.Sprint(h["kid"])+`"}`)) + "." + parts[1] + "."
		resp, _ := e.get(e.browser(), oidc.PathEndSession+"?"+url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {oidcWebBye}}.Encode())
		if resp.StatusCode != http.StatusBadRequest || !e.sessionActive(tok.AccessToken) {
			t.Fatalf("logout with an alg none hint: %d, session active %v", resp.StatusCode, e.sessionActive(tok.AccessToken))
		}
		if _, err := e.rp.Verifier(&gooidc.Config{ClientID: oidcWebID, Now: e.clock.Now}).Verify(e.ctx, forged); err == nil {
			t.Fatal("go-oidc accepted an alg none ID token")
		}
		atParts := strings.Split(tok.AccessToken, ".")
		forgedAT := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + atParts[1] + "."
		if _, err := e.rp.UserInfo(e.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: forgedAT, TokenType: "Bearer"})); err == nil {
			t.Fatal("userinfo accepted an alg none access token")
		}
	})
	t.Run("a third-party client asks consent, and its unionid claim", func(t *testing.T) {
		partner := e.oauth("partner", oidcWebSecret.Reveal(), "https://partner.example.com/cb")
		c := e.browser()
		resp, _ := e.passwordForm(c, e.loginPage(c, partner.AuthCodeURL("s", gooidc.Nonce("n"))), "alice", oidcAlicePass)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), oidc.PathLogin) {
			t.Fatalf("after the password: %d to %q, want the consent step", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := e.get(c, resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="decision"`) {
			t.Fatalf("no consent step: %d", resp.StatusCode)
		}
		form := url.Values{"decision": {"allow"}}
		for _, m := range oidcHiddenRE.FindAllStringSubmatch(body, -1) {
			form.Set(m[1], m[2])
		}
		resp, _ = e.post(c, oidc.PathConsent, form)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("code") == "" {
			t.Fatalf("consent: %d to %q", resp.StatusCode, loc)
		}
		tok, err := partner.Exchange(e.ctx, loc.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := e.rp.Verifier(&gooidc.Config{ClientID: "partner", Now: e.clock.Now}).Verify(e.ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var c2 struct {
			UnionID string `json:"unionid"`
		}
		idt.Claims(&c2)
		if c2.UnionID != "union-alice" || idt.Nonce != "n" {
			t.Fatalf("partner's ID token: unionid %q nonce %q", c2.UnionID, idt.Nonce)
		}
	})
}

// TestOIDCSeveralInstances: two wxlogin instances over one PostgreSQL database, behind a
// round-robin load balancer, complete one flow: the authorization request, the login page's
// form, the code, the exchange, userinfo, refresh and logout each land on the other instance
// than the step before.
func TestOIDCSeveralInstances(t *testing.T) {
	pg := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if pg == "" {
		t.Skip("WXLOGIN_TEST_POSTGRES not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("wxl_oidc_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	var stores []wxlogin.Store
	for i := range 2 {
		st, err := postgres.Open(ctx, pg+sep+"search_path="+schema)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		stores = append(stores, st)
	}
	e := newOIDCEnvOn(t, stores...)
	conf := e.oauth(oidc.DevClientID, "", "http://127.0.0.1:40000/callback", "openid", "profile", "offline_access")
	v := oauth2.GenerateVerifier()
	cb := e.login(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v), gooidc.Nonce("nn")))
	tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idt, err := e.rp.Verifier(&gooidc.Config{ClientID: oidc.DevClientID, Now: e.clock.Now}).Verify(e.ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Subject != e.alice.ID || idt.Nonce != "nn" {
		t.Fatalf("ID token: %v", err)
	}
	for range 2 { // userinfo on both instances
		if _, err := e.rp.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err != nil {
			t.Fatalf("userinfo: %v", err)
		}
	}
	tok2, err := conf.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: e.clock.Now().Add(-time.Minute)}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	// The code again, on either instance: refused, and the session is revoked everywhere.
	if _, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v)); err == nil {
		t.Fatal("a code was redeemed twice across instances")
	}
	for range 2 {
		if e.sessionActive(tok2.AccessToken) {
			t.Fatal("the session survived the code's reuse on an instance")
		}
	}
}
