package wechatsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

func TestParseApp(t *testing.T) {
	tests := []struct {
		in   string
		want App
		ok   bool
	}{
		{"wx1111111111111111:s3cret", App{ID: "wx1111111111111111", Secret: "s3cret"}, true},
		{"wx1111111111111111:s3cret:open1", App{ID: "wx1111111111111111", Secret: "s3cret", Platform: "open1"}, true},
		{"", App{}, false},
		{"wx11", App{}, false},
		{":s3cret", App{}, false},
		{"wx11:", App{}, false},
		{"wx11:s3cret:", App{}, false},
		{"wx11:s3cret:p:extra", App{}, false},
		{"wx 11:s3cret", App{}, false},
		{"wx11:s3 cret", App{}, false},
	}
	for _, tt := range tests {
		got, err := ParseApp(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseApp(%q) = %+v, %v", tt.in, got, err)
		}
		if err != nil {
			if wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Errorf("ParseApp(%q): code %q", tt.in, wxlogin.ErrorCode(err))
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "s3 cret") {
				t.Errorf("ParseApp(%q) error quotes the secret: %v", tt.in, err)
			}
		}
	}
}

func TestAppNeverPrintsSecret(t *testing.T) {
	a := App{ID: "wx1", Secret: "topsecret", Platform: "p"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "app", a)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), a.String(), buf.String()} {
		if strings.Contains(s, "topsecret") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestControlPlane(t *testing.T) {
	h := newHarness(t, Options{})
	post := http.MethodPost
	h.ctl(post, "/sim/login", map[string]string{"appid": appA}, http.StatusBadRequest)
	h.ctl(post, "/sim/login", map[string]string{"appid": "wxnope", "user": "u"}, http.StatusNotFound)
	h.ctl(post, "/sim/login", map[string]any{"appid": appA, "user": "u", "extra": 1}, http.StatusBadRequest)
	status, m := h.do(post, "/sim/login", nil, "{")
	if status != http.StatusBadRequest || m["error"] == nil {
		t.Fatalf("bad JSON: %d %v", status, m)
	}
	h.ctl(http.MethodGet, "/sim/login", nil, http.StatusMethodNotAllowed)
	h.ctl(http.MethodGet, "/sim/nope", nil, http.StatusNotFound)
	h.ctl(post, "/sim/expire", map[string]string{"appid": appA, "user": "never-seen"}, http.StatusNotFound)
	h.ctl(post, "/sim/block", map[string]string{"appid": appA, "user": "u"}, http.StatusBadRequest)
	h.ctl(post, "/sim/clock", map[string]any{}, http.StatusBadRequest)

	// Apps at run time; secrets never listed; duplicates refused.
	const appE, secretE = "wx5555555555555555", "secretE"
	h.ctl(post, "/sim/apps", map[string]string{"appid": appE, "secret": secretE, "platform": platform}, http.StatusCreated)
	h.ctl(post, "/sim/apps", map[string]string{"appid": appE, "secret": secretE}, http.StatusConflict)
	h.ctl(post, "/sim/apps", map[string]string{"appid": "wx6"}, http.StatusBadRequest)
	_, list := h.do(http.MethodGet, "/sim/apps", nil, "")
	if b, _ := json.Marshal(list); strings.Contains(string(b), secretE) || !strings.Contains(string(b), appE) {
		t.Fatalf("/sim/apps = %s", b)
	}
	secrets[appE] = secretE
	defer delete(secrets, appE)
	if m := h.code2Session(appE, h.login(appE, "u")); m["unionid"] != h.sim.UnionID(platform, "u") {
		t.Fatalf("run-time app: %v", m)
	}

	// Clock.
	before := h.sim.Now()
	m = h.ctl(post, "/sim/clock", map[string]any{"advance_seconds": 90}, http.StatusOK)
	if d := h.sim.Now().Sub(before); d != 90*time.Second {
		t.Fatalf("clock moved %v", d)
	}
	if n, _ := m["now"].(json.Number).Int64(); n != h.sim.Now().Unix() {
		t.Fatalf("clock answer %v", m)
	}

	// Stats.
	h.get(PathCheckSession, nil)
	h.get(PathCheckSession, nil)
	stats := h.ctl(http.MethodGet, "/sim/stats", nil, http.StatusOK)["calls"].(map[string]any)
	if stats[PathCheckSession] != json.Number("2") || stats[PathCode2Session] != json.Number("1") {
		t.Fatalf("stats %v", stats)
	}

	// Unknown WeChat paths answer a WeChat-shaped error.
	status, m = h.do(http.MethodGet, "/cgi-bin/nope", nil, "")
	if status != http.StatusNotFound {
		t.Fatalf("unknown path status %d", status)
	}
	wantErr(t, m, 40066)
}

func TestAddAppAndNewValidation(t *testing.T) {
	var buf bytes.Buffer
	s := New(Options{Apps: []App{{ID: "wx1", Secret: "hush"}, {ID: "wx1", Secret: "hush2"}, {ID: "", Secret: "x"}},
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if len(s.Apps()) != 1 {
		t.Fatalf("apps %v", s.Apps())
	}
	if strings.Contains(buf.String(), "hush") || !strings.Contains(buf.String(), "skipped") {
		t.Fatalf("log %q", buf.String())
	}
	var e *wxlogin.Error
	if err := s.AddApp(App{ID: "wx1", Secret: "y"}); !errors.As(err, &e) || e.Code != wxlogin.ECONFLICT {
		t.Fatalf("duplicate AddApp: %v", err)
	}
	if _, err := s.Login("wx2", "u"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Fatalf("Login unknown app: %v", err)
	}
	if _, err := s.Login("wx1", ""); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Fatalf("Login empty user: %v", err)
	}
}

// TestNoSecretsLogged runs every API at debug level and checks the log never carries a secret, a
// session_key, a code or a token.
func TestNoSecretsLogged(t *testing.T) {
	var buf syncBuffer
	h := newHarness(t, Options{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	code := h.login(appA, "u")
	m := h.code2Session(appA, code)
	tok := h.token(appA)
	stable, _ := h.stable(appA, false)
	h.checkSession(tok, m["openid"].(string), m["session_key"].(string))
	reset := h.get(PathResetSessionKey, url.Values{"access_token": {tok}, "openid": {m["openid"].(string)},
		"signature": {hmacSig(m["session_key"].(string))}, "sig_method": {"hmac_sha256"}})
	h.code2Session(appA, "bad")
	logged := buf.String()
	if !strings.Contains(logged, PathCode2Session) {
		t.Fatalf("nothing logged: %q", logged)
	}
	for _, secret := range append(h.sim.IssuedSessionKeys(), secretA, code, tok, stable, reset["session_key"].(string)) {
		if strings.Contains(logged, secret) {
			t.Fatalf("log carries a secret: %q", logged)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestConcurrent hits the simulator from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	h := newHarness(t, Options{})
	client := h.srv.Client()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("user%d", g%4)
			for i := 0; i < 10; i++ {
				code, err := h.sim.Login(appA, user)
				if err != nil {
					errs <- err
					return
				}
				q := url.Values{"appid": {appA}, "secret": {secretA}, "js_code": {code}, "grant_type": {"authorization_code"}}
				resp, err := client.Get(h.srv.URL + PathCode2Session + "?" + q.Encode())
				if err != nil {
					errs <- err
					return
				}
				var m map[string]any
				err = json.NewDecoder(resp.Body).Decode(&m)
				resp.Body.Close()
				if err != nil || m["openid"] != OpenID(appA, user) {
					errs <- fmt.Errorf("code2Session: %v %v", m, err)
					return
				}
				body := fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, appA, secretA)
				resp, err = client.Post(h.srv.URL+PathStableToken, "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				h.sim.Calls(PathStableToken)
				h.sim.IssuedSessionKeys()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := h.sim.Calls(PathCode2Session); got != 160 {
		t.Fatalf("Calls = %d, want 160", got)
	}
}
