package oidc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	wxoidc "github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/token"
)

// keyStore is an in-memory token.KeyStore.
type keyStore struct {
	mu   sync.Mutex
	keys []*wxlogin.SigningKey
}

func (s *keyStore) SigningKeys(context.Context) ([]*wxlogin.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*wxlogin.SigningKey, len(s.keys))
	for i, k := range s.keys {
		c := *k
		out[i] = &c
	}
	return out, nil
}

func (s *keyStore) CreateSigningKey(_ context.Context, k *wxlogin.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys {
		if o.ID == k.ID {
			return wxlogin.Errorf(wxlogin.ECONFLICT, "exists")
		}
	}
	c := *k
	s.keys = append(s.keys, &c)
	return nil
}

func (s *keyStore) UpdateSigningKey(_ context.Context, k *wxlogin.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.keys {
		if o.ID == k.ID {
			c := *k
			s.keys[i] = &c
			return nil
		}
	}
	return wxlogin.Errorf(wxlogin.ENOTFOUND, "missing")
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSessions is the sessions service: real wxlogin access tokens from a token.Issuer, sessions
// and refresh tokens (rotating, reuse revokes) in maps.
type fakeSessions struct {
	issuer *token.Issuer
	users  *fakeUsers
	now    func() time.Time

	mu       sync.Mutex
	sessions map[string]*fakeSession
	refresh  map[string]*fakeRefresh // by hash
	revoked  map[string]string       // session id -> reason
}

type fakeSession struct {
	wxoidc.NewSession
	id      string
	revoked bool
}

type fakeRefresh struct {
	sessionID string
	spent     bool
}

func (f *fakeSessions) StartSession(_ context.Context, s wxoidc.NewSession) (*wxoidc.SessionTokens, error) {
	u, err := f.users.User(context.Background(), s.UserID)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, wxlogin.Errorf(wxlogin.EFORBIDDEN, "disabled")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sess := &fakeSession{NewSession: s, id: wxlogin.NewID("ses")}
	f.sessions[sess.id] = sess
	return f.tokensLocked(sess, s.RefreshToken)
}

func (f *fakeSessions) tokensLocked(sess *fakeSession, withRefresh bool) (*wxoidc.SessionTokens, error) {
	at, claims, err := f.issuer.Issue(sess.UserID, sess.id, sess.ClientID)
	if err != nil {
		return nil, err
	}
	out := &wxoidc.SessionTokens{SessionID: sess.id, UserID: sess.UserID, AccessToken: wxlogin.Secret(at), ExpiresAt: claims.ExpiresAt}
	if withRefresh {
		rt, hash := token.NewRefreshToken()
		f.refresh[hash] = &fakeRefresh{sessionID: sess.id}
		out.RefreshToken = rt
	}
	return out, nil
}

func (f *fakeSessions) Refresh(_ context.Context, clientID string, rt wxlogin.Secret, _, _ string) (*wxoidc.SessionTokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	unauthorized := wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "invalid refresh token")
	r, ok := f.refresh[token.HashRefreshToken(rt.Reveal())]
	if !ok {
		return nil, unauthorized
	}
	sess := f.sessions[r.sessionID]
	if r.spent {
		sess.revoked = true
		f.revoked[sess.id] = "refresh_reuse"
		return nil, unauthorized
	}
	if sess.revoked || sess.ClientID != clientID {
		return nil, unauthorized
	}
	r.spent = true
	return f.tokensLocked(sess, true)
}

func (f *fakeSessions) RevokeSession(_ context.Context, id, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sessions[id]; ok {
		s.revoked = true
		f.revoked[id] = reason
	}
	return nil
}

func (f *fakeSessions) Authenticate(_ context.Context, accessToken string) (*wxoidc.Principal, error) {
	c, err := f.issuer.Verify(accessToken)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[c.SessionID]
	if !ok || s.revoked || s.UserID != c.UserID || s.ClientID != c.Audience {
		return nil, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "invalid access token")
	}
	return &wxoidc.Principal{UserID: c.UserID, SessionID: c.SessionID, ClientID: c.Audience}, nil
}

func (f *fakeSessions) revocation(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.revoked[id]
	return r, ok
}

func (f *fakeSessions) session(id string) *fakeSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[id]
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

type fakeUsers struct {
	mu    sync.Mutex
	users map[string]*wxlogin.User
}

func (f *fakeUsers) User(_ context.Context, id string) (*wxlogin.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such user")
	}
	c := *u
	return &c, nil
}

func (f *fakeUsers) setDisabled(id string, d bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[id].Disabled = d
}

type fakePasswords struct {
	accounts map[string][2]string // username -> password, user id
	limited  bool
}

func (f *fakePasswords) CheckPassword(_ context.Context, username, password, _, _ string) (string, error) {
	if f.limited {
		return "", &wxlogin.Error{Code: wxlogin.ERATELIMITED, Message: "slow down", RetryAfter: 30 * time.Second}
	}
	a, ok := f.accounts[username]
	if !ok || a[0] != password {
		return "", wxlogin.Errorf(wxlogin.ECREDENTIALS, "wrong username or password")
	}
	return a[1], nil
}

// Test fixtures.
const (
	aliceID   = "usr_alice"
	alicePass = "correct horse battery staple"
	bobID     = "usr_bob"
)

var webSecret, webSecretHash = wxoidc.NewClientSecret()

type env struct {
	t        *testing.T
	srv      *httptest.Server
	clock    *clock
	issuer   *token.Issuer
	store    *wxoidc.MemoryStore
	sessions *fakeSessions
	users    *fakeUsers
	pw       *fakePasswords
	provider *wxoidc.Provider
	rp       *gooidc.Provider
	opts     wxoidc.Options
}

