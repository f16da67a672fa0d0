package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/verify"
)

// oidcEnv is the real wxlogin server (app.New: the store, the login service, the HTTP API and the
// OpenID Connect provider) on SQLite, driven by go-oidc and x/oauth2 as a relying party. Every
// exchange is checked against openapi.yaml.
type oidcEnv struct {
	t      *testing.T
	clock  *clock
	store  wxlogin.Store
	app    *app.App
	srv    *httptest.Server
	rp     *gooidc.Provider
	ctx    context.Context // carries the contract-checking client for go-oidc and x/oauth2
	client *http.Client
	logs   *syncBuffer
	bodies *syncBuffer
	alice  *wxlogin.User
}

const (
	oidcAlicePass = "correct horse battery"
	oidcWebID     = "web"
	oidcWebCB     = "https://rp.example.com/cb"
	oidcWebBye    = "https://rp.example.com/bye"
)

var oidcWebSecret, oidcWebSecretHash = oidc.NewClientSecret()

// oidcClients are the relying parties of the tests: wxlogin dev's public client, a confidential
// client, and a third-party client allowed to see the unionid.
func oidcClients() []oidc.ClientConfig {
	return []oidc.ClientConfig{
		oidc.DevClient(),
		{ID: oidcWebID, Name: "Example Web", SecretHash: oidcWebSecretHash, RedirectURIs: []string{oidcWebCB},
			PostLogoutRedirectURIs: []string{oidcWebBye}, Scopes: []string{"openid", "profile", "phone", "offline_access"}},
		{ID: "partner", Name: "Partner", SecretHash: oidcWebSecretHash, RedirectURIs: []string{"https://partner.example.com/cb"},
			ThirdParty: true, UnionID: true, Doors: []string{oidc.DoorPassword}},
	}
}

// contractTransport checks every exchange that passes through it against openapi.yaml.
type contractTransport struct{ t *testing.T }

func (c contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	reqBody := requestBody(c.t, req)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	checkContract(c.t, exchange{req: req, reqBody: reqBody, checkReq: true, status: resp.StatusCode, header: resp.Header, body: b})
	return resp, nil
}

// newOIDCEnv starts wxlogin with OIDC clients over a fresh SQLite store.
func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "wxlogin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return newOIDCEnvOn(t, st)
}

// newOIDCEnvOn starts one wxlogin instance per store (several: the stores open one database),
// each with its own signing-key cache and provider, behind a round-robin load balancer.
func newOIDCEnvOn(t *testing.T, stores ...wxlogin.Store) *oidcEnv {
	t.Helper()
	ctx := context.Background()
	st := stores[0]
	e := &oidcEnv{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, store: st, logs: &syncBuffer{}, bodies: &syncBuffer{}}
	var handlers []http.Handler
	var next atomic.Int64
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := handlers[int(next.Add(1)-1)%len(handlers)]
		h.ServeHTTP(&teeWriter{ResponseWriter: w, tee: e.bodies}, r)
	}))
	t.Cleanup(e.srv.Close)
	key, _ := keyring.Generate("k1")
	ring, _ := keyring.New(key)
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, st := range stores {
		cacheSize := 0
		if len(stores) > 1 {
			cacheSize = -1 // several instances without Redis invalidations cache nothing
		}
		a, err := app.New(ctx, app.Config{
			Auth: auth.Config{Store: st, Sealer: ring, Signup: true, CacheSize: cacheSize,
				Argon2: auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}},
			HTTP: wxhttp.Config{IntrospectionClients: map[string]string{clientID: clientSec}, Issuer: "wxlogin-test",
				AdminTokens: map[string]string{"ops": opsToken}},
			OIDC:   app.OIDCConfig{Issuer: e.srv.URL, Insecure: true, Clients: oidcClients()},
			Issuer: "wxlogin-test", Now: e.clock.Now, Logger: logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		if e.app == nil {
			e.app = a
		}
		handlers = append(handlers, a.Handler)
	}
	a := e.app
	var err error
	e.client = &http.Client{Transport: contractTransport{t}}
	e.ctx = gooidc.ClientContext(ctx, e.client)
	e.ctx = context.WithValue(e.ctx, oauth2.HTTPClient, e.client)
	if e.rp, err = gooidc.NewProvider(e.ctx, e.srv.URL); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if e.alice, err = a.Service.SignUp(ctx, "alice", oidcAlicePass, auth.Meta{}); err != nil && wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
		t.Fatal(err)
	}
	if e.alice == nil {
		acct, err := st.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		e.alice, _ = st.User(ctx, acct.UserID)
	} else {
		e.alice.Nickname, e.alice.AvatarURL, e.alice.UnionID = "Alice", "https://img.example.com/alice.png", "union-alice"
		e.alice.Phone, e.alice.PhoneCountryCode, e.alice.PhoneVerifiedAt = "13800138000", "86", e.clock.Now()
		if err := st.UpdateUser(ctx, e.alice); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		// No password, client secret or refresh token in any log line.
		logs := e.logs.String()
		for _, s := range []string{oidcAlicePass, oidcWebSecret.Reveal()} {
			if strings.Contains(logs, s) {
				t.Errorf("a secret appears in the logs")
			}
		}
	})
	return e
}

