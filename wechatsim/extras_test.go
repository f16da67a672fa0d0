package wechatsim

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUserRiskRank(t *testing.T) {
	h := newHarness(t, Options{})
	openid, _ := h.session(appA, "rita")
	tok := h.token(appA)
	q := url.Values{"access_token": {tok}}
	ask := func(body map[string]any) map[string]any {
		t.Helper()
		return h.post(PathUserRiskRank, q, body)
	}
	rank := func(m map[string]any) int64 {
		t.Helper()
		if m["errcode"].(json.Number).String() != "0" || m["errmsg"] != "getuserriskrank succ" {
			t.Fatalf("answer %v", m)
		}
		if _, ok := m["unoin_id"].(json.Number); !ok {
			t.Fatalf("unoin_id missing: %v", m)
		}
		n, _ := m["risk_rank"].(json.Number).Int64()
		return n
	}
	body := map[string]any{"appid": appA, "openid": openid, "scene": 0, "client_ip": "203.0.113.5"}
	if r := rank(ask(body)); r != 0 {
		t.Fatalf("default rank %d", r)
	}
	h.ctl(http.MethodPost, "/sim/risk", map[string]any{"user": "rita", "rank": 2}, http.StatusOK)
	if r := rank(ask(body)); r != 2 {
		t.Fatalf("rank for every app %d, want 2", r)
	}
	h.ctl(http.MethodPost, "/sim/risk", map[string]any{"appid": appA, "user": "rita", "rank": 4}, http.StatusOK)
	if r := rank(ask(body)); r != 4 {
		t.Fatalf("per-app rank %d, want 4", r)
	}
	h.ctl(http.MethodPost, "/sim/risk", map[string]any{"user": "rita", "rank": 5}, http.StatusBadRequest)
	h.ctl(http.MethodPost, "/sim/risk", map[string]any{"user": "rita"}, http.StatusBadRequest)
	h.ctl(http.MethodPost, "/sim/risk", map[string]any{"appid": "wxnope", "user": "rita", "rank": 1}, http.StatusNotFound)

	wantErr(t, ask(map[string]any{"appid": appB, "openid": openid, "scene": 0, "client_ip": "1.2.3.4"}), 40013)
	wantErr(t, ask(map[string]any{"appid": appA, "openid": "onope", "scene": 0, "client_ip": "1.2.3.4"}), 40003)
	wantErr(t, ask(map[string]any{"appid": appA, "openid": openid, "scene": 2, "client_ip": "1.2.3.4"}), 40097)
	wantErr(t, ask(map[string]any{"appid": appA, "openid": openid, "client_ip": "1.2.3.4"}), 40097)
	wantErr(t, ask(map[string]any{"appid": appA, "openid": openid, "scene": 1}), 40097)
	wantErr(t, h.post(PathUserRiskRank, url.Values{"access_token": {"nope"}}, body), 40001)
}

