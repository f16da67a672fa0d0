package wechatsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// tokenWorks reports the errcode checksession answers with tok (0 when tok is accepted).
func tokenErrcode(h *harness, tok, openid, key string) string {
	h.t.Helper()
	return h.checkSession(tok, openid, key)["errcode"].(json.Number).String()
}

func TestPlainTokenOverlap(t *testing.T) {
	h := newHarness(t, Options{SessionKeyTTL: 24 * time.Hour})
	m := h.get(PathToken, url.Values{"grant_type": {"client_credential"}, "appid": {appA}, "secret": {secretA}})
	t1 := m["access_token"].(string)
	if m["expires_in"].(json.Number).String() != "7200" || len(t1) < 100 {
		t.Fatalf("token answer %v", m)
	}
	openid, key := h.session(appA, "u")
	t2 := h.token(appA)
	if t1 == t2 {
		t.Fatal("same token twice")
	}
	h.sim.Advance(5*time.Minute - time.Second)
	if got := tokenErrcode(h, t1, openid, key); got != "0" {
		t.Fatalf("old token refused inside the overlap: %s", got)
	}
	h.sim.Advance(time.Second)
	if got := tokenErrcode(h, t1, openid, key); got != "40001" {
		t.Fatalf("old token after the overlap: %s, want 40001", got)
	}
	if got := tokenErrcode(h, t2, openid, key); got != "0" {
		t.Fatalf("new token refused: %s", got)
	}
	h.sim.Advance(7200*time.Second - 5*time.Minute)
	if got := tokenErrcode(h, t2, openid, key); got != "42001" {
		t.Fatalf("token after 7200 s: %s, want 42001", got)
	}
}

func TestTokenErrors(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		q    url.Values
		want int
	}{
		{url.Values{"grant_type": {"authorization_code"}, "appid": {appA}, "secret": {secretA}}, 40002},
		{url.Values{"grant_type": {"client_credential"}, "secret": {secretA}}, 41002},
		{url.Values{"grant_type": {"client_credential"}, "appid": {"wxnope"}, "secret": {secretA}}, 40013},
		{url.Values{"grant_type": {"client_credential"}, "appid": {appA}}, 41004},
		{url.Values{"grant_type": {"client_credential"}, "appid": {appA}, "secret": {"wrong"}}, 40125},
	}
	for _, tt := range tests {
		wantErr(t, h.get(PathToken, tt.q), tt.want)
	}
}

func TestStableToken(t *testing.T) {
	h := newHarness(t, Options{SessionKeyTTL: 72 * time.Hour})
	openid, key := h.session(appA, "u")
	s1, exp := h.stable(appA, false)
	if exp != 7200 {
		t.Fatalf("expires_in %d", exp)
	}
	h.sim.Advance(100 * time.Second)
	if s, exp := h.stable(appA, false); s != s1 || exp != 7100 {
		t.Fatalf("second call: same=%v expires_in=%d, want same token and 7100", s == s1, exp)
	}
	// Plain tokens are separate: fetching them does not touch the stable token.
	h.token(appA)
	h.token(appA)
	h.sim.Advance(6 * time.Minute)
	if got := tokenErrcode(h, s1, openid, key); got != "0" {
		t.Fatalf("stable token hurt by /cgi-bin/token: %s", got)
	}
	// 5 minutes before expiry the token is renewed; the old one lasts until its own expiry.
	h.sim.Advance(7200*time.Second - 100*time.Second - 6*time.Minute - 5*time.Minute) // 300 s left
	if s, exp := h.stable(appA, false); s != s1 || exp != 300 {
		t.Fatalf("at 300 s left: same=%v expires_in=%d", s == s1, exp)
	}
	h.sim.Advance(time.Second)
	s2, exp := h.stable(appA, false)
	if s2 == s1 || exp != 7200 {
		t.Fatalf("not renewed 5 min before expiry: same=%v expires_in=%d", s2 == s1, exp)
	}
	if got := tokenErrcode(h, s1, openid, key); got != "0" {
		t.Fatalf("old stable token refused during overlap: %s", got)
	}
	h.sim.Advance(299 * time.Second)
	if got := tokenErrcode(h, s1, openid, key); got != "42001" {
		t.Fatalf("old stable token after its expiry: %s, want 42001", got)
	}
	if s, _ := h.stable(appA, false); s != s2 {
		t.Fatal("stable token changed without reason")
	}
}

func TestStableTokenForceRefresh(t *testing.T) {
	h := newHarness(t, Options{SessionKeyTTL: 72 * time.Hour})
	openid, key := h.session(appA, "u")
	cur, _ := h.stable(appA, false)
	refreshes := 0
	for i := 0; i < stableForcePerDay+1; i++ {
		h.sim.Advance(31 * time.Second)
		next, exp := h.stable(appA, true)
		if i < stableForcePerDay {
			if next == cur || exp != 7200 {
				t.Fatalf("forced refresh %d did not refresh", i+1)
			}
			if got := tokenErrcode(h, cur, openid, key); got != "40001" {
				t.Fatalf("token before a forced refresh still works: %s", got)
			}
			refreshes++
		} else if next != cur {
			t.Fatalf("forced refresh %d over the daily limit refreshed", i+1)
		}
		cur = next
		// A second forced refresh inside 30 s returns the current token.
		if i == 0 {
			h.sim.Advance(29 * time.Second)
			if again, _ := h.stable(appA, true); again != cur {
				t.Fatal("forced refresh 29 s after the previous one refreshed")
			}
		}
	}
	if got := tokenErrcode(h, cur, openid, key); got != "0" {
		t.Fatalf("current token refused: %s", got)
	}
	// The limit is per (China) day.
	h.sim.Advance(24 * time.Hour)
	if next, _ := h.stable(appA, true); next == cur {
		t.Fatal("daily force limit not reset the next day")
	}
}

func TestStableTokenErrors(t *testing.T) {
	h := newHarness(t, Options{})
	body := func(appid, secret, grant string) string {
		b, _ := json.Marshal(map[string]any{"grant_type": grant, "appid": appid, "secret": secret, "force_refresh": false})
		return string(b)
	}
	tests := []struct {
		name, method, body string
		want               int
	}{
		{"GET", http.MethodGet, "", 43002},
		{"empty body", http.MethodPost, "", 44002},
		{"blank body", http.MethodPost, "  \n", 44002},
		{"bad JSON", http.MethodPost, "{", 47001},
		{"wrong type", http.MethodPost, `{"grant_type":"client_credential","appid":"` + appA + `","secret":"` + secretA + `","force_refresh":"yes"}`, 47001},
		{"missing appid", http.MethodPost, body("", secretA, "client_credential"), 41002},
		{"unknown appid", http.MethodPost, body("wxnope", secretA, "client_credential"), 40013},
		{"missing secret", http.MethodPost, body(appA, "", "client_credential"), 41004},
		{"wrong secret", http.MethodPost, body(appA, secretB, "client_credential"), 40125},
		{"wrong grant_type", http.MethodPost, body(appA, secretA, "password"), 40002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := h.do(tt.method, PathStableToken, nil, tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			wantErr(t, m, tt.want)
		})
	}
}