func (e *oidcEnv) oauth(clientID, secret, redirect string, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile"}
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Endpoint: e.rp.Endpoint(), Scopes: scopes}
}

// browser returns a client with a cookie jar that does not follow redirects and checks every
// exchange against openapi.yaml.
func (e *oidcEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: contractTransport{e.t}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *oidcEnv) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return e.srv.URL + u
	}
	return u
}

func (e *oidcEnv) get(c *http.Client, u string, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.abs(u), nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *oidcEnv) post(c *http.Client, u string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.abs(u), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var oidcHiddenRE = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)

// loginPage follows authURL to the login page and returns its body.
func (e *oidcEnv) loginPage(c *http.Client, authURL string) string {
	e.t.Helper()
	resp, body := e.get(c, authURL)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, oidc.PathLogin+"?id=") {
		e.t.Fatalf("authorize: %d to %q: %s", resp.StatusCode, loc, body)
	}
	resp, body = e.get(c, loc)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login page: %d: %s", resp.StatusCode, body)
	}
	return body
}

// passwordForm posts the page's password form.
func (e *oidcEnv) passwordForm(c *http.Client, page, username, password string) (*http.Response, string) {
	e.t.Helper()
	form := url.Values{}
	for _, m := range oidcHiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	form.Set("username", username)
	form.Set("password", password)
	return e.post(c, oidc.PathLogin, form)
}

