package wechatsim

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestSessionKeyReplacedOnLogin(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token(appA)
	code1 := h.login(appA, "u")
	code2 := h.login(appA, "u") // replaces the key (SessionKeyMinAge 0)
	m1, m2 := h.code2Session(appA, code1), h.code2Session(appA, code2)
	openid, key1, key2 := m1["openid"].(string), m1["session_key"].(string), m2["session_key"].(string)
	if key1 == key2 {
		t.Fatalf("second wx.login kept the key")
	}
	wantErr(t, h.checkSession(tok, openid, key2), 0)
	wantErr(t, h.checkSession(tok, openid, key1), 87009)
	if err := h.sim.ExpireSessionKey(appA, "u"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, h.checkSession(tok, openid, key2), 87007)
	// The next wx.login issues a new, valid key.
	_, key3 := h.session(appA, "u")
	wantErr(t, h.checkSession(tok, openid, key3), 0)
	if got := len(h.sim.IssuedSessionKeys()); got != 3 {
		t.Fatalf("IssuedSessionKeys has %d keys, want 3", got)
	}
}

func TestSessionKeyMinAge(t *testing.T) {
	h := newHarness(t, Options{SessionKeyMinAge: time.Hour})
	_, k1 := h.session(appA, "u")
	h.sim.Advance(59 * time.Minute)
	if _, k2 := h.session(appA, "u"); k2 != k1 {
		t.Fatalf("key replaced before SessionKeyMinAge")
	}
	h.sim.Advance(time.Minute)
	if _, k3 := h.session(appA, "u"); k3 == k1 {
		t.Fatalf("key not replaced after SessionKeyMinAge")
	}
}

func TestSessionKeyTTLAndExpireControl(t *testing.T) {
	h := newHarness(t, Options{SessionKeyTTL: time.Hour, SessionKeyMinAge: 2 * time.Hour})
	tok := h.token(appA)
	openid, key := h.session(appA, "u")
	h.sim.Advance(time.Hour - time.Second)
	wantErr(t, h.checkSession(tok, openid, key), 0)
	h.sim.Advance(time.Second)
	wantErr(t, h.checkSession(tok, openid, key), 87007)
	// An expired key is replaced by the next wx.login whatever SessionKeyMinAge says.
	_, key2 := h.session(appA, "u")
	if key2 == key {
		t.Fatal("expired key reissued")
	}
	h.ctl(http.MethodPost, "/sim/expire", map[string]string{"appid": appA, "user": "u"}, http.StatusOK)
	wantErr(t, h.checkSession(tok, openid, key2), 87007)
}

func TestCheckSessionErrors(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token(appA)
	openid, key := h.session(appA, "u")
	good := func() url.Values {
		return url.Values{"access_token": {tok}, "openid": {openid}, "signature": {hmacSig(key)}, "sig_method": {"hmac_sha256"}}
	}
	tests := []struct {
		name   string
		change func(url.Values)
		want   int
	}{
		{"ok", func(url.Values) {}, 0},
		{"bad sig_method", func(q url.Values) { q.Set("sig_method", "hmac_sha1") }, 87008},
		{"missing sig_method", func(q url.Values) { q.Del("sig_method") }, 87008},
		{"unknown openid", func(q url.Values) { q.Set("openid", h.sim.OpenID(appA, "nobody")) }, 40003},
		{"openid of another app", func(q url.Values) { q.Set("openid", h.sim.OpenID(appB, "u")) }, 40003},
		{"wrong signature", func(q url.Values) { q.Set("signature", hmacSig("not the key")) }, 87009},
		{"uppercase hex is another signature", func(q url.Values) { q.Set("signature", "A"+hmacSig(key)[1:]) }, 87009},
		{"missing token", func(q url.Values) { q.Del("access_token") }, 41001},
		{"unknown token", func(q url.Values) { q.Set("access_token", "86_nope") }, 40001},
		{"token of another app", func(q url.Values) { q.Set("access_token", h.token(appB)) }, 40003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := good()
			tt.change(q)
			wantErr(t, h.get(PathCheckSession, q), tt.want)
		})
	}
	// checksession ignores the HTTP method, as WeChat does for its GET APIs.
	_, m := h.do(http.MethodPost, PathCheckSession, good(), "")
	wantErr(t, m, 0)
}

func TestResetUserSessionKey(t *testing.T) {
	h := newHarness(t, Options{SessionKeyTTL: time.Hour})
	tok := h.token(appA)
	openid, key := h.session(appA, "u")
	h.sim.Advance(30 * time.Minute)
	q := url.Values{"access_token": {tok}, "openid": {openid}, "signature": {hmacSig(key)}, "sig_method": {"hmac_sha256"}}
	m := h.get(PathResetSessionKey, q)
	wantErr(t, m, 0)
	newKey, _ := m["session_key"].(string)
	if m["openid"] != openid || len(newKey) != 24 || newKey == key {
		t.Fatalf("reset answer %v", m)
	}
	wantErr(t, h.checkSession(tok, openid, key), 87009)
	wantErr(t, h.checkSession(tok, openid, newKey), 0)
	// The old signature no longer resets.
	wantErr(t, h.get(PathResetSessionKey, q), 87009)
	// The new key keeps the old expiry: 30 more minutes, not a fresh hour.
	h.sim.Advance(30 * time.Minute)
	wantErr(t, h.checkSession(tok, openid, newKey), 87007)
	last := h.sim.IssuedSessionKeys()
	if last[len(last)-1] != newKey {
		t.Fatalf("reset key missing from IssuedSessionKeys")
	}
	q.Del("openid")
	wantErr(t, h.get(PathResetSessionKey, q), 40097)
}
