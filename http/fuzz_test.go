package http_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
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

// fuzzStack is the real API (SQLite, the simulator behind real WeChat clients) served in process,
// with one logged-in user. Rate limits are off so the fuzzer reaches the decoders.
type fuzzStack struct {
	h       http.Handler
	sim     *wechatsim.Sim
	access  string
	refresh string
}

func newFuzzStack(f *testing.F) *fuzzStack {
	f.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC) }
	logger := slog.New(slog.DiscardHandler)
	sim := wechatsim.New(wechatsim.Options{Now: now, Apps: []wechatsim.App{{ID: appA, Secret: secretA, Platform: platform}, {ID: appC, Secret: secretC}}})
	simSrv := httptest.NewServer(sim)
	f.Cleanup(simSrv.Close)
	store, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	key, _ := keyring.Generate("k1")
	ring, _ := keyring.New(key)
	a, err := app.New(ctx, app.Config{
		Auth: auth.Config{Store: store, Sealer: ring, Signup: true, PhoneLogin: true, CloudRun: true,
			Argon2: auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}},
		HTTP:          wxhttp.Config{IntrospectionClients: map[string]string{clientID: clientSec}, Issuer: "wxlogin-test"},
		Apps:          []wxlogin.App{{ID: appA, Secret: secretA, Platform: platform}, {ID: appC, Secret: secretC}},
		WeChatBaseURL: simSrv.URL, WeChatHTTPClient: &http.Client{Timeout: 2 * time.Second},
		Issuer: "wxlogin-test", Now: now, Logger: logger,
	})
	if err != nil {
		f.Fatal(err)
	}
	s := &fuzzStack{h: a.Handler, sim: sim}
	code, _ := sim.Login(appA, "fuzz")
	rec := s.serve(httptest.NewRequest("POST", "/v1/login/wechat", strings.NewReader(`{"appid":"`+appA+`","code":"`+code+`"}`)), "application/json")
	var tk tokens
	if err := json.Unmarshal(rec.Body.Bytes(), &tk); err != nil || rec.Code != 200 {
		f.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	s.access, s.refresh = tk.AccessToken, tk.RefreshToken
	return s
}

func (s *fuzzStack) serve(req *http.Request, ct string) *httptest.ResponseRecorder {
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// checkAnswer fails unless the answer is below 500 and, when 4xx, the JSON error shape with a
// known code whose status is the one answered, and unless openapi.yaml allows the answer to req
// (checkContract; the fuzzed request itself is not held to the spec).
func checkAnswer(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	checkContract(t, exchange{req: req, status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()})
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if rec.Code < 400 {
		return
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body)
	}
	if body.Error.Code == "" || body.Error.Message == "" || body.RequestID == "" {
		t.Fatalf("status %d without the error shape: %s", rec.Code, rec.Body)
	}
	if wxhttp.ErrorStatus(body.Error.Code) != rec.Code {
		t.Fatalf("code %s answered with %d", body.Error.Code, rec.Code)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
}

// fuzzRoutes are the routes whose requests carry input (a body, or a path id); FuzzAPI picks one
// by index. Logout and session revocation are left out: they would end the fuzzer's session.
var fuzzRoutes = []struct {
	method, path string
	auth         bool
	seed         string
}{
	{"POST", "/v1/login/wechat", false, `{"appid":"` + appA + `","code":"0a3Xbc"}`},
	{"POST", "/v1/login/wechat", false, `{"appid":"` + appA + `","code":"0a3Xbc","username":"fuzzer","password":"fuzzer-password"}`},
	{"POST", "/v1/login/password", false, `{"username":"fuzzer","password":"fuzzer-password"}`},
	{"POST", "/v1/login/phone", false, `{"appid":"` + appA + `","code":"phonecode"}`},
	{"POST", "/v1/accounts", false, `{"username":"fuzzer","password":"fuzzer-password"}`},
	{"POST", "/v1/token/refresh", false, `{"refresh_token":"Zm9vYmFyYmF6cXV4"}`},
	{"PATCH", "/v1/me", true, `{"nickname":"小明","avatar_url":"https://thirdwx.qlogo.cn/a/132"}`},
	{"POST", "/v1/me", true, `{"nickname":"小明"}`},
	{"POST", "/v1/me/wechat", true, `{"appid":"` + appC + `","code":"0a3Xbc"}`},
	{"POST", "/v1/me/wechat/profile", true, `{"appid":"` + appA + `","encrypted_data":"AAAAAAAAAAAAAAAAAAAAAA==","iv":"AAAAAAAAAAAAAAAAAAAAAA==","raw_data":"{}","signature":"0f"}`},
	{"POST", "/v1/me/wechat/unionid", true, `{"appid":"` + appA + `","transaction_id":"4200001234"}`},
	{"POST", "/v1/me/phone", true, `{"appid":"` + appA + `","code":"phonecode"}`},
	{"POST", "/v1/me/phone", true, `{"appid":"` + appA + `","encrypted_data":"AAAAAAAAAAAAAAAAAAAAAA==","iv":"AAAAAAAAAAAAAAAAAAAAAA=="}`},
	{"POST", "/v1/introspect", false, `{"token":"eyJhbGciOiJFUzI1NiJ9.e30.sig","token_type_hint":"access_token"}`},
	{"POST", "/v1/introspect", false, `token=eyJhbGciOiJFUzI1NiJ9.e30.sig&token_type_hint=access_token`},
	{"DELETE", "/v1/me/wechat/", true, appC},
	{"DELETE", "/v1/me/sessions/", true, "ses_0123456789abcdef"},
	{"POST", "/v1/login/cloud", false, "o_0123456789abcdef"},
}

// FuzzAPI sends a fuzzed body (or path id, or Cloud Run openid) to a route of the real API,
// under each content type: no answer is a 5xx, and every 4xx is the JSON error shape.
func FuzzAPI(f *testing.F) {
	s := newFuzzStack(f)
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), uint8(0), []byte(r.seed))
	}
	f.Add(uint8(0), uint8(0), []byte(strings.Repeat("[", 20_000)))
	f.Add(uint8(6), uint8(0), []byte("{\"nickname\":\"\xff\"}"))
	f.Add(uint8(14), uint8(1), []byte("token=%zz"))
	f.Add(uint8(9), uint8(0), []byte(`{"appid":"`+appA+`","encrypted_data":"!!","iv":"AAAA"}`))
	f.Add(uint8(0), uint8(0), []byte(`{"appid":"wx0","appid":"`+appA+`","code":"x","Code":"y"}`)) // duplicate and case-only keys
	f.Add(uint8(2), uint8(0), []byte(`{"username":"a","\u212aey":1,"USERNAME":"b","password":"p"}`))
	cts := []string{"application/json", "application/x-www-form-urlencoded", "", "text/plain", "application/json; charset=utf-8"}
	f.Fuzz(func(t *testing.T, route, ct uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		contentType := cts[int(ct)%len(cts)]
		if r.path == "/v1/introspect" && strings.HasPrefix(r.seed, "token=") && ct == 0 {
			contentType = "application/x-www-form-urlencoded"
		}
		var req *http.Request
		switch {
		case strings.HasSuffix(r.path, "/"):
			req = httptest.NewRequest(r.method, "/", nil)
			req.URL = &url.URL{Path: r.path + string(body), RawPath: r.path + url.PathEscape(string(body))}
		case r.path == "/v1/login/cloud":
			req = httptest.NewRequest(r.method, r.path, nil)
			if v := string(body); validHeaderValue(v) {
				req.Header.Set("X-WX-APPID", appA)
				req.Header.Set("X-WX-OPENID", v)
			}
		default:
			req = httptest.NewRequest(r.method, r.path, strings.NewReader(string(body)))
		}
		if r.auth {
			req.Header.Set("Authorization", "Bearer "+s.access)
		}
		if r.path == "/v1/introspect" {
			req.SetBasicAuth(clientID, clientSec)
		}
		checkAnswer(t, req, s.serve(req, contentType))
	})
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' && v[i] != '\t' || v[i] == 0x7f {
			return false
		}
	}
	return true
}

