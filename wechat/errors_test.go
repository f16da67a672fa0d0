package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// scripted is a WeChat server whose answer for each path the test chooses.
type scripted struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	calls    map[string]int
	queries  map[string][]string // raw query strings, by path
	bodies   map[string][]string
}

func newScripted(t *testing.T) *scripted {
	s := &scripted{t: t, handlers: map[string]http.HandlerFunc{}, calls: map[string]int{}, queries: map[string][]string{}, bodies: map[string][]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.calls[r.URL.Path]++
		s.queries[r.URL.Path] = append(s.queries[r.URL.Path], r.URL.RawQuery)
		s.bodies[r.URL.Path] = append(s.bodies[r.URL.Path], string(body))
		h := s.handlers[r.URL.Path]
		s.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

func (s *scripted) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

func (s *scripted) client(cfg wechat.Config) *wechat.Client {
	cfg.BaseURL = s.srv.URL
	if cfg.AppID == "" {
		cfg.AppID = "wxd2a1b3c4e5f60718"
	}
	if cfg.Secret == "" {
		cfg.Secret = "appsecret-for-tests"
	}
	return wechat.NewClient(cfg)
}

// serveFixture answers with testdata/<path>/<name>.json as it is, with HTTP 200.
func serveFixture(t testing.TB, path, name string) http.HandlerFunc {
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(path[1:]), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return serveRaw(http.StatusOK, "application/json; charset=UTF-8", string(b))
}

func serveRaw(status int, ctype, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// sequence answers the n-th call with hs[n], and later calls with the last one.
func sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(n, len(hs)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

var apiCalls = map[string]func(context.Context, *wechat.Client) error{
	"/sns/jscode2session": func(ctx context.Context, c *wechat.Client) error {
		_, err := c.Code2Session(ctx, "023MVZhy15eDoa0Et4iy1SLVhy1MVZhS")
		return err
	},
	"/cgi-bin/token": func(ctx context.Context, c *wechat.Client) error {
		_, err := c.FetchToken(ctx)
		return err
	},
	"/cgi-bin/stable_token": func(ctx context.Context, c *wechat.Client) error {
		_, err := c.FetchStableToken(ctx, false)
		return err
	},
	"/wxa/checksession": func(ctx context.Context, c *wechat.Client) error {
		return c.CheckSessionKey(ctx, "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg==")
	},
	"/wxa/resetusersessionkey": func(ctx context.Context, c *wechat.Client) error {
		_, err := c.ResetUserSessionKey(ctx, "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg==")
		return err
	},
	"/wxa/business/getuserphonenumber": func(ctx context.Context, c *wechat.Client) error {
		_, err := c.GetPhoneNumber(ctx, strings.Repeat("ab", 32), "")
		return err
	},
	"/wxa/getpaidunionid": func(ctx context.Context, c *wechat.Client) error {
		_, err := c.GetPaidUnionID(ctx, "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "4200001234202411210000000001")
		return err
	},
}

// documentedCodes lists, per API, the error codes of docs/wechat-api.md §1–§7 (plus the token errors of
// the APIs that take an access token): each must have a fixture.
var documentedCodes = map[string][]int{
	"/sns/jscode2session":              {-1, 40029, 40163, 40226, 45011},
	"/cgi-bin/token":                   {-1, 40001, 40002, 40013, 40125, 40164, 40243, 41004, 50004, 50007},
	"/cgi-bin/stable_token":            {-1, 40002, 40013, 40125, 40164, 41002, 41004, 43002, 45009, 45011, 89503, 89506, 89507},
	"/wxa/checksession":                {-1, 40001, 42001, 45011, 87007, 87008, 87009},
	"/wxa/resetusersessionkey":         {-1, 40001, 42001, 40097, 45011, 87007, 87008, 87009},
	"/wxa/business/getuserphonenumber": {-1, 40001, 42001, 40013, 40029, 45011},
	"/wxa/getpaidunionid":              {-1, 40001, 42001, 40003, 45011, 89002, 89300},
}

var predicates = []struct {
	name string
	f    func(error) bool
	want func(api string, code int) bool
}{
	{"IsSystemBusy", wechat.IsSystemBusy, func(_ string, c int) bool { return c == -1 }},
	{"IsInvalidCode", wechat.IsInvalidCode, func(_ string, c int) bool { return c == 40029 }},
	{"IsCodeUsed", wechat.IsCodeUsed, func(_ string, c int) bool { return c == 40163 }},
	{"IsUserBlocked", wechat.IsUserBlocked, func(_ string, c int) bool { return c == 40226 }},
	{"IsRateLimited", wechat.IsRateLimited, func(_ string, c int) bool { return c == 45011 || c == 45009 }},
	{"IsTokenInvalid", wechat.IsTokenInvalid, func(api string, c int) bool {
		return (c == 40001 || c == 42001 || c == 40014) && !strings.HasPrefix(api, "/cgi-bin/")
	}},
	{"IsInvalidSignature", wechat.IsInvalidSignature, func(_ string, c int) bool { return c == 87009 }},
	{"IsSessionKeyExpired", wechat.IsSessionKeyExpired, func(_ string, c int) bool { return c == 87007 }},
	{"IsTemporary", wechat.IsTemporary, func(_ string, c int) bool { return c == -1 || c == 45011 }},
}

func needsToken(api string) bool { return strings.HasPrefix(api, "/wxa/") }

func TestAPIErrorFixtures(t *testing.T) {
	ctx := context.Background()
	apis := make([]string, 0, len(apiCalls))
	for api := range apiCalls {
		apis = append(apis, api)
	}
	sort.Strings(apis)
	for _, api := range apis {
		files, err := filepath.Glob(filepath.Join("testdata", filepath.FromSlash(api[1:]), "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		have := map[int]bool{}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".json")
			code, err := strconv.Atoi(name)
			if err != nil {
				continue // ok*.json
			}
			have[code] = true
			t.Run(fmt.Sprintf("%s/%d", api, code), func(t *testing.T) {
				s := newScripted(t)
				s.handle("/cgi-bin/stable_token", serveFixture(t, "/cgi-bin/stable_token", "ok"))
				s.handle(api, serveFixture(t, api, name))
				want := fixture(t, api[1:], name)
				err := apiCalls[api](ctx, s.client(wechat.Config{}))
				var ae *wechat.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("got %T %v, want *APIError", err, err)
				}
				if ae.Code != code || ae.API != api || ae.Msg != want["errmsg"] {
					t.Errorf("got %+v, want code %d, api %s, msg %q", ae, code, api, want["errmsg"])
				}
				if wechat.APICode(err) != code {
					t.Errorf("APICode = %d", wechat.APICode(err))
				}
				for _, p := range predicates {
					if got := p.f(err); got != p.want(api, code) {
						t.Errorf("%s = %v", p.name, got)
					}
				}
				wantCalls, wantTokens := 1, 0
				if needsToken(api) {
					wantTokens = 1
					if code == 40001 || code == 42001 {
						wantCalls, wantTokens = 2, 2 // refreshed and retried exactly once
					}
					if code == -1 && (api == "/wxa/checksession" || api == "/wxa/getpaidunionid") {
						wantCalls = 2 // read-only: retried once when WeChat is busy
					}
				}
				if n := s.count(api); n != wantCalls {
					t.Errorf("%s called %d times, want %d", api, n, wantCalls)
				}
				if n := s.count("/cgi-bin/stable_token"); api != "/cgi-bin/stable_token" && n != wantTokens {
					t.Errorf("stable_token called %d times, want %d", n, wantTokens)
				}
			})
		}
		for _, c := range documentedCodes[api] {
			if !have[c] {
				t.Errorf("%s: no fixture for documented error %d", api, c)
			}
		}
	}
}

func TestSuccessFixtures(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	s := newScripted(t)
	c := s.client(wechat.Config{Now: func() time.Time { return now }})

	s.handle("/sns/jscode2session", serveFixture(t, "/sns/jscode2session", "ok"))
	sess, err := c.Code2Session(ctx, "023MVZhy15eDoa0Et4iy1SLVhy1MVZhS")
	if err != nil || sess.OpenID != "oVBkZ0aYgDMDIywRdgPW8-joxXc4" || sess.SessionKey != "xLZ2TFyWlXSH9j7KmL4vDg==" || sess.UnionID != "" {
		t.Errorf("Code2Session = %+v, %v", sess, err)
	}
	if q := s.queries["/sns/jscode2session"][0]; q != "appid=wxd2a1b3c4e5f60718&grant_type=authorization_code&js_code=023MVZhy15eDoa0Et4iy1SLVhy1MVZhS&secret=appsecret-for-tests" {
		t.Errorf("jscode2session query %q", q)
	}
	s.handle("/sns/jscode2session", serveFixture(t, "/sns/jscode2session", "ok_unionid"))
	if sess, err := c.Code2Session(ctx, "x"); err != nil || sess.UnionID != "oGW1Ht_Hy4T5Ze9Z6ZlYiqyeFsgY" {
		t.Errorf("Code2Session (unionid) = %+v, %v", sess, err)
	}

	s.handle("/cgi-bin/stable_token", serveFixture(t, "/cgi-bin/stable_token", "ok"))
	tok, err := c.FetchStableToken(ctx, true)
	if err != nil || !tok.ExpiresAt.Equal(now.Add(7200*time.Second)) || !strings.HasPrefix(tok.AccessToken.Reveal(), "76_") {
		t.Errorf("FetchStableToken = %+v, %v", tok, err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(s.bodies["/cgi-bin/stable_token"][0]), &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{"grant_type": "client_credential", "appid": "wxd2a1b3c4e5f60718", "secret": "appsecret-for-tests", "force_refresh": true}
	if fmt.Sprint(body) != fmt.Sprint(wantBody) {
		t.Errorf("stable_token body %v, want %v", body, wantBody)
	}

	s.handle("/cgi-bin/token", serveFixture(t, "/cgi-bin/token", "ok"))
	if tok, err := c.FetchToken(ctx); err != nil || !tok.ExpiresAt.Equal(now.Add(7200*time.Second)) {
		t.Errorf("FetchToken = %+v, %v", tok, err)
	}
	if q := s.queries["/cgi-bin/token"][0]; q != "appid=wxd2a1b3c4e5f60718&grant_type=client_credential&secret=appsecret-for-tests" {
		t.Errorf("token query %q", q)
	}

	const openid, key = "oVBkZ0aYgDMDIywRdgPW8-joxXc4", wxlogin.Secret("xLZ2TFyWlXSH9j7KmL4vDg==")
	s.handle("/wxa/checksession", serveFixture(t, "/wxa/checksession", "ok"))
	if err := c.CheckSessionKey(ctx, openid, key); err != nil {
		t.Errorf("CheckSessionKey: %v", err)
	}
	wantQuery := "access_token=" + tok.AccessToken.Reveal() + "&openid=" + openid + "&sig_method=hmac_sha256&signature=" + wechat.LoginStateSignature(key, nil)
	if q := s.queries["/wxa/checksession"][0]; q != wantQuery {
		t.Errorf("checksession query %q, want %q", q, wantQuery)
	}

	s.handle("/wxa/resetusersessionkey", serveFixture(t, "/wxa/resetusersessionkey", "ok"))
	if nk, err := c.ResetUserSessionKey(ctx, openid, key); err != nil || nk != "9Uu4tDZ9Gcp7J0qB3m2X0w==" {
		t.Errorf("ResetUserSessionKey: %v", err)
	}
	if q := s.queries["/wxa/resetusersessionkey"][0]; q != wantQuery {
		t.Errorf("resetusersessionkey query %q, want %q", q, wantQuery)
	}

	for _, tc := range []struct{ name, openid, number, pure, country, body string }{
		{"ok", "", "13580006666", "13580006666", "86", `{"code":"` + strings.Repeat("ab", 32) + `"}`},
		{"ok_number", openid, "+1 5551234567", "5551234567", "1", `{"code":"` + strings.Repeat("ab", 32) + `","openid":"` + openid + `"}`},
	} {
		s.handle("/wxa/business/getuserphonenumber", serveFixture(t, "/wxa/business/getuserphonenumber", tc.name))
		p, err := c.GetPhoneNumber(ctx, strings.Repeat("ab", 32), tc.openid)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := wechat.PhoneInfo{PhoneNumber: tc.number, PurePhoneNumber: tc.pure, CountryCode: tc.country, Watermark: wechat.Watermark{AppID: "wxd2a1b3c4e5f60718", Timestamp: 1637744274}}
		if *p != want {
			t.Errorf("%s: got %+v, want %+v", tc.name, *p, want)
		}
		bodies := s.bodies["/wxa/business/getuserphonenumber"]
		if got := bodies[len(bodies)-1]; got != tc.body {
			t.Errorf("%s: body %s, want %s", tc.name, got, tc.body)
		}
	}

	s.handle("/wxa/getpaidunionid", serveFixture(t, "/wxa/getpaidunionid", "ok"))
	if u, err := c.GetPaidUnionID(ctx, openid, "4200001234"); err != nil || u != "oGW1Ht_Hy4T5Ze9Z6ZlYiqyeFsgY" {
		t.Errorf("GetPaidUnionID = %q, %v", u, err)
	}
	if n := s.count("/cgi-bin/stable_token"); n != 2 {
		t.Errorf("stable_token fetched %d times, want 2 (one explicit FetchStableToken, which must not fill the cache, then one for all the /wxa calls)", n)
	}
}

func TestPhoneInfoCountryCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"countryCode":"86"}`, "86"},
		{`{"countryCode":86}`, "86"},
		{`{"countryCode":null}`, ""},
		{`{}`, ""},
	} {
		var p wechat.PhoneInfo
		if err := json.Unmarshal([]byte(tc.in), &p); err != nil || p.CountryCode != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.in, p.CountryCode, err, tc.want)
		}
	}
	var p wechat.PhoneInfo
	if err := json.Unmarshal([]byte(`{"countryCode":{}}`), &p); err == nil {
		t.Errorf("object countryCode accepted")
	}
}

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()
	big := `{"openid":"` + strings.Repeat("x", 1<<20) + `","session_key":"k"}`
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		api  bool // an *APIError rather than a *TransportError
	}{
		{"html 502", serveRaw(502, "text/html", "<html><body>502 Bad Gateway</body></html>"), false},
		{"500 empty", serveRaw(500, "text/plain", ""), false},
		{"503 json errcode", serveRaw(503, "application/json", `{"errcode":-1,"errmsg":"system error"}`), true},
		{"long errmsg", serveRaw(200, "application/json", `{"errcode":-1,"errmsg":"`+strings.Repeat("系统繁忙", 1000)+`"}`), true},
		{"500 json without errcode", serveRaw(500, "application/json", `{}`), false},
		{"truncated json", serveRaw(200, "application/json", `{"openid":"oVBk`), false},
		{"trailing garbage", serveRaw(200, "application/json", `{"openid":"o","session_key":"k"} xx`), false},
		{"json array", serveRaw(200, "application/json", `[]`), false},
		{"errcode string", serveRaw(200, "application/json", `{"errcode":"40029"}`), false},
		{"body over 1 MiB", serveRaw(200, "application/json", big), false},
		{"empty object", serveRaw(200, "application/json", `{}`), false},
		{"no session_key", serveRaw(200, "application/json", `{"openid":"oVBkZ0aYgDMDIywRdgPW8-joxXc4"}`), false},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere?"+r.URL.RawQuery, http.StatusFound)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScripted(t)
			s.handle("/sns/jscode2session", tc.h)
			s.handle("/elsewhere", serveFixture(t, "/sns/jscode2session", "ok"))
			_, err := s.client(wechat.Config{}).Code2Session(ctx, "023MVZhy15eDoa0Et4iy1SLVhy1MVZhS")
			var te *wechat.TransportError
			var ae *wechat.APIError
			switch {
			case tc.api && !errors.As(err, &ae):
				t.Fatalf("got %T %v, want *APIError", err, err)
			case !tc.api && !errors.As(err, &te):
				t.Fatalf("got %T %v, want *TransportError", err, err)
			case !tc.api && te.API != "/sns/jscode2session":
				t.Errorf("API = %q", te.API)
			case tc.api && (len(ae.Msg) > 520 || !utf8.ValidString(ae.Msg)):
				t.Errorf("errmsg kept as %d bytes (valid UTF-8: %v)", len(ae.Msg), utf8.ValidString(ae.Msg))
			}
			if !wechat.IsTemporary(err) {
				t.Errorf("IsTemporary = false")
			}
			if s.count("/elsewhere") != 0 {
				t.Errorf("redirect followed")
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		s := newScripted(t)
		release := make(chan struct{})
		defer close(release)
		s.handle("/sns/jscode2session", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		_, err := s.client(wechat.Config{HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}}).Code2Session(ctx, "code")
		var te *wechat.TransportError
		var ne net.Error
		if !errors.As(err, &te) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("got %T %v, want a *TransportError that is a timeout", err, err)
		}
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err = s.client(wechat.Config{}).Code2Session(cctx, "code")
		if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %T %v, want a *TransportError wrapping context.DeadlineExceeded", err, err)
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		s := newScripted(t)
		c := s.client(wechat.Config{})
		s.srv.Close()
		_, err := c.Code2Session(ctx, "code")
		var te *wechat.TransportError
		if !errors.As(err, &te) || !wechat.IsTemporary(err) {
			t.Fatalf("got %T %v, want *TransportError", err, err)
		}
	})
}

// TestNoSecretsInErrorsOrLogs triggers every kind of failure with recognisable secrets and checks
// that none of them reaches an error message or a log line.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	const (
		secret = "APPSECRETabcdef0123456789"
		code   = "LOGINCODE0a1b2c3d4e5f6a7b8c9d0e1"
		phone  = "PHONECODE00112233445566778899aabbccddeeff00112233445566778899aa"
		token  = "ACCESSTOKEN_0123456789abcdefghijkl"
		key    = wxlogin.Secret("U0VTU0lPTktFWWtleWtleQ==")
		openid = "oVBkZ0aYgDMDIywRdgPW8-joxXc4"
	)
	sig := wechat.LoginStateSignature(key, nil)
	secrets := []string{secret, code, phone, token, key.Reveal(), sig}
	echo := func(w http.ResponseWriter, r *http.Request) {
		// A server that quotes the whole request back, to check that redaction catches it.
		b, _ := io.ReadAll(r.Body)
		msg := fmt.Sprintf("invalid %s %s, rid: 1", r.URL.String(), b)
		json.NewEncoder(w).Encode(map[string]any{"errcode": 40029, "errmsg": msg})
	}
	echoHTML := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		fmt.Fprintf(w, "<html>%s</html>", r.URL.String())
	}
	reset := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	stable := serveRaw(200, "application/json", `{"access_token":"`+token+`","expires_in":7200}`)
	calls := []struct {
		api  string
		call func(context.Context, *wechat.Client) error
	}{
		{"/sns/jscode2session", func(ctx context.Context, c *wechat.Client) error { _, err := c.Code2Session(ctx, code); return err }},
		{"/cgi-bin/token", func(ctx context.Context, c *wechat.Client) error { _, err := c.FetchToken(ctx); return err }},
		{"/cgi-bin/stable_token", func(ctx context.Context, c *wechat.Client) error { _, err := c.AccessToken(ctx); return err }},
		{"/wxa/checksession", func(ctx context.Context, c *wechat.Client) error { return c.CheckSessionKey(ctx, openid, key) }},
		{"/wxa/resetusersessionkey", func(ctx context.Context, c *wechat.Client) error {
			_, err := c.ResetUserSessionKey(ctx, openid, key)
			return err
		}},
		{"/wxa/business/getuserphonenumber", func(ctx context.Context, c *wechat.Client) error {
			_, err := c.GetPhoneNumber(ctx, phone, openid)
			return err
		}},
		{"/wxa/getpaidunionid", func(ctx context.Context, c *wechat.Client) error {
			_, err := c.GetPaidUnionID(ctx, openid, "4200001234")
			return err
		}},
	}
	failures := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"echoing errmsg", echo},
		{"echoing html", echoHTML},
		{"connection reset", reset},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"refused", nil},
	}
	for _, c := range calls {
		for _, f := range failures {
			t.Run(c.api+"/"+f.name, func(t *testing.T) {
				var logs bytes.Buffer
				s := newScripted(t)
				cl := s.client(wechat.Config{
					Secret:     secret,
					HTTPClient: &http.Client{Timeout: 100 * time.Millisecond},
					Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				})
				if c.api != "/cgi-bin/stable_token" {
					s.handle("/cgi-bin/stable_token", stable)
				}
				s.handle(c.api, f.h)
				if f.h == nil {
					// Refused after the token was fetched: the URL of the failing call holds it.
					if strings.HasPrefix(c.api, "/wxa/") {
						if _, err := cl.AccessToken(context.Background()); err != nil {
							t.Fatal(err)
						}
					}
					s.srv.Close()
				}
				err := c.call(context.Background(), cl)
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.Contains(logs.String(), "wechat call failed") {
					t.Errorf("failure not logged: %s", logs.String())
				}
				if f.name != "echoing errmsg" && strings.ContainsAny(err.Error(), "?&") {
					t.Errorf("error quotes a URL: %s", err)
				}
				for _, v := range secrets {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error contains %q: %s", v, err)
					}
					if strings.Contains(fmt.Sprintf("%+v %#v", err, err), v) {
						t.Errorf("formatted error contains %q", v)
					}
					if strings.Contains(logs.String(), v) {
						t.Errorf("log contains %q: %s", v, logs.String())
					}
				}
			})
		}
	}
}
