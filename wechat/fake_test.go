package wechat_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fixture returns the JSON object of testdata/<api>/<name>.json.
func fixture(t testing.TB, api, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(api), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s/%s: %v", api, name, err)
	}
	return m
}

// fakeWeChat is a small stateful WeChat built from the fixture files: each answer is a fixture, with
// the identifiers of this run put in. It implements just the rules runClientSuite checks.
type fakeWeChat struct {
	t     *testing.T
	mu    sync.Mutex
	apps  map[string]fakeApp
	calls map[string]int
	codes map[string]*fakeCode // wx.login codes
	phone map[string]*fakeCode // phone codes; user holds the phone number
	keys  map[string]string    // appid+"/"+openid → session_key
	token map[string]string    // appid → current stable token
}

type fakeApp struct {
	secret   string
	platform bool
}

type fakeCode struct {
	appid, user string
	used        bool
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func fakeOpenID(appid, user string) string {
	s := sha256.Sum256([]byte(appid + "/" + user))
	return "o" + hex.EncodeToString(s[:])[:27]
}

func newFakeBackend(t *testing.T) backend {
	f := &fakeWeChat{
		t:     t,
		apps:  map[string]fakeApp{"wxplain0000000001": {secret: "plainsecret"}, "wxplatform0000001": {secret: "platformsecret", platform: true}},
		calls: map[string]int{},
		codes: map[string]*fakeCode{},
		phone: map[string]*fakeCode{},
		keys:  map[string]string{},
		token: map[string]string{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return backend{
		baseURL:  srv.URL,
		plain:    testApp{"wxplain0000000001", "plainsecret"},
		platform: testApp{"wxplatform0000001", "platformsecret"},
		now:      time.Now,
		login: func(t *testing.T, appid, user string) string {
			f.mu.Lock()
			defer f.mu.Unlock()
			code := random(16)
			f.codes[code] = &fakeCode{appid: appid, user: user}
			return code
		},
		phoneCode: func(t *testing.T, appid, user, phone string) string {
			f.mu.Lock()
			defer f.mu.Unlock()
			code := random(32)
			f.phone[code] = &fakeCode{appid: appid, user: phone}
			return code
		},
		calls: func(path string) int {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.calls[path]
		},
	}
}

func (f *fakeWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	api := r.URL.Path
	f.mu.Lock()
	f.calls[api]++
	f.mu.Unlock()
	if api == "/cgi-bin/stable_token" {
		time.Sleep(20 * time.Millisecond) // give concurrent callers the chance to pile up
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	resp := f.answer(api, r, q)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(resp)
}

func (f *fakeWeChat) answer(api string, r *http.Request, q map[string][]string) map[string]any {
	t := f.t
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	fx := func(name string) map[string]any { return fixture(t, api[1:], name) }
	tokenApp := func() (string, bool) {
		for appid, tok := range f.token {
			if tok != "" && tok == get("access_token") {
				return appid, true
			}
		}
		return "", false
	}
	switch api {
	case "/sns/jscode2session":
		app, ok := f.apps[get("appid")]
		if !ok || app.secret != get("secret") {
			return fx("40029") // the fake does not model 40013/40125 here
		}
		c := f.codes[get("js_code")]
		switch {
		case c == nil || c.appid != get("appid"):
			return fx("40029")
		case c.used:
			return fx("40163")
		}
		c.used = true
		openid := fakeOpenID(c.appid, c.user)
		k := c.appid + "/" + openid
		if f.keys[k] == "" {
			b := make([]byte, 16)
			rand.Read(b)
			f.keys[k] = base64.StdEncoding.EncodeToString(b)
		}
		m := fx("ok")
		if app.platform {
			m = fx("ok_unionid")
			m["unionid"] = fakeOpenID("platform", c.user)
		}
		m["openid"], m["session_key"] = openid, f.keys[k]
		return m
	case "/cgi-bin/stable_token":
		var req struct {
			GrantType    string `json:"grant_type"`
			AppID        string `json:"appid"`
			Secret       string `json:"secret"`
			ForceRefresh bool   `json:"force_refresh"`
		}
		if r.Method != http.MethodPost {
			return fx("43002")
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.GrantType != "client_credential" {
			return fx("40002")
		}
		app, ok := f.apps[req.AppID]
		if !ok {
			return fx("40013")
		}
		if app.secret != req.Secret {
			return fx("40125")
		}
		if f.token[req.AppID] == "" || req.ForceRefresh {
			f.token[req.AppID] = "tok_" + random(20)
		}
		m := fx("ok")
		m["access_token"] = f.token[req.AppID]
		return m
	case "/wxa/checksession", "/wxa/resetusersessionkey":
		appid, ok := tokenApp()
		if !ok {
			return fx("40001")
		}
		if get("sig_method") != "hmac_sha256" {
			return fx("87008")
		}
		k := appid + "/" + get("openid")
		key := f.keys[k]
		if key == "" {
			return fx("87007")
		}
		m := hmac.New(sha256.New, []byte(key))
		if !hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(get("signature"))) {
			return fx("87009")
		}
		if api == "/wxa/checksession" {
			return fx("ok")
		}
		b := make([]byte, 16)
		rand.Read(b)
		f.keys[k] = base64.StdEncoding.EncodeToString(b)
		out := fx("ok")
		out["openid"], out["session_key"] = get("openid"), f.keys[k]
		return out
	case "/wxa/business/getuserphonenumber":
		appid, ok := tokenApp()
		if !ok {
			return fx("40001")
		}
		var req struct{ Code string }
		json.NewDecoder(r.Body).Decode(&req)
		c := f.phone[req.Code]
		if c == nil || c.used {
			return fx("40029")
		}
		if c.appid != appid {
			return fx("40013")
		}
		c.used = true
		m := fx("ok")
		info := m["phone_info"].(map[string]any)
		info["phoneNumber"], info["purePhoneNumber"] = c.user, c.user
		info["watermark"].(map[string]any)["appid"] = appid
		return m
	}
	return map[string]any{"errcode": 404, "errmsg": fmt.Sprintf("fake: no %s", api)}
}

func TestClientSuiteFixtures(t *testing.T) {
	runClientSuite(t, newFakeBackend(t))
}
