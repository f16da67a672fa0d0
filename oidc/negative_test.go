package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	wxoidc "github.com/wxlogin/wxlogin/oidc"
)

func TestWrongRedirectURI(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ client, redirect string }{
		{"web", "https://evil.example.com/cb"},
		{"web", "https://rp.example.com/cb/"},                    // not exact
		{"web", "https://rp.example.com/cb?x=1"},                 // not exact
		{"web", "http://rp.example.com/cb"},                      // scheme
		{"spa", "http://127.0.0.1:8080/cb"},                      // loopback, but not registered
		{wxoidc.DevClientID, "http://127.0.0.1:5000/other"},      // any port, but not any path
		{wxoidc.DevClientID, "http://evil.example.com/callback"}, // not loopback
		{"nosuch", "https://rp.example.com/cb"},
	} {
		conf := e.oauth(tc.client, "", tc.redirect)
		u := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		resp, body := e.get(e.browser(), u)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s %s: status %d, want 4xx", tc.client, tc.redirect, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%s %s: redirected to %q", tc.client, tc.redirect, loc)
		}
		if !strings.Contains(body, "invalid_request") && !strings.Contains(body, "invalid_client") {
			t.Errorf("%s %s: body %s", tc.client, tc.redirect, body)
		}
	}
}

// authError follows an authorization URL that must fail back to the client and returns the
// error and state it carries.
func authError(t *testing.T, e *env, authURL, wantRedirect string) (string, string) {
	t.Helper()
	resp, body := e.get(e.browser(), authURL)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), wantRedirect) {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	q := u.Query()
	if u.Fragment != "" { // errors of a fragment response mode come in the fragment
		q, _ = url.ParseQuery(u.Fragment)
	}
	return q.Get("error"), q.Get("state")
}

func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t)
	spa := e.oauth("spa", "", "https://spa.example.com/cb")
	v := oauth2.GenerateVerifier()
	for _, tc := range []struct {
		name string
		url  string
		want string
	}{
		{"public client without PKCE", spa.AuthCodeURL("st"), "invalid_request"},
		{"plain PKCE", spa.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain")), "invalid_request"},
		{"PKCE without method (plain)", spa.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", v)), "invalid_request"},
		{"no openid scope", e.oauth("spa", "", "https://spa.example.com/cb", "profile").AuthCodeURL("st", oauth2.S256ChallengeOption(v)), "invalid_scope"},
		{"prompt=none", spa.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")), "login_required"},
		{"token response type", spa.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_type", "token")), "unauthorized_client"},
		{"id_token response type", spa.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_type", "id_token")), "unauthorized_client"},
		{"fragment response mode", spa.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_mode", "fragment")), "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, state := authError(t, e, tc.url, "https://spa.example.com/cb")
			if got != tc.want || state != "st" {
				t.Fatalf("error=%q state=%q, want %q with the state", got, state, tc.want)
			}
		})
	}
}

func TestScopesAreTheClientsOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// spa may have openid and profile only: phone and offline_access are dropped.
	conf := e.oauth("spa", "", "https://spa.example.com/cb", "openid", "profile", "phone", "offline_access", "email")
	v := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v))).Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Fatal("refresh token for a client not allowed offline_access")
	}
	if s, _ := tok.Extra("scope").(string); s != "openid profile" {
		t.Fatalf("scope = %q", s)
	}
	idt, err := e.rp.Verifier(&gooidc.Config{ClientID: "spa"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	idt.Claims(&c)
	for _, k := range []string{"phone_number", "unionid", "email"} {
		if _, ok := c[k]; ok {
			t.Errorf("claim %s leaked: %v", k, c)
		}
	}
}

// exchangeFor runs a PKCE login for the demo client and returns its config, code and verifier.
func exchangeFor(t *testing.T, e *env) (*oauth2.Config, string, string) {
	conf := e.oauth(wxoidc.DevClientID, "", "http://localhost:3000/callback", "openid", "profile", "offline_access")
	v := oauth2.GenerateVerifier()
	return conf, e.login(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v))).Query().Get("code"), v
}

