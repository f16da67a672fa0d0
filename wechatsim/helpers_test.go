package wechatsim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	appA     = "wx1111111111111111" // platform "open1"
	appB     = "wx2222222222222222" // platform "open1"
	appC     = "wx3333333333333333" // no platform
	appD     = "wx4444444444444444" // platform "open2"
	secretA  = "secretA0000000000000000000000000"
	secretB  = "secretB0000000000000000000000000"
	secretC  = "secretC0000000000000000000000000"
	secretD  = "secretD0000000000000000000000000"
	platform = "open1"
)

var secrets = map[string]string{appA: secretA, appB: secretB, appC: secretC, appD: secretD}

// harness is a simulator served over HTTP with a fixed base clock.
type harness struct {
	t   *testing.T
	sim *Sim
	srv *httptest.Server
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Apps == nil {
		opts.Apps = []App{
			{ID: appA, Secret: secretA, Platform: platform},
			{ID: appB, Secret: secretB, Platform: platform},
			{ID: appC, Secret: secretC},
			{ID: appD, Secret: secretD, Platform: "open2"},
		}
	}
	if opts.Now == nil {
		base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		opts.Now = func() time.Time { return base }
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: s, srv: srv}
}

// do sends a request and returns the HTTP status and the decoded JSON object.
func (h *harness) do(method, path string, q url.Values, body string) (int, map[string]any) {
	h.t.Helper()
	u := h.srv.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		h.t.Fatalf("%s %s: body is not a JSON object: %q", method, path, b)
	}
	return resp.StatusCode, m
}

func (h *harness) get(path string, q url.Values) map[string]any {
	h.t.Helper()
	status, m := h.do(http.MethodGet, path, q, "")
	if status != http.StatusOK {
		h.t.Fatalf("GET %s: status %d, want 200 (WeChat answers errors with 200)", path, status)
	}
	return m
}

func (h *harness) post(path string, q url.Values, body any) map[string]any {
	h.t.Helper()
	b, _ := json.Marshal(body)
	status, m := h.do(http.MethodPost, path, q, string(b))
	if status != http.StatusOK {
		h.t.Fatalf("POST %s: status %d, want 200", path, status)
	}
	return m
}

// ctl calls the control plane and checks the status.
func (h *harness) ctl(method, path string, body any, wantStatus int) map[string]any {
	h.t.Helper()
	var s string
	if body != nil {
		b, _ := json.Marshal(body)
		s = string(b)
	}
	status, m := h.do(method, path, nil, s)
	if status != wantStatus {
		h.t.Fatalf("%s %s: status %d (%v), want %d", method, path, status, m, wantStatus)
	}
	return m
}

func (h *harness) login(appid, user string) string {
	h.t.Helper()
	m := h.ctl(http.MethodPost, "/sim/login", map[string]string{"appid": appid, "user": user}, http.StatusOK)
	return m["code"].(string)
}

func (h *harness) code2Session(appid, code string) map[string]any {
	h.t.Helper()
	return h.get(PathCode2Session, url.Values{"appid": {appid}, "secret": {secrets[appid]},
		"js_code": {code}, "grant_type": {"authorization_code"}})
}

// session logs user in and exchanges the code: it returns openid and session_key.
func (h *harness) session(appid, user string) (string, string) {
	h.t.Helper()
	m := h.code2Session(appid, h.login(appid, user))
	if _, ok := m["errcode"]; ok {
		h.t.Fatalf("code2Session: %v", m)
	}
	return m["openid"].(string), m["session_key"].(string)
}

func (h *harness) token(appid string) string {
	h.t.Helper()
	m := h.get(PathToken, url.Values{"grant_type": {"client_credential"}, "appid": {appid}, "secret": {secrets[appid]}})
	tok, _ := m["access_token"].(string)
	if tok == "" {
		h.t.Fatalf("token: %v", m)
	}
	return tok
}

func (h *harness) stable(appid string, force bool) (string, int64) {
	h.t.Helper()
	m := h.post(PathStableToken, nil, map[string]any{"grant_type": "client_credential", "appid": appid,
		"secret": secrets[appid], "force_refresh": force})
	tok, _ := m["access_token"].(string)
	if tok == "" {
		h.t.Fatalf("stable_token: %v", m)
	}
	n, _ := m["expires_in"].(json.Number).Int64()
	return tok, n
}

func (h *harness) checkSession(tok, openid, key string) map[string]any {
	h.t.Helper()
	return h.get(PathCheckSession, url.Values{"access_token": {tok}, "openid": {openid},
		"signature": {hmacSig(key)}, "sig_method": {"hmac_sha256"}})
}

// hmacSig is the login-state signature, computed independently of the simulator's own code.
func hmacSig(key string) string {
	m := hmac.New(sha256.New, []byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

var ridSuffix = regexp.MustCompile(`, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

// wantErr fails unless m is a WeChat error with errcode want and a rid-suffixed errmsg.
func wantErr(t *testing.T, m map[string]any, want int) {
	t.Helper()
	got, ok := m["errcode"].(json.Number)
	if !ok || got.String() != strconv.Itoa(want) {
		t.Fatalf("errcode = %v, want %d (body %v)", m["errcode"], want, m)
	}
	msg, _ := m["errmsg"].(string)
	if want != 0 && !ridSuffix.MatchString(msg) {
		t.Fatalf("errmsg %q lacks the rid suffix", msg)
	}
	if want == 0 && msg != "ok" {
		t.Fatalf("errmsg = %q, want ok", msg)
	}
}

// decryptOpenData is an independent AES-128-CBC/PKCS#7 decryption of WeChat encrypted open data.
func decryptOpenData(t *testing.T, sessionKey, iv, data string) []byte {
	t.Helper()
	key, err1 := base64.StdEncoding.DecodeString(sessionKey)
	ivb, err2 := base64.StdEncoding.DecodeString(iv)
	ct, err3 := base64.StdEncoding.DecodeString(data)
	if err1 != nil || err2 != nil || err3 != nil || len(key) != 16 || len(ivb) != 16 || len(ct) == 0 || len(ct)%16 != 0 {
		t.Fatalf("bad base64 or lengths")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > 16 || !bytes.Equal(pt[len(pt)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		t.Fatalf("bad padding")
	}
	return pt[:len(pt)-pad]
}
