package wechat_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechatsim"
)

const testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

func TestPushSignature(t *testing.T) {
	// The values sorted: "1409304348" < "pamtest" < "xxxxxx".
	want := sha1.Sum([]byte("1409304348pamtestxxxxxx"))
	if got := wechat.PushSignature("pamtest", "1409304348", "xxxxxx"); got != hex.EncodeToString(want[:]) {
		t.Fatalf("signature %q", got)
	}
	if wechat.PushSignature("a", "b", "c") != wechat.PushSignature("c", "a", "b") {
		t.Fatal("signature depends on the order of the values")
	}
}

func TestPushSealOpen(t *testing.T) {
	r := wechat.PushReceiver{AppID: "wxapp", Token: "tok123", EncodingAESKey: testAESKey}
	msg := []byte(`{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1700000000,"MsgType":"event","Event":"user_authorization_revoke","OpenID":"o1","AppID":"wxapp","RevokeInfo":"8"}`)
	for _, safe := range []bool{false, true} {
		r := r
		if !safe {
			r.EncodingAESKey = ""
		}
		q, body, err := r.Seal(msg, "1700000000", "n0nce", safe)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := r.Open(q, body)
		if err != nil {
			t.Fatalf("safe %v: Open: %v", safe, err)
		}
		if ev.Event != wechat.EventUserAuthorizationRevoke || ev.OpenID != "o1" || ev.AppID != "wxapp" || ev.RevokeInfo != "8" ||
			ev.CreateTime != 1700000000 || ev.ToUserName != "gh_1" || string(ev.Raw) != string(msg) {
			t.Fatalf("safe %v: event %+v", safe, ev)
		}
		// Every tampering fails with the one error.
		tamper := map[string]func() (url.Values, []byte){
			"signature": func() (url.Values, []byte) {
				q2 := clone(q)
				q2.Set("signature", "0"+q.Get("signature")[1:])
				return q2, body
			},
			"timestamp": func() (url.Values, []byte) { q2 := clone(q); q2.Set("timestamp", "1700000001"); return q2, body },
			"nonce":     func() (url.Values, []byte) { q2 := clone(q); q2.Set("nonce", "other"); return q2, body },
			"body":      func() (url.Values, []byte) { return q, append([]byte(" "), body...)[:len(body)] },
		}
		if safe {
			tamper["msg_signature"] = func() (url.Values, []byte) { q2 := clone(q); q2.Set("msg_signature", "00"); return q2, body }
			tamper["mode"] = func() (url.Values, []byte) { q2 := clone(q); q2.Del("encrypt_type"); return q2, body }
			tamper["unknown mode"] = func() (url.Values, []byte) { q2 := clone(q); q2.Set("encrypt_type", "rsa"); return q2, body }
		}
		for name, f := range tamper {
			q2, b2 := f()
			if _, err := r.Open(q2, b2); err != wechat.ErrPushInvalid {
				t.Errorf("safe %v, tampered %s: %v", safe, name, err)
			}
		}
		wrong := r
		wrong.Token = "other"
		if _, err := wrong.Open(q, body); err != wechat.ErrPushInvalid {
			t.Errorf("safe %v, wrong token: %v", safe, err)
		}
		if !safe {
			// A receiver in safe mode refuses a plain push.
			if _, err := (wechat.PushReceiver{AppID: "wxapp", Token: "tok123", EncodingAESKey: testAESKey}).Open(q, body); err != wechat.ErrPushInvalid {
				t.Errorf("plain push to a safe-mode receiver: %v", err)
			}
		}
	}
	q, body, _ := r.Seal(msg, "1", "2", true)
	for name, other := range map[string]wechat.PushReceiver{
		"other appid": {AppID: "wxother", Token: "tok123", EncodingAESKey: testAESKey},
		"other key":   {AppID: "wxapp", Token: "tok123", EncodingAESKey: "ZZZdefghijklmnopqrstuvwxyz0123456789ABCDEFG"},
		"short key":   {AppID: "wxapp", Token: "tok123", EncodingAESKey: wxlogin.Secret(testAESKey[:42])},
		"no appid":    {Token: "tok123", EncodingAESKey: testAESKey},
		"no token":    {AppID: "wxapp", EncodingAESKey: testAESKey},
	} {
		if _, err := other.Open(q, body); err != wechat.ErrPushInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A correctly signed Encrypt field that is garbage.
	for _, enc := range []string{"not base64!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA=="} {
		b, _ := json.Marshal(map[string]string{"Encrypt": enc})
		q := url.Values{"timestamp": {"1"}, "nonce": {"2"}, "encrypt_type": {"aes"}, "signature": {wechat.PushSignature("tok123", "1", "2")},
			"msg_signature": {wechat.PushSignature("tok123", "1", "2", enc)}}
		if _, err := r.Open(q, b); err != wechat.ErrPushInvalid {
			t.Errorf("Encrypt %q: %v", enc, err)
		}
	}
	// Numbers for RevokeInfo.
	plain := wechat.PushReceiver{Token: "tok123"}
	q, body, _ = plain.Seal([]byte(`{"Event":"user_info_modified","RevokeInfo":6}`), "1", "2", false)
	if ev, err := plain.Open(q, body); err != nil || ev.RevokeInfo != "6" {
		t.Errorf("numeric RevokeInfo: %+v %v", ev, err)
	}
	if _, _, err := (wechat.PushReceiver{Token: "t"}).Seal(msg, "1", "2", true); err == nil {
		t.Error("Seal in safe mode without a key")
	}
}

func clone(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func TestPushVerifyURL(t *testing.T) {
	r := wechat.PushReceiver{Token: "tok123"}
	q := url.Values{"timestamp": {"1"}, "nonce": {"2"}, "echostr": {"hello"}, "signature": {wechat.PushSignature("tok123", "1", "2")}}
	if s, err := r.VerifyURL(q); err != nil || s != "hello" {
		t.Fatalf("VerifyURL: %q %v", s, err)
	}
	q.Set("nonce", "3")
	if _, err := r.VerifyURL(q); err != wechat.ErrPushInvalid {
		t.Fatalf("VerifyURL(bad signature): %v", err)
	}
}

// TestSimulatorPushVerifiedByClient: the simulator's pushes (its own signing and encryption) open
// with the client-side code.
func TestSimulatorPushVerifiedByClient(t *testing.T) {
	const appid = "wxpush000000000001"
	recv := wechat.PushReceiver{AppID: appid, Token: "tok123", EncodingAESKey: testAESKey}
	var mu sync.Mutex
	var events []*wechat.PushEvent
	var failures int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		ev, err := recv.Open(r.URL.Query(), b)
		if err != nil {
			failures++
			http.Error(w, "bad", http.StatusForbidden)
			return
		}
		events = append(events, ev)
		io.WriteString(w, "success")
	}))
	t.Cleanup(srv.Close)
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: appid, Secret: "s"}},
		Push: map[string]wechatsim.PushConfig{appid: {URL: srv.URL, Token: "tok123", EncodingAESKey: testAESKey, Mode: "safe"}}})
	ctx := context.Background()
	res, err := sim.Push(ctx, appid, "uma", wechat.EventUserAuthorizationRevoke, "1")
	if err != nil || res.Status != "delivered" || res.Attempts != 1 {
		t.Fatalf("safe push: %+v %v (failures %d)", res, err, failures)
	}
	if err := sim.SetPush(appid, wechatsim.PushConfig{URL: srv.URL, Token: "tok123"}); err != nil {
		t.Fatal(err)
	}
	// The safe-mode receiver refuses the plain push (a downgrade); a plain one takes it.
	if res, err := sim.Push(ctx, appid, "uma", wechat.EventUserInfoModified, ""); err != nil || res.Status != "failed" {
		t.Fatalf("plain push to a safe-mode receiver: %+v %v", res, err)
	}
	mu.Lock()
	recv.EncodingAESKey, failures = "", 0
	mu.Unlock()
	if res, err := sim.Push(ctx, appid, "uma", wechat.EventUserInfoModified, ""); err != nil || res.Status != "delivered" {
		t.Fatalf("plain push: %+v %v", res, err)
	}
	// A receiver with the wrong token refuses every attempt: 1 + 3.
	if err := sim.SetPush(appid, wechatsim.PushConfig{URL: srv.URL, Token: "wrongtoken"}); err != nil {
		t.Fatal(err)
	}
	if res, err := sim.Push(ctx, appid, "uma", wechat.EventUserInfoModified, ""); err != nil || res.Status != "failed" || res.Attempts != 4 || res.LastStatus != 403 {
		t.Fatalf("refused push: %+v %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || failures != 4 {
		t.Fatalf("events %d, failures %d", len(events), failures)
	}
	if e := events[0]; e.Event != wechat.EventUserAuthorizationRevoke || e.OpenID != wechatsim.OpenID(appid, "uma") || e.AppID != appid || e.RevokeInfo != "1" || e.CreateTime == 0 {
		t.Fatalf("event %+v", e)
	}
}