func TestPKCEVerifier(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf, code, _ := exchangeFor(t, e)
	if _, err := conf.Exchange(ctx, code); err == nil {
		t.Fatal("exchange without code_verifier worked")
	} else if c := retrieveError(t, err); c != "invalid_request" && c != "invalid_grant" {
		t.Fatalf("missing verifier: %s", c)
	}
	conf, code, _ = exchangeFor(t, e)
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("exchange with a wrong code_verifier worked")
	} else if c := retrieveError(t, err); c != "invalid_grant" {
		t.Fatalf("wrong verifier: %s", c)
	}
	// A code whose exchange failed on PKCE is spent: guessing verifiers gets one try.
	conf, code, v := exchangeFor(t, e)
	conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(v)); err == nil {
		t.Fatal("a code was exchanged after a failed attempt")
	}
}

func TestCodeReuseRevokes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf, code, v := exchangeFor(t, e)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo before reuse: %v", err)
	}
	_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(v))
	if err == nil {
		t.Fatal("a code was exchanged twice")
	}
	if c := retrieveError(t, err); c != "invalid_grant" {
		t.Fatalf("reuse: %s", c)
	}
	p, err := e.issuer.Verify(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if reason, ok := e.sessions.revocation(p.SessionID); !ok || reason != "oidc.code_reuse" {
		t.Fatalf("the first exchange's session is not revoked (%q)", reason)
	}
	if _, err := e.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo accepted the access token of a revoked session")
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("the refresh token of a revoked session worked")
	}
}

