package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// Apps of the test environment: A and B share an open platform; C has none.
const (
	appA      = "wxa0000000000000a1"
	appB      = "wxb0000000000000b2"
	appC      = "wxc0000000000000c3"
	secretA   = "secretA-0123456789abcdef01234567"
	secretB   = "secretB-0123456789abcdef01234567"
	secretC   = "secretC-0123456789abcdef01234567"
	platform  = "platform-1"
	clientID  = "orders-service"
	clientSec = "orders-service-secret"
)

// clock is a fake clock shared by the server and the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// env is a wxlogin server on SQLite talking over HTTP to a WeChat simulator.
type env struct {
	t      *testing.T
	clock  *clock
	sim    *wechatsim.Sim
	store  *sqlite.Store
	ring   *keyring.Keyring
	svc    *auth.Service
	srv    *httptest.Server
	logs   *syncBuffer // every log line of the server, the WeChat clients and the simulator
	bodies *syncBuffer // every response body the server wrote
}

type envOption func(*auth.Config, *wxhttp.Config)

// newEnv starts a full environment; at cleanup it asserts that no session_key the simulator issued,
// and no app secret, appears in any response body or log line.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: &clock{t: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}, bodies: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.sim = wechatsim.New(wechatsim.Options{Now: e.clock.Now, Logger: logger, Apps: []wechatsim.App{
		{ID: appA, Secret: secretA, Platform: platform},
		{ID: appB, Secret: secretB, Platform: platform},
		{ID: appC, Secret: secretC},
		{ID: appOA, Secret: secretOA, Platform: platform, Kind: wxlogin.KindOfficialAccount},
		{ID: appWeb, Secret: secretWeb, Platform: platform, Kind: wxlogin.KindWebsite},
	}})
	simSrv := httptest.NewServer(e.sim)
	t.Cleanup(simSrv.Close)

	var err error
	e.store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "wxlogin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	if err := e.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key, _ := keyring.Generate("k1")
	e.ring, _ = keyring.New(key)
	cfg := app.Config{
		Auth:          auth.Config{Store: e.store, Sealer: e.ring, Signup: true, Argon2: auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}},
		HTTP:          wxhttp.Config{IntrospectionClients: map[string]string{clientID: clientSec}, Issuer: "wxlogin-test"},
		Apps:          append([]wxlogin.App{{ID: appA, Secret: secretA, Platform: platform}, {ID: appB, Secret: secretB, Platform: platform}, {ID: appC, Secret: secretC}}, webApps...),
		WeChatBaseURL: simSrv.URL, WeChatHTTPClient: &http.Client{Timeout: 2 * time.Second},
		Issuer: "wxlogin-test", Now: e.clock.Now, Logger: logger,
	}
	cfg.Auth.Web = auth.WebConfig{OpenBaseURL: simSrv.URL, RedirectURIs: webRedirectURIs}
	for _, o := range opts {
		o(&cfg.Auth, &cfg.HTTP)
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = a.Service
	h := a.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&teeWriter{ResponseWriter: w, tee: e.bodies}, r)
	}))
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.assertNoSecretsLeaked)
	return e
}

// assertNoSecretsLeaked fails the test when a session_key issued by the simulator or an app
// secret appears in a response body or a log line.
func (e *env) assertNoSecretsLeaked() {
	out := e.bodies.String() + "\n" + e.logs.String()
	keys := e.sim.IssuedSessionKeys()
	for _, k := range keys {
		if strings.Contains(out, k) {
			e.t.Errorf("a session_key issued by the simulator leaked into a response or log line")
		}
	}
	for _, s := range []string{secretA, secretB, secretC, secretOA, secretWeb} {
		if strings.Contains(out, s) {
			e.t.Errorf("an app secret leaked into a response or log line")
		}
	}
}

type teeWriter struct {
	http.ResponseWriter
	tee io.Writer
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *teeWriter) Write(b []byte) (int, error) {
	w.tee.Write(b)
	return w.ResponseWriter.Write(b)
}

// response is a decoded answer of the server.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r *response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// ErrorCode returns error.code of an error answer, after checking the error shape.
func (r *response) ErrorCode(t *testing.T) string {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, r.Body)
	}
	if body.Error.Code == "" || body.Error.Message == "" || body.RequestID == "" {
		t.Fatalf("error body lacks code, message or request_id: %s", r.Body)
	}
	if got := r.Header.Get("X-Request-Id"); got != body.RequestID {
		t.Fatalf("request_id %q differs from X-Request-Id %q", body.RequestID, got)
	}
	return body.Error.Code
}

// do sends a request to the server; body may be nil, a string (sent as is) or a value (JSON).
func (e *env) do(method, path, bearer string, body any) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.send(req)
}

// send sends req to the server and checks the exchange against openapi.yaml (checkContract).
func (e *env) send(req *http.Request) *response {
	e.t.Helper()
	reqBody := requestBody(e.t, req)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		e.t.Errorf("%s %s: response without X-Request-Id", req.Method, req.URL.Path)
	}
	x := exchange{req: req, reqBody: reqBody, checkReq: true, status: resp.StatusCode, header: resp.Header, body: b}
	if resp.Request != nil && resp.Request != req { // redirected: check the last request, not its body
		x.req, x.reqBody, x.checkReq = resp.Request, nil, false
	}
	checkContract(e.t, x)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// code plays wx.login for device user on appid.
func (e *env) code(appid, user string) string {
	e.t.Helper()
	c, err := e.sim.Login(appid, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// tokens is a decoded token response.
type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
	NewUser      bool   `json:"new_user"`
	User         struct {
		ID       string `json:"id"`
		UnionID  string `json:"unionid"`
		Username string `json:"username"`
	} `json:"user"`
}

// mustTokens checks a token response and decodes it.
func (e *env) mustTokens(r *response) tokens {
	e.t.Helper()
	if r.Status != http.StatusOK {
		e.t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		e.t.Errorf("token response Cache-Control = %q, want no-store", cc)
	}
	var tk tokens
	if err := json.Unmarshal(r.Body, &tk); err != nil {
		e.t.Fatal(err)
	}
	if tk.AccessToken == "" || tk.RefreshToken == "" || tk.SessionID == "" || tk.User.ID == "" || tk.TokenType != "Bearer" || tk.ExpiresIn <= 0 {
		e.t.Fatalf("incomplete token response: %s", r.Body)
	}
	return tk
}

// login logs device user in on appid with a fresh code and returns the tokens.
func (e *env) login(appid, user string) tokens {
	e.t.Helper()
	return e.mustTokens(e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appid, "code": e.code(appid, user)}))
}