// FuzzRefreshToken presents fuzzed refresh tokens: none but the live one refreshes, and none is a
// 5xx. Seeds are the live token and near misses of it.
func FuzzRefreshToken(f *testing.F) {
	s := newFuzzStack(f)
	live := s.refresh
	f.Add(live[:len(live)-1] + "A")
	f.Add(live + "=")
	f.Add(strings.ToUpper(live))
	f.Add(s.access)
	f.Add("")
	f.Add(strings.Repeat("r", 300))
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == live {
			return
		}
		b, _ := json.Marshal(map[string]string{"refresh_token": tok})
		req := httptest.NewRequest("POST", "/v1/token/refresh", strings.NewReader(string(b)))
		rec := s.serve(req, "application/json")
		checkAnswer(t, req, rec)
		if rec.Code == 200 {
			t.Fatalf("refresh token %q, not the live one, refreshed", tok)
		}
	})
}

// FuzzBearer presents fuzzed Authorization headers to GET /v1/me and fuzzed tokens to
// introspection: only the genuine token is accepted, and nothing is a 5xx.
func FuzzBearer(f *testing.F) {
	s := newFuzzStack(f)
	good := "Bearer " + s.access
	f.Add(good)
	f.Add("bearer " + s.access)
	f.Add("Bearer " + s.access[:len(s.access)-2])
	f.Add("Bearer " + s.refresh)
	f.Add("Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.e30.")
	f.Add("Basic Zm9vOmJhcg==")
	f.Fuzz(func(t *testing.T, h string) {
		if !validHeaderValue(h) {
			return // net/http never delivers such a header
		}
		req := httptest.NewRequest("GET", "/v1/me", nil)
		req.Header.Set("Authorization", h)
		rec := s.serve(req, "")
		checkAnswer(t, req, rec)
		scheme, rest, cut := strings.Cut(h, " ") // the scheme is case-insensitive (RFC 7235)
		genuine := cut && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == s.access
		if rec.Code == 200 && !genuine {
			t.Fatalf("Authorization %q accepted", h)
		}
		tok := strings.TrimPrefix(h, "Bearer ")
		if tok == "" {
			return
		}
		req = httptest.NewRequest("POST", "/v1/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.SetBasicAuth(clientID, clientSec)
		rec = s.serve(req, "application/x-www-form-urlencoded")
		checkAnswer(t, req, rec)
		if rec.Code == 200 && strings.Contains(rec.Body.String(), `"active":true`) && strings.TrimSpace(tok) != s.access {
			t.Fatalf("token %q introspected as active", tok)
		}
	})
}