// options returns the Options the env's first instance was made with.
func (e *env) options() wxoidc.Options { return e.opts }

type envOption func(*wxoidc.Options)

func newEnv(t *testing.T, mods ...envOption) *env { return newEnvN(t, 1, mods...) }

// newEnvN returns an env whose server is a round-robin load balancer over n instances of the
// provider, each with its own token.Issuer and Provider, sharing only the stores.
func newEnvN(t *testing.T, n int, mods ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: &clock{t: time.Now().Truncate(time.Second)}, store: wxoidc.NewMemoryStore()}
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)

	ring, err := keyring.New(keyring.Key{ID: "test", Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	ks := &keyStore{}
	e.issuer, err = token.New(ctx, token.Options{Keys: ks, Sealer: ring, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.users = &fakeUsers{users: map[string]*wxlogin.User{
		aliceID: {ID: aliceID, Nickname: "Alice", AvatarURL: "https://img.example.com/alice.png", UnionID: "union-alice",
			Phone: "13800138000", PhoneCountryCode: "86", PhoneVerifiedAt: e.clock.Now()},
		bobID: {ID: bobID, Nickname: "Bob"},
	}}
	e.sessions = &fakeSessions{issuer: e.issuer, users: e.users, now: e.clock.Now, sessions: map[string]*fakeSession{},
		refresh: map[string]*fakeRefresh{}, revoked: map[string]string{}}
	e.pw = &fakePasswords{accounts: map[string][2]string{"alice": {alicePass, aliceID}, "bob": {"bob password!", bobID}}}

	dev := wxoidc.DevClient()
	clients, err := wxoidc.ParseClients([]wxoidc.ClientConfig{
		dev,
		{ID: "web", Name: "Example Web", SecretHash: webSecretHash, RedirectURIs: []string{"https://rp.example.com/cb"},
			PostLogoutRedirectURIs: []string{"https://rp.example.com/bye"},
			Scopes:                 []string{"openid", "profile", "phone", "offline_access"}, UnionID: true},
		{ID: "spa", Public: true, RedirectURIs: []string{"https://spa.example.com/cb"}, Scopes: []string{"openid", "profile"}},
		{ID: "partner", Name: "Partner Shop", SecretHash: webSecretHash, RedirectURIs: []string{"https://partner.example.com/cb"},
			ThirdParty: true, Scopes: []string{"openid", "profile"}},
		{ID: "qronly", Public: true, RedirectURIs: []string{"https://qr.example.com/cb"}, Doors: []string{"official_account", "miniprogram_qr"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := wxoidc.Options{
		Issuer: e.srv.URL, Insecure: true, Clients: clients, Store: e.store, Sessions: e.sessions, Users: e.users,
		Passwords: e.pw, Tokens: e.issuer, Keys: ks, Sealer: ring, Now: e.clock.Now,
	}
	for _, m := range mods {
		m(&opts)
	}
	e.opts = opts
	var muxes []http.Handler
	for i := 0; i < n; i++ {
		o := opts
		if i > 0 {
			if o.Tokens, err = token.New(ctx, token.Options{Keys: ks, Sealer: ring, Now: e.clock.Now}); err != nil {
				t.Fatal(err)
			}
		}
		p, err := wxoidc.New(o)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.provider = p
		}
		mux := http.NewServeMux()
		for _, path := range wxoidc.Routes {
			mux.Handle(path, p.Handler())
		}
		mux.HandleFunc("GET "+wxoidc.PathJWKS, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(o.Tokens.JWKS())
		})
		muxes = append(muxes, mux)
	}
	var next atomic.Int64
	handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(next.Add(1)-1) % len(muxes)
		w.Header().Set("X-Instance", strconv.Itoa(i))
		muxes[i].ServeHTTP(w, r)
	})
	e.rp, err = gooidc.NewProvider(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// browser returns an http.Client with a cookie jar that does not follow redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) oauth(clientID, secret, redirect string, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile"}
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Endpoint: e.rp.Endpoint(), Scopes: scopes}
}

func (e *env) get(c *http.Client, u string, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.abs(u), nil)
	if err != nil {
		e.t.Fatal(err)
	}
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

func (e *env) post(c *http.Client, u string, form url.Values, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.abs(u), strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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

func (e *env) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return e.srv.URL + u
	}
	return u
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`)

// hidden returns the hidden form fields of an HTML page.
func hidden(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], m[2])
	}
	return v
}

// startLogin follows the authorization URL to the login page and returns the page's body.
func (e *env) startLogin(c *http.Client, authURL string, header ...string) string {
	e.t.Helper()
	resp, body := e.get(c, authURL, header...)
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: status %d, want 302: %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, wxoidc.PathLogin+"?id=") {
		e.t.Fatalf("authorize redirected to %q, want the login page", loc)
	}
	resp, body = e.get(c, loc, header...)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login page: status %d: %s", resp.StatusCode, body)
	}
	return body
}

// passwordLogin posts the password form of a login page and returns the response.
func (e *env) passwordLogin(c *http.Client, page, username, password string) (*http.Response, string) {
	e.t.Helper()
	form := hidden(page)
	form.Set("username", username)
	form.Set("password", password)
	return e.post(c, wxoidc.PathLogin, form)
}

// login runs the browser part of the flow with alice's password and returns the client's
// callback URL (with code and state).
func (e *env) login(authURL string) *url.URL {
	e.t.Helper()
	c := e.browser()
	page := e.startLogin(c, authURL)
	resp, body := e.passwordLogin(c, page, "alice", alicePass)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("password login: status %d: %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// retrieveError returns the OAuth error code of a failed exchange.
func retrieveError(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want an *oauth2.RetrieveError, got %v", err)
	}
	return re.ErrorCode
}
