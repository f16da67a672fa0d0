package wechatsim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"
)

func TestCode2SessionShapes(t *testing.T) {
	h := newHarness(t, Options{})
	code := h.login(appC, "alice")
	if !regexp.MustCompile(`^[0-9A-Za-z]{32}$`).MatchString(code) {
		t.Fatalf("login code %q is not 32 alphanumerics", code)
	}
	m := h.code2Session(appC, code)
	if _, ok := m["errcode"]; ok {
		t.Fatalf("success body carries errcode: %v", m)
	}
	if _, ok := m["unionid"]; ok {
		t.Fatalf("app without platform got a unionid: %v", m)
	}
	openid, key := m["openid"].(string), m["session_key"].(string)
	if len(openid) != 28 || openid != h.sim.OpenID(appC, "alice") {
		t.Fatalf("openid %q: want 28 chars equal to OpenID()", openid)
	}
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(key) != 24 || len(raw) != 16 {
		t.Fatalf("session_key %q is not 24-char base64 of 16 bytes", key)
	}
	issued := h.sim.IssuedSessionKeys()
	if len(issued) != 1 || issued[0] != key {
		t.Fatalf("IssuedSessionKeys = %v, want [%s]", issued, key)
	}
	if h.sim.Calls(PathCode2Session) != 1 {
		t.Fatalf("Calls = %d", h.sim.Calls(PathCode2Session))
	}
}

func TestCode2SessionErrors(t *testing.T) {
	h := newHarness(t, Options{})
	q := func(appid, secret, code, grant string) url.Values {
		return url.Values{"appid": {appid}, "secret": {secret}, "js_code": {code}, "grant_type": {grant}}
	}
	tests := []struct {
		name  string
		setup func() url.Values
		want  int
	}{
		{"missing appid", func() url.Values { return q("", secretA, h.login(appA, "u"), "authorization_code") }, 41002},
		{"unknown appid", func() url.Values { return q("wx9999999999999999", secretA, h.login(appA, "u"), "authorization_code") }, 40013},
		{"missing secret", func() url.Values { return q(appA, "", h.login(appA, "u"), "authorization_code") }, 41004},
		{"wrong secret", func() url.Values { return q(appA, secretB, h.login(appA, "u"), "authorization_code") }, 40125},
		{"wrong grant_type", func() url.Values { return q(appA, secretA, h.login(appA, "u"), "client_credential") }, 40002},
		{"missing code", func() url.Values { return q(appA, secretA, "", "authorization_code") }, 40029},
		{"unknown code", func() url.Values { return q(appA, secretA, "023MVZhy15eDoa0Et4iy1SLVhy1MVZhS", "authorization_code") }, 40029},
		{"code of another app", func() url.Values { return q(appA, secretA, h.login(appB, "u"), "authorization_code") }, 40029},
		{"code used twice", func() url.Values {
			c := h.login(appA, "u")
			if m := h.code2Session(appA, c); m["openid"] == nil {
				t.Fatalf("first use failed: %v", m)
			}
			return q(appA, secretA, c, "authorization_code")
		}, 40163},
		{"code expired", func() url.Values {
			c := h.login(appA, "u")
			h.sim.Advance(5*time.Minute + time.Second)
			return q(appA, secretA, c, "authorization_code")
		}, 40029},
		{"phone code is not a login code", func() url.Values {
			c, _ := h.sim.PhoneCode(appA, "u", "")
			return q(appA, secretA, c, "authorization_code")
		}, 40029},
		{"blocked user", func() url.Values {
			c := h.login(appA, "bad")
			h.ctl(http.MethodPost, "/sim/block", map[string]any{"appid": appA, "user": "bad", "blocked": true}, http.StatusOK)
			return q(appA, secretA, c, "authorization_code")
		}, 40226},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.get(PathCode2Session, tt.setup()), tt.want)
		})
	}
}

func TestCodeValidJustUnderFiveMinutes(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.login(appA, "u")
	h.sim.Advance(5*time.Minute - time.Second)
	if m := h.code2Session(appA, c); m["openid"] == nil {
		t.Fatalf("code 4m59s old refused: %v", m)
	}
}

func TestUnblock(t *testing.T) {
	h := newHarness(t, Options{})
	h.ctl(http.MethodPost, "/sim/block", map[string]any{"appid": appA, "user": "u", "blocked": true}, http.StatusOK)
	c := h.login(appA, "u")
	wantErr(t, h.code2Session(appA, c), 40226)
	h.ctl(http.MethodPost, "/sim/block", map[string]any{"appid": appA, "user": "u", "blocked": false}, http.StatusOK)
	// A refused (blocked) exchange does not use the code up.
	if m := h.code2Session(appA, c); m["openid"] == nil {
		t.Fatalf("unblocked user refused: %v", m)
	}
}

func TestUnionIDRules(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.code2Session(appA, h.login(appA, "bob"))
	b := h.code2Session(appB, h.login(appB, "bob"))
	c := h.code2Session(appC, h.login(appC, "bob"))
	d := h.code2Session(appD, h.login(appD, "bob"))
	other := h.code2Session(appA, h.login(appA, "carol"))
	ua, _ := a["unionid"].(string)
	if len(ua) != 28 || ua != h.sim.UnionID(platform, "bob") {
		t.Fatalf("unionid %q: want 28 chars equal to UnionID(platform)", ua)
	}
	if b["unionid"] != ua {
		t.Fatalf("same platform, same user: unionid %v != %v", b["unionid"], ua)
	}
	if a["openid"] == b["openid"] {
		t.Fatalf("openid is the same across apps: %v", a["openid"])
	}
	if _, ok := c["unionid"]; ok {
		t.Fatalf("app without platform got a unionid")
	}
	if d["unionid"] == ua || d["unionid"] == nil {
		t.Fatalf("another platform must give another unionid: %v", d["unionid"])
	}
	if other["unionid"] == ua || other["openid"] == a["openid"] {
		t.Fatalf("another user shares ids: %v %v", other, a)
	}
	// The control plane reports the same identities.
	m := h.ctl(http.MethodGet, "/sim/users?appid="+appA+"&user=bob", nil, http.StatusOK)
	if m["openid"] != a["openid"] || m["unionid"] != ua {
		t.Fatalf("/sim/users = %v", m)
	}
}

func TestCode2SessionMinuteQuota(t *testing.T) {
	h := newHarness(t, Options{})
	used := h.login(appA, "busy")
	h.code2Session(appA, used)
	for i := 1; i < code2SessionPerMinute; i++ {
		if i%10 == 0 { // refused calls (code been used) count too
			wantErr(t, h.code2Session(appA, used), 40163)
			continue
		}
		if m := h.code2Session(appA, h.login(appA, "busy")); m["openid"] == nil {
			t.Fatalf("call %d refused: %v", i, m)
		}
	}
	// 100 calls attributed to "busy" this minute: the next is refused, another user is not.
	wantErr(t, h.code2Session(appA, h.login(appA, "busy")), 45011)
	if m := h.code2Session(appA, h.login(appA, "calm")); m["openid"] == nil {
		t.Fatalf("other user limited: %v", m)
	}
	h.sim.Advance(time.Minute)
	if m := h.code2Session(appA, h.login(appA, "busy")); m["openid"] == nil {
		t.Fatalf("quota not reset next minute: %v", m)
	}
}