// TestCodeReusedDuringExchange: a code presented again while its first exchange is still running
// (after the code was redeemed, before the session was attached) makes the first exchange fail
// and revoke its session: the Store's RedeemCode and AttachSession leave no gap.
func TestCodeReusedDuringExchange(t *testing.T) {
	s := wxoidc.NewMemoryStore()
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateAuthRequest(ctx, &wxoidc.AuthRequest{ID: "oar_1", ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.IssueCode(ctx, "oar_1", "h", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.IssueCode(ctx, "oar_1", "h2", now.Add(time.Minute)); err == nil {
		t.Fatal("a second code for one request")
	}
	first, err := s.RedeemCode(ctx, "h", now)
	if err != nil || !first.CodeUsedAt.IsZero() {
		t.Fatalf("first redeem: %+v %v", first, err)
	}
	second, err := s.RedeemCode(ctx, "h", now)
	if err != nil || second.CodeUsedAt.IsZero() || second.SessionID != "" {
		t.Fatalf("second redeem: %+v %v", second, err)
	}
	after, err := s.AttachSession(ctx, "oar_1", "ses_1")
	if err != nil || !after.CodeReused {
		t.Fatalf("attach after a reuse: %+v %v", after, err)
	}
	third, err := s.RedeemCode(ctx, "h", now)
	if err != nil || third.SessionID != "ses_1" {
		t.Fatalf("third redeem sees the session to revoke: %+v %v", third, err)
	}
	if err := s.CompleteAuthRequest(ctx, "oar_1", wxoidc.Login{UserID: "u"}); err == nil {
		t.Fatal("a request with a code was completed again")
	}
	if n, err := s.DeleteAuthRequestsBefore(ctx, now.Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if _, err := s.RedeemCode(ctx, "h", now); err == nil {
		t.Fatal("a pruned code redeemed")
	}
}

func TestExpiredCode(t *testing.T) {
	e := newEnv(t)
	conf, code, v := exchangeFor(t, e)
	e.clock.Advance(wxoidc.DefaultCodeTTL + time.Second)
	_, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(v))
	if err == nil {
		t.Fatal("an expired code was exchanged")
	}
	if c := retrieveError(t, err); c != "invalid_grant" {
		t.Fatalf("expired code: %s", c)
	}
}

func TestExpiredAuthRequest(t *testing.T) {
	e := newEnv(t)
	conf := e.oauth(wxoidc.DevClientID, "", "http://localhost:3000/callback")
	c := e.browser()
	page := e.startLogin(c, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	e.clock.Advance(wxoidc.DefaultAuthRequestTTL + time.Second)
	resp, body := e.passwordLogin(c, page, "alice", alicePass)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Fatalf("login on an expired request: %d", resp.StatusCode)
	}
}

func TestCodeBoundToClientAndRedirect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A code issued to dev-web, presented by web (with web's valid secret).
	_, code, v := exchangeFor(t, e)
	web := e.oauth("web", webSecret.Reveal(), "http://localhost:3000/callback")
	if _, err := web.Exchange(ctx, code, oauth2.VerifierOption(v)); err == nil {
		t.Fatal("another client exchanged the code")
	}
	// redirect_uri differing from the request's.
	conf, code, v := exchangeFor(t, e)
	conf.RedirectURL = "http://localhost:3001/callback"
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(v)); err == nil {
		t.Fatal("exchange with another redirect_uri worked")
	} else if c := retrieveError(t, err); c != "invalid_grant" {
		t.Fatalf("redirect mismatch: %s", c)
	}
	// A made-up code.
	if _, err := conf.Exchange(ctx, "not-a-code", oauth2.VerifierOption(v)); err == nil {
		t.Fatal("a made-up code worked")
	}
}

func TestDisabledUserAtExchange(t *testing.T) {
	e := newEnv(t)
	conf, code, v := exchangeFor(t, e)
	e.users.setDisabled(aliceID, true)
	_, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(v))
	if err == nil {
		t.Fatal("a disabled user got tokens")
	}
	if c := retrieveError(t, err); c != "invalid_grant" {
		t.Fatalf("disabled: %s", c)
	}
}

func TestNonceEchoed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, nonce := range []string{"n-0S6_WzA2Mj", ""} {
		conf := e.oauth(wxoidc.DevClientID, "", "http://localhost/callback")
		v := oauth2.GenerateVerifier()
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v)}
		if nonce != "" {
			opts = append(opts, gooidc.Nonce(nonce))
		}
		tok, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s", opts...)).Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := e.rp.Verifier(&gooidc.Config{ClientID: wxoidc.DevClientID}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != nonce {
			t.Fatalf("nonce = %q, want %q", idt.Nonce, nonce)
		}
	}
}

// noneToken returns an unsigned JWT (alg "none") with the claims.
func noneToken(t *testing.T, header map[string]any, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

// TestAlgNoneNeverAccepted: an unsigned token is refused as id_token_hint (logout, authorize) and
// as access token (userinfo), even when it copies a real token's claims; ID tokens are signed.
func TestAlgNoneNeverAccepted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf := e.oauth("web", webSecret.Reveal(), "https://rp.example.com/cb")
	tok, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s")).Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	rawID := tok.Extra("id_token").(string)
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(rawID, ".")[0])
	var h map[string]any
	json.Unmarshal(hdr, &h)
	if h["alg"] != "ES256" || h["kid"] != e.issuer.SigningKeyID() {
		t.Fatalf("ID token header %v", h)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(rawID, ".")[1])
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	sid := claims["sid"].(string)

	for _, alg := range []string{"none", "None", "NONE"} {
		forged := noneToken(t, map[string]any{"alg": alg, "kid": h["kid"], "typ": "JWT"}, claims)
		resp, _ := e.get(e.browser(), wxoidc.PathEndSession+"?"+url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {"https://rp.example.com/bye"}}.Encode())
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("logout with an alg %s hint: status %d", alg, resp.StatusCode)
		}
		if _, revoked := e.sessions.revocation(sid); revoked {
			t.Fatalf("an alg %s id_token_hint revoked the session", alg)
		}
		authURL := conf.AuthCodeURL("s", oauth2.SetAuthURLParam("id_token_hint", forged))
		if got, _ := authError(t, e, authURL, "https://rp.example.com/cb"); got != "login_required" {
			t.Fatalf("authorize with an alg %s hint: %q", alg, got)
		}

		atPayload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok.AccessToken, ".")[1])
		var at map[string]any
		json.Unmarshal(atPayload, &at)
		forgedAT := noneToken(t, map[string]any{"alg": alg, "kid": h["kid"], "typ": "at+jwt"}, at)
		if _, err := e.rp.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: forgedAT, TokenType: "Bearer"})); err == nil {
			t.Fatalf("userinfo accepted an alg %s access token", alg)
		}
	}
	// The genuine hint still works afterwards.
	resp, _ := e.get(e.browser(), wxoidc.PathEndSession+"?"+url.Values{"id_token_hint": {rawID}}.Encode())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("genuine logout: %d", resp.StatusCode)
	}
	if _, revoked := e.sessions.revocation(sid); !revoked {
		t.Fatal("genuine logout did not revoke")
	}
}

