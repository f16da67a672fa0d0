package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	wxoidc "github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/verify"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(http.DefaultClient, wxoidc.PathDiscovery)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                 e.srv.URL,
		"authorization_endpoint": e.srv.URL + "/oidc/authorize",
		"token_endpoint":         e.srv.URL + "/oidc/token",
		"userinfo_endpoint":      e.srv.URL + "/oidc/userinfo",
		"end_session_endpoint":   e.srv.URL + "/oidc/end_session",
		"jwks_uri":               e.srv.URL + "/.well-known/jwks.json",
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	lists := map[string][]string{
		"response_types_supported":              {"code"},
		"grant_types_supported":                 {"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":      {"S256"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
		"scopes_supported":                      {"openid", "profile", "phone", "offline_access"},
		"id_token_signing_alg_values_supported": {"ES256"},
	}
	for k, want := range lists {
		var got []string
		for _, v := range d[k].([]any) {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	for _, k := range []string{"introspection_endpoint", "revocation_endpoint", "device_authorization_endpoint"} {
		if _, ok := d[k]; ok {
			t.Errorf("discovery advertises %s, which is not served", k)
		}
	}
	for _, claim := range []string{"name", "picture", "phone_number", "phone_number_verified", "unionid", "amr", "auth_time", "nonce"} {
		if !slices.Contains(d["claims_supported"].([]any), any(claim)) {
			t.Errorf("claims_supported lacks %s", claim)
		}
	}
}

// TestPublicClientFullFlow drives the demo public client (dev-web) like a real relying party:
// discovery, PKCE, the password form, the code exchange, ID-token verification, verify/ on the
// access token, userinfo, refresh and logout.
func TestPublicClientFullFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The redirect URI is registered without a port: loopback on any port (RFC 8252 §7.3).
	conf := e.oauth(wxoidc.DevClientID, "", "http://127.0.0.1:49152/callback", "openid", "profile", "phone", "offline_access")
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-456"))

	cb := e.login(authURL)
	if cb.Host != "127.0.0.1:49152" || cb.Path != "/callback" {
		t.Fatalf("returned to %s", cb)
	}
	if cb.Query().Get("state") != "state-123" {
		t.Fatalf("state = %q", cb.Query().Get("state"))
	}
	code := cb.Query().Get("code")
	if len(code) < 40 {
		t.Fatalf("code %q is too short", code)
	}
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("offline_access granted but no refresh token")
	}
	if tok.Expiry.IsZero() || time.Until(tok.Expiry) < time.Hour {
		t.Fatalf("expiry %v", tok.Expiry)
	}

	rawID, _ := tok.Extra("id_token").(string)
	idv := e.rp.Verifier(&gooidc.Config{ClientID: wxoidc.DevClientID})
	idt, err := idv.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Subject != aliceID || idt.Nonce != "nonce-456" || !slices.Equal(idt.Audience, []string{wxoidc.DevClientID}) {
		t.Fatalf("ID token sub=%q nonce=%q aud=%v", idt.Subject, idt.Nonce, idt.Audience)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims struct {
		AMR           []string `json:"amr"`
		AuthTime      int64    `json:"auth_time"`
		SID           string   `json:"sid"`
		AZP           string   `json:"azp"`
		Name          string   `json:"name"`
		Picture       string   `json:"picture"`
		Phone         string   `json:"phone_number"`
		PhoneVerified bool     `json:"phone_number_verified"`
		UnionID       string   `json:"unionid"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(claims.AMR, []string{"pwd"}) || claims.AuthTime != e.clock.Now().Unix() || claims.SID == "" || claims.AZP != wxoidc.DevClientID {
		t.Fatalf("ID token claims %+v", claims)
	}
	if claims.Name != "Alice" || claims.Picture != "https://img.example.com/alice.png" || claims.Phone != "+8613800138000" || !claims.PhoneVerified {
		t.Fatalf("ID token profile claims %+v", claims)
	}
	if claims.UnionID != "" {
		t.Fatalf("dev-web may not see the unionid, got %q", claims.UnionID)
	}
	if s := e.sessions.session(claims.SID); s == nil || s.ClientID != wxoidc.DevClientID || s.UserID != aliceID || s.Method != "password" {
		t.Fatalf("session %+v", s)
	}

	// The access token is a wxlogin access token: verify/ accepts it with the client as audience.
	v, err := verify.New(ctx, verify.Options{JWKSURL: e.srv.URL + wxoidc.PathJWKS, Issuer: "wxlogin", Audiences: []string{wxoidc.DevClientID}})
	if err != nil {
		t.Fatal(err)
	}
	vc, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("verify/ refused the OIDC access token: %v", err)
	}
	if vc.UserID != aliceID || vc.SessionID != claims.SID || vc.Audience != wxoidc.DevClientID {
		t.Fatalf("verify/ claims %+v", vc)
	}
	if _, err := e.issuer.Verify(tok.AccessToken); err != nil {
		t.Fatalf("token.Issuer (introspection) refused it: %v", err)
	}

	ui, err := e.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uic map[string]any
	if err := ui.Claims(&uic); err != nil {
		t.Fatal(err)
	}
	if ui.Subject != aliceID || uic["name"] != "Alice" || uic["phone_number"] != "+8613800138000" || uic["phone_number_verified"] != true {
		t.Fatalf("userinfo %v", uic)
	}

	// Refresh: a new access token, a rotated refresh token, a new ID token of the same session.
	old := tok.RefreshToken
	tok2, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == "" || tok2.RefreshToken == old {
		t.Fatal("refresh did not rotate the tokens")
	}
	idt2, err := idv.Verify(ctx, tok2.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var c2 struct {
		SID      string `json:"sid"`
		AuthTime int64  `json:"auth_time"`
	}
	idt2.Claims(&c2)
	if idt2.Subject != aliceID || c2.SID != claims.SID || c2.AuthTime != claims.AuthTime || idt2.Nonce != "" {
		t.Fatalf("refreshed ID token sub=%s claims=%+v nonce=%q", idt2.Subject, c2, idt2.Nonce)
	}
	// The spent refresh token fails (and, being reused, revokes the session).
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("a spent refresh token was accepted")
	} else if code := retrieveError(t, err); code != "invalid_grant" {
		t.Fatalf("spent refresh token: %s", code)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf := e.oauth("web", webSecret.Reveal(), "https://rp.example.com/cb")
	tok, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s")).Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	rawID := tok.Extra("id_token").(string)
	idt, err := e.rp.Verifier(&gooidc.Config{ClientID: "web"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	idt.Claims(&c)

	// A post_logout_redirect_uri not registered is refused; nothing is revoked.
	resp, _ := e.get(e.browser(), wxoidc.PathEndSession+"?"+url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {"https://evil.example.com/"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unregistered post_logout_redirect_uri: status %d", resp.StatusCode)
	}
	if _, revoked := e.sessions.revocation(c.SID); revoked {
		t.Fatal("a refused logout revoked the session")
	}

	resp, _ = e.get(e.browser(), wxoidc.PathEndSession+"?"+url.Values{"id_token_hint": {rawID},
		"post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"st"}}.Encode())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://rp.example.com/bye?state=st" {
		t.Fatalf("logout: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if reason, revoked := e.sessions.revocation(c.SID); !revoked || reason != "oidc.logout" {
		t.Fatalf("session not revoked (%q)", reason)
	}
	if _, err := e.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo accepted the access token of a logged-out session")
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: "x", Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("refresh with a bogus token worked")
	}

	// Without a hint, logout goes to the default page and revokes nothing.
	resp, _ = e.get(e.browser(), wxoidc.PathEndSession)
	if resp.StatusCode != http.StatusFound || !strings.HasSuffix(resp.Header.Get("Location"), wxoidc.PathLoggedOut) {
		t.Fatalf("logout without hint: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := e.get(e.browser(), wxoidc.PathLoggedOut)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Fatalf("logged-out page: %d", resp.StatusCode)
	}
}

// TestConfidentialClient: client_secret_basic and client_secret_post, PKCE optional, the unionid
// claim for a client allowed to see it, and a wrong secret.
func TestConfidentialClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		conf := e.oauth("web", webSecret.Reveal(), "https://rp.example.com/cb")
		conf.Endpoint.AuthStyle = style
		tok, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s")).Query().Get("code"))
		if err != nil {
			t.Fatalf("auth style %d: %v", style, err)
		}
		if tok.RefreshToken != "" {
			t.Fatal("a refresh token without offline_access")
		}
		idt, err := e.rp.Verifier(&gooidc.Config{ClientID: "web"}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		idt.Claims(&c)
		if c["unionid"] != "union-alice" || c["name"] != "Alice" {
			t.Fatalf("claims %v", c)
		}
		if _, ok := c["phone_number"]; ok {
			t.Fatal("phone_number without the phone scope")
		}
		// With PKCE, a confidential client must then send the verifier.
		v := oauth2.GenerateVerifier()
		code := e.login(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v))).Query().Get("code")
		if _, err := conf.Exchange(ctx, code); err == nil {
			t.Fatal("exchange without the verifier of the request's challenge worked")
		}
	}
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		conf := e.oauth("web", "wrong-secret-wrong-secret-wrong-secret", "https://rp.example.com/cb")
		conf.Endpoint.AuthStyle = style
		_, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s")).Query().Get("code"))
		if err == nil {
			t.Fatal("wrong client secret accepted")
		}
		if code := retrieveError(t, err); code != "invalid_client" {
			t.Fatalf("wrong secret: %s", code)
		}
		conf.ClientSecret = ""
		if _, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s")).Query().Get("code")); err == nil {
			t.Fatal("confidential client without a secret accepted")
		}
	}
}
