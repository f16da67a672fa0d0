package wechatsim

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"
)

func TestGetUserPhoneNumber(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token(appA)
	q := url.Values{"access_token": {tok}}
	code := h.ctl(http.MethodPost, "/sim/phone", map[string]string{"appid": appA, "user": "u", "phone": "+1 5551234567"}, http.StatusOK)["code"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(code) {
		t.Fatalf("phone code %q is not 64 hex characters", code)
	}
	m := h.post(PathPhoneNumber, q, map[string]string{"code": code, "openid": h.sim.OpenID(appA, "u")})
	wantErr(t, m, 0)
	info := m["phone_info"].(map[string]any)
	if info["phoneNumber"] != "+1 5551234567" || info["purePhoneNumber"] != "5551234567" || info["countryCode"] != "1" {
		t.Fatalf("phone_info %v", info)
	}
	wm := info["watermark"].(map[string]any)
	if wm["appid"] != appA || wm["timestamp"] == nil {
		t.Fatalf("watermark %v", wm)
	}
	// Single use.
	wantErr(t, h.post(PathPhoneNumber, q, map[string]string{"code": code}), 40029)

	// A Chinese number; countryCode is a string.
	code, _ = h.sim.PhoneCode(appA, "u", "13580006666")
	info = h.post(PathPhoneNumber, q, map[string]string{"code": code})["phone_info"].(map[string]any)
	if info["phoneNumber"] != "13580006666" || info["purePhoneNumber"] != "13580006666" || info["countryCode"] != "86" {
		t.Fatalf("phone_info %v", info)
	}
	// The default number is deterministic per user.
	c1, _ := h.sim.PhoneCode(appA, "v", "")
	c2, _ := h.sim.PhoneCode(appA, "v", "")
	p1 := h.post(PathPhoneNumber, q, map[string]string{"code": c1})["phone_info"].(map[string]any)["purePhoneNumber"]
	p2 := h.post(PathPhoneNumber, q, map[string]string{"code": c2})["phone_info"].(map[string]any)["purePhoneNumber"]
	if p1 != p2 || !regexp.MustCompile(`^13[0-9]{9}$`).MatchString(p1.(string)) {
		t.Fatalf("default phones %v %v", p1, p2)
	}
}

func TestGetUserPhoneNumberErrors(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token(appA)
	q := url.Values{"access_token": {tok}}
	phone := func(appid string) string {
		c, err := h.sim.PhoneCode(appid, "u", "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		body func() map[string]string
		want int
	}{
		{"login code", func() map[string]string { return map[string]string{"code": h.login(appA, "u")} }, 40029},
		{"unknown code", func() map[string]string { return map[string]string{"code": randomHex(32)} }, 40029},
		{"missing code", func() map[string]string { return map[string]string{} }, 40029},
		{"code of another app", func() map[string]string { return map[string]string{"code": phone(appB)} }, 40013},
		{"openid mismatch", func() map[string]string {
			return map[string]string{"code": phone(appA), "openid": h.sim.OpenID(appA, "someone else")}
		}, 40003},
		{"expired", func() map[string]string {
			c := phone(appA)
			h.sim.Advance(5*time.Minute + time.Second)
			return map[string]string{"code": c}
		}, 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.post(PathPhoneNumber, url.Values{"access_token": {h.token(appA)}}, tt.body()), tt.want)
		})
	}
	q = url.Values{"access_token": {h.token(appA)}}
	_, m := h.do(http.MethodGet, PathPhoneNumber, q, "")
	wantErr(t, m, 43002)
	_, m = h.do(http.MethodPost, PathPhoneNumber, q, "")
	wantErr(t, m, 44002)
	_, m = h.do(http.MethodPost, PathPhoneNumber, q, "not json")
	wantErr(t, m, 47001)
	_, m = h.do(http.MethodPost, PathPhoneNumber, nil, `{"code":"x"}`)
	wantErr(t, m, 41001)
	// A refused openid does not spend the code.
	c := phone(appA)
	wantErr(t, h.post(PathPhoneNumber, q, map[string]string{"code": c, "openid": "o" + randomHex(14)[:27]}), 40003)
	wantErr(t, h.post(PathPhoneNumber, q, map[string]string{"code": c}), 0)
}

func TestPhoneCodeBadPhone(t *testing.T) {
	h := newHarness(t, Options{})
	for _, p := range []string{"abc", "+1", "+1 55a", "+12345 5551234", "123"} {
		if _, err := h.sim.PhoneCode(appA, "u", p); err == nil {
			t.Errorf("PhoneCode(%q) accepted", p)
		}
	}
	h.ctl(http.MethodPost, "/sim/phone", map[string]string{"appid": appA, "user": "u", "phone": "x"}, http.StatusBadRequest)
}

func TestGetPaidUnionID(t *testing.T) {
	h := newHarness(t, Options{})
	tokA, tokC := h.token(appA), h.token(appC)
	pay := func(appid, user string) string {
		return h.ctl(http.MethodPost, "/sim/payment", map[string]string{"appid": appid, "user": user}, http.StatusOK)["transaction_id"].(string)
	}
	txn := pay(appA, "u")
	if !regexp.MustCompile(`^[0-9]{28}$`).MatchString(txn) {
		t.Fatalf("transaction_id %q", txn)
	}
	q := func(tok, openid, txn string) url.Values {
		return url.Values{"access_token": {tok}, "openid": {openid}, "transaction_id": {txn}}
	}
	m := h.get(PathPaidUnionID, q(tokA, h.sim.OpenID(appA, "u"), txn))
	wantErr(t, m, 0)
	if m["unionid"] != h.sim.UnionID(platform, "u") {
		t.Fatalf("unionid %v", m["unionid"])
	}
	otherTxn := pay(appA, "v")
	cTxn := pay(appC, "u")
	wantErr(t, h.get(PathPaidUnionID, q(tokA, h.sim.OpenID(appA, "u"), otherTxn)), 89300)
	wantErr(t, h.get(PathPaidUnionID, q(tokA, h.sim.OpenID(appA, "u"), "4200000000000000000000000000")), 89300)
	wantErr(t, h.get(PathPaidUnionID, q(tokA, h.sim.OpenID(appA, "nobody"), txn)), 40003)
	wantErr(t, h.get(PathPaidUnionID, q(tokC, h.sim.OpenID(appC, "u"), cTxn)), 89002)
	wantErr(t, h.get(PathPaidUnionID, q("", h.sim.OpenID(appA, "u"), txn)), 41001)
	h.sim.Advance(5*time.Minute + time.Second)
	wantErr(t, h.get(PathPaidUnionID, q(h.token(appA), h.sim.OpenID(appA, "u"), txn)), 89300)
}