func TestCheckEncryptedMsg(t *testing.T) {
	h := newHarness(t, Options{})
	_, key := h.session(appA, "pia")
	m := h.ctl(http.MethodPost, "/sim/phone", map[string]any{"appid": appA, "user": "pia", "phone": "13580006666", "encrypted": true}, http.StatusOK)
	enc, iv := m["encryptedData"].(string), m["iv"].(string)
	var plain struct {
		PurePhoneNumber string `json:"purePhoneNumber"`
		CountryCode     string `json:"countryCode"`
		Watermark       struct {
			AppID     string `json:"appid"`
			Timestamp int64  `json:"timestamp"`
		} `json:"watermark"`
	}
	if err := json.Unmarshal(decryptOpenData(t, key, iv, enc), &plain); err != nil || plain.PurePhoneNumber != "13580006666" ||
		plain.CountryCode != "86" || plain.Watermark.AppID != appA || plain.Watermark.Timestamp != h.sim.Now().Unix() {
		t.Fatalf("plaintext %+v, %v", plain, err)
	}
	h.ctl(http.MethodPost, "/sim/phone", map[string]any{"appid": appA, "user": "nobody", "encrypted": true}, http.StatusConflict)

	sum := sha256.Sum256([]byte(enc))
	hash := hex.EncodeToString(sum[:])
	check := func(appid, hash string) map[string]any {
		t.Helper()
		return h.post(PathCheckEncryptedMsg, url.Values{"access_token": {h.token(appid)}}, map[string]string{"encrypted_msg_hash": hash})
	}
	r := check(appA, hash)
	wantErr(t, r, 0)
	if r["vaild"] != true || r["create_time"].(json.Number).String() != strconv.FormatInt(h.sim.Now().Unix(), 10) {
		t.Fatalf("check: %v", r)
	}
	if r := check(appA, strings.ToUpper(hash)); r["vaild"] != true {
		t.Fatalf("uppercase hash: %v", r)
	}
	if r := check(appB, hash); r["vaild"] != false {
		t.Fatalf("other app: %v", r)
	}
	other := sha256.Sum256([]byte("x"))
	if r := check(appA, hex.EncodeToString(other[:])); r["vaild"] != false {
		t.Fatalf("unknown hash: %v", r)
	}
	wantErr(t, check(appA, "abc"), 47001)
	h.sim.Advance(3*24*time.Hour - time.Second)
	if r := check(appA, hash); r["vaild"] != true {
		t.Fatalf("inside 3 days: %v", r)
	}
	h.sim.Advance(time.Second)
	if r := check(appA, hash); r["vaild"] != false {
		t.Fatalf("after 3 days: %v", r)
	}
}

// receiver is an httptest push receiver that verifies independently of the simulator's code.
type receiver struct {
	mu      sync.Mutex
	bodies  []map[string]any
	queries []url.Values
	answers []string // answer i to attempt i; "" after the list ends is "success"
	delay   time.Duration
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	rc.mu.Lock()
	n := len(rc.bodies)
	rc.bodies = append(rc.bodies, m)
	rc.queries = append(rc.queries, r.URL.Query())
	answer := "success"
	if n < len(rc.answers) {
		answer = rc.answers[n]
	}
	delay := rc.delay
	rc.mu.Unlock()
	if delay > 0 && n == 0 {
		time.Sleep(delay)
	}
	io.WriteString(w, answer)
}

func sha1Sorted(v ...string) string {
	sort.Strings(v)
	s := sha1.Sum([]byte(strings.Join(v, "")))
	return hex.EncodeToString(s[:])
}