// TestUserinfoNeedsAnOIDCSession: an access token of a session not started through OpenID Connect
// (a mini-program login) has no grant, so userinfo refuses it; Prune drops expired state.
func TestUserinfoNeedsAnOIDCSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	toks, err := e.sessions.StartSession(ctx, wxoidc.NewSession{UserID: aliceID, ClientID: "wx1234567890abcdef", Method: "wechat"})
	if err != nil {
		t.Fatal(err)
	}
	tok := &oauth2.Token{AccessToken: toks.AccessToken.Reveal(), TokenType: "Bearer"}
	if _, err := e.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo answered for a session without a grant")
	}
	resp, body := e.get(http.DefaultClient, wxoidc.PathUserinfo)
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, "error") {
		t.Fatalf("userinfo without a token: %d %s", resp.StatusCode, body)
	}

	conf, code, v := exchangeFor(t, e)
	tok, err = conf.Exchange(ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.issuer.Verify(tok.AccessToken)
	if err := e.provider.Prune(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Grant(ctx, p.SessionID); err != nil {
		t.Fatalf("Prune dropped a live grant: %v", err)
	}
	if err := e.provider.Prune(ctx, e.clock.Now().Add(wxoidc.DefaultGrantTTL+time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Grant(ctx, p.SessionID); err == nil {
		t.Fatal("Prune kept an expired grant")
	}
	if n, _ := e.store.DeleteAuthRequestsBefore(ctx, e.clock.Now().Add(time.Hour)); n != 0 {
		t.Fatalf("Prune left %d expired auth requests", n)
	}
}

func TestRefreshScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf := e.oauth(wxoidc.DevClientID, "", "http://localhost/callback", "openid", "profile", "phone", "offline_access")
	v := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v))).Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	// x/oauth2 sends no scope on refresh; send it by hand.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {wxoidc.DevClientID}, "scope": {"openid phone"}}
	resp, body := e.post(http.DefaultClient, wxoidc.PathToken, form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("narrower refresh: %d %s", resp.StatusCode, body)
	}
	var out struct {
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
	}
	json.Unmarshal([]byte(body), &out)
	idt, err := e.rp.Verifier(&gooidc.Config{ClientID: wxoidc.DevClientID}).Verify(ctx, out.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	idt.Claims(&c)
	if out.Scope != "openid phone" || c["name"] != nil || c["phone_number"] != "+8613800138000" {
		t.Fatalf("narrower refresh: scope %q claims %v", out.Scope, c)
	}
	form.Set("refresh_token", out.RefreshToken)
	form.Set("scope", "openid profile email")
	resp, body = e.post(http.DefaultClient, wxoidc.PathToken, form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_scope") {
		t.Fatalf("broader refresh: %d %s", resp.StatusCode, body)
	}
}