// login signs alice in through the login page's password form and returns the callback URL.
func (e *oidcEnv) login(authURL string) *url.URL {
	e.t.Helper()
	c := e.browser()
	resp, body := e.passwordForm(c, e.loginPage(c, authURL), "alice", oidcAlicePass)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("password form: %d: %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func oauthErrorCode(t *testing.T, err error) string {
	t.Helper()
	re, ok := err.(*oauth2.RetrieveError)
	if !ok {
		t.Fatalf("want an *oauth2.RetrieveError, got %v", err)
	}
	return re.ErrorCode
}

// TestOIDCEndToEnd signs in through the real server like a website would: discovery, PKCE, the
// password form of the hosted login page, the code exchange, the ID token, the access token as
// every wxlogin access token (introspection, verify/, /v1/me), userinfo, refresh and logout; the
// session shows the client.
func TestOIDCEndToEnd(t *testing.T) {
	e := newOIDCEnv(t)
	conf := e.oauth(oidcWebID, oidcWebSecret.Reveal(), oidcWebCB, "openid", "profile", "phone", "offline_access")
	verifier := oauth2.GenerateVerifier()
	cb := e.login(conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-1")))
	if cb.Scheme+"://"+cb.Host+cb.Path != oidcWebCB || cb.Query().Get("state") != "state-1" {
		t.Fatalf("returned to %s", cb)
	}
	tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idv := e.rp.Verifier(&gooidc.Config{ClientID: oidcWebID, Now: e.clock.Now})
	idt, err := idv.Verify(e.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
		SID      string   `json:"sid"`
		Name     string   `json:"name"`
		Picture  string   `json:"picture"`
		Phone    string   `json:"phone_number"`
		PhoneOK  bool     `json:"phone_number_verified"`
		UnionID  string   `json:"unionid"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != e.alice.ID || idt.Nonce != "nonce-1" || !slices.Equal(idt.Audience, []string{oidcWebID}) ||
		!slices.Equal(claims.AMR, []string{"pwd"}) || claims.AuthTime == 0 || claims.SID == "" {
		t.Fatalf("ID token sub=%s nonce=%s aud=%v claims=%+v", idt.Subject, idt.Nonce, idt.Audience, claims)
	}
	if claims.Name != "Alice" || claims.Picture != "https://img.example.com/alice.png" || claims.Phone != "+8613800138000" || !claims.PhoneOK || claims.UnionID != "" {
		t.Fatalf("ID token profile claims %+v", claims)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}

	// The session shows the client; the access token is a wxlogin access token for it.
	sess, err := e.store.Session(context.Background(), claims.SID)
	if err != nil || sess.AppID != oidcWebID || sess.UserID != e.alice.ID || sess.Method != "password" {
		t.Fatalf("session %+v, %v", sess, err)
	}
	v, err := verify.New(e.ctx, verify.Options{JWKSURL: e.srv.URL + "/.well-known/jwks.json", Issuer: "wxlogin-test",
		Audiences: []string{oidcWebID}, HTTPClient: e.client, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if vc, err := v.Verify(e.ctx, tok.AccessToken); err != nil || vc.UserID != e.alice.ID || vc.SessionID != claims.SID {
		t.Fatalf("verify/: %+v, %v", vc, err)
	}
	if in := e.introspect(tok.AccessToken); in["active"] != true || in["aud"] != oidcWebID || in["sub"] != e.alice.ID {
		t.Fatalf("introspection %v", in)
	}
	resp, _ := e.get(e.client, "/v1/me", "Authorization", "Bearer "+tok.AccessToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/v1/me with the OIDC access token: %d", resp.StatusCode)
	}

	ui, err := e.rp.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uic map[string]any
	ui.Claims(&uic)
	if ui.Subject != e.alice.ID || uic["name"] != "Alice" || uic["phone_number"] != "+8613800138000" {
		t.Fatalf("userinfo %v", uic)
	}

	// Refresh rotates; the ID token keeps the session and auth_time.
	tok2, err := conf.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: e.clock.Now().Add(-time.Minute)}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	idt2, err := idv.Verify(e.ctx, tok2.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var c2 struct {
		SID      string `json:"sid"`
		AuthTime int64  `json:"auth_time"`
	}
	idt2.Claims(&c2)
	if c2.SID != claims.SID || c2.AuthTime != claims.AuthTime {
		t.Fatalf("refreshed ID token %+v", c2)
	}

	// The admin API lists the clients, without secret hashes.
	resp, body := e.get(e.client, "/admin/v1/clients", "Authorization", "Bearer "+opsToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"client_id":"dev-web"`) || !strings.Contains(body, `"client_id":"web"`) ||
		strings.Contains(body, "sha256:") {
		t.Fatalf("admin clients: %d %s", resp.StatusCode, body)
	}

	// RP-initiated logout revokes the session: userinfo, introspection and refresh all stop.
	resp, _ = e.get(e.browser(), oidc.PathEndSession+"?"+url.Values{"id_token_hint": {tok2.Extra("id_token").(string)},
		"post_logout_redirect_uri": {oidcWebBye}, "state": {"bye"}}.Encode())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != oidcWebBye+"?state=bye" {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.rp.UserInfo(e.ctx, oauth2.StaticTokenSource(tok2)); err == nil {
		t.Fatal("userinfo after logout")
	}
	if in := e.introspect(tok2.AccessToken); in["active"] != false {
		t.Fatalf("introspection after logout %v", in)
	}
	if _, err := conf.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken, Expiry: e.clock.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("refresh after logout")
	}
}

// introspect asks /v1/introspect about tok with the test's service credentials.
func (e *oidcEnv) introspect(tok string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSec)
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}