func TestPush(t *testing.T) {
	const aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	h := newHarness(t, Options{PushClient: &http.Client{Timeout: 200 * time.Millisecond}})

	h.ctl(http.MethodPost, "/sim/push", map[string]any{"appid": appA, "user": "pat", "event": "user_info_modified"}, http.StatusBadRequest) // not configured
	h.ctl(http.MethodPost, "/sim/push-config", map[string]any{"appid": appA, "url": srv.URL + "/wx/push?app=1", "token": "tok123"}, http.StatusOK)
	h.ctl(http.MethodPost, "/sim/push", map[string]any{"appid": appA, "user": "pat", "event": "nope"}, http.StatusBadRequest)

	m := h.ctl(http.MethodPost, "/sim/push", map[string]any{"appid": appA, "user": "pat", "event": "user_authorization_revoke", "revoke_info": "6"}, http.StatusOK)
	if m["status"] != "delivered" || m["attempts"].(json.Number).String() != "1" {
		t.Fatalf("plain push: %v", m)
	}
	q, ev := rc.queries[0], rc.bodies[0]
	if q.Get("app") != "1" || q.Get("signature") != sha1Sorted("tok123", q.Get("timestamp"), q.Get("nonce")) || q.Has("encrypt_type") {
		t.Fatalf("plain query %v", q)
	}
	if ev["Event"] != "user_authorization_revoke" || ev["OpenID"] != OpenID(appA, "pat") || ev["AppID"] != appA ||
		ev["RevokeInfo"] != "6" || ev["MsgType"] != "event" || ev["CreateTime"].(float64) != float64(h.sim.Now().Unix()) {
		t.Fatalf("event %v", ev)
	}

	// Safe mode, verified and decrypted here independently.
	if err := h.sim.SetPush(appA, PushConfig{URL: srv.URL, Token: "tok123", EncodingAESKey: aesKey, Mode: "safe"}); err != nil {
		t.Fatal(err)
	}
	res, err := h.sim.Push(context.Background(), appA, "pat", "user_authorization_cancellation", "")
	if err != nil || res.Status != "delivered" {
		t.Fatalf("safe push: %+v %v", res, err)
	}
	q, env := rc.queries[1], rc.bodies[1]
	encrypted, _ := env["Encrypt"].(string)
	if q.Get("encrypt_type") != "aes" || q.Get("msg_signature") != sha1Sorted("tok123", q.Get("timestamp"), q.Get("nonce"), encrypted) ||
		!strings.HasPrefix(env["ToUserName"].(string), "gh_") {
		t.Fatalf("safe query %v body %v", q, env)
	}
	key, _ := base64.StdEncoding.DecodeString(aesKey + "=")
	ct, _ := base64.StdEncoding.DecodeString(encrypted)
	block, _ := aes.NewCipher(key)
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > 32 || len(ct)%32 != 0 {
		t.Fatalf("padding %d, length %d: want PKCS#7 over 32-byte blocks", pad, len(ct))
	}
	pt = pt[:len(pt)-pad]
	n := binary.BigEndian.Uint32(pt[16:20])
	msg, appid := pt[20:20+n], string(pt[20+n:])
	var dec map[string]any
	if err := json.Unmarshal(msg, &dec); err != nil || appid != appA || dec["Event"] != "user_authorization_cancellation" || dec["OpenID"] != OpenID(appA, "pat") {
		t.Fatalf("decrypted %q appid %q", msg, appid)
	}

	// Retries: two refusals, then success.
	rc.mu.Lock()
	rc.answers = []string{"success", "success", "fail", "error"} // by attempt number overall
	rc.mu.Unlock()
	res, _ = h.sim.Push(context.Background(), appA, "pat", "user_info_modified", "")
	if res.Status != "delivered" || res.Attempts != 3 || res.LastStatus != 200 {
		t.Fatalf("retried push: %+v", res)
	}
	// Always refused: 1 + 3 attempts.
	rc.mu.Lock()
	rc.answers = append(rc.answers, "(the retried push's success)", "no", "no", "no", "no")
	rc.mu.Unlock()
	res, _ = h.sim.Push(context.Background(), appA, "pat", "user_info_modified", "")
	if res.Status != "failed" || res.Attempts != 4 {
		t.Fatalf("refused push: %+v", res)
	}
	// A slow first answer counts as a failure.
	slow := &receiver{delay: time.Second}
	slowSrv := httptest.NewServer(slow)
	t.Cleanup(slowSrv.Close)
	h.sim.SetPush(appB, PushConfig{URL: slowSrv.URL, Token: "tok123"})
	res, _ = h.sim.Push(context.Background(), appB, "pat", "user_info_modified", "")
	if res.Status != "delivered" || res.Attempts != 2 {
		t.Fatalf("slow push: %+v", res)
	}
	// Bad configs.
	for _, pc := range []PushConfig{
		{URL: "ftp://x", Token: "tok123"},
		{URL: srv.URL, Token: "t"},
		{URL: srv.URL, Token: "tok 123"},
		{URL: srv.URL, Token: "tok123", Mode: "safe"},
		{URL: srv.URL, Token: "tok123", Mode: "safe", EncodingAESKey: aesKey[:42]},
		{URL: srv.URL, Token: "tok123", Mode: "odd"},
	} {
		if err := h.sim.SetPush(appA, pc); err == nil {
			t.Errorf("SetPush(%+v) accepted", pc)
		}
	}
}
