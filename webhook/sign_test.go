package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/webhook"
)

func TestSignMatchesTheDocumentedScheme(t *testing.T) {
	at := time.Unix(1764633600, 0)
	body := []byte(`{"id":"evt_1","type":"user.created"}`)
	h := hmac.New(sha256.New, []byte("whsec"))
	h.Write([]byte("1764633600." + string(body)))
	want := "t=1764633600,v1=" + hex.EncodeToString(h.Sum(nil))
	if got := webhook.Sign("whsec", at, body); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1764633600, 0)
	body := []byte(`{"id":"evt_1"}`)
	good := webhook.Sign("whsec", now, body)
	old := webhook.Sign("old-secret", now, body)
	cases := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", "whsec", good, body, now, nil},
		{"valid within tolerance", "whsec", good, body, now.Add(4 * time.Minute), nil},
		{"rotation: one of two signatures", "whsec", old + ",v1=" + good[len("t=1764633600,v1="):], body, now, nil},
		{"wrong secret", "other", good, body, now, webhook.ErrSignature},
		{"body changed", "whsec", good, []byte(`{"id":"evt_2"}`), now, webhook.ErrSignature},
		{"too old", "whsec", good, body, now.Add(6 * time.Minute), webhook.ErrExpired},
		{"from the future", "whsec", good, body, now.Add(-6 * time.Minute), webhook.ErrExpired},
		{"timestamp changed", "whsec", "t=" + strconv.Itoa(1764633601) + good[len("t=1764633600"):], body, now, webhook.ErrSignature},
		{"empty", "whsec", "", body, now, webhook.ErrMalformed},
		{"no v1", "whsec", "t=1764633600", body, now, webhook.ErrMalformed},
		{"no t", "whsec", "v1=00", body, now, webhook.ErrMalformed},
		{"garbage", "whsec", "hello", body, now, webhook.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := webhook.Verify(c.secret, c.header, c.body, c.now, 0)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestBackoffGrowsToAnHour(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		b := webhook.Backoff(10*time.Second, n)
		base := min(10*time.Second<<(n-1), time.Hour)
		if b < base || b > base+base/10 {
			t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", n, b, base, base+base/10)
		}
		if b < prev && base < time.Hour {
			t.Fatalf("Backoff(%d) = %v shrank from %v", n, b, prev)
		}
		prev = b
	}
}

func TestEndpointWants(t *testing.T) {
	all := webhook.Endpoint{}
	if !all.Wants("user.created") || all.Wants("login.succeeded") {
		t.Fatal("an endpoint without a filter gets every type but the opt-in login.succeeded")
	}
	some := webhook.Endpoint{Events: []string{"user.deleted", "login.succeeded"}}
	if some.Wants("user.created") || !some.Wants("user.deleted") || !some.Wants("login.succeeded") {
		t.Fatal("a filtered endpoint gets exactly the listed types")
	}
}
