package wechat_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// backend is a WeChat server the client suite runs against: the fixture-based fake of this package
// or the simulator (sim_test.go).
type backend struct {
	baseURL  string
	plain    testApp // an app not bound to an Open Platform account
	platform testApp // an app bound to one
	now      func() time.Time
	// login plays wx.login on user's device and returns the code.
	login func(t *testing.T, appid, user string) string
	// phoneCode plays the getPhoneNumber button and returns the phone code.
	phoneCode func(t *testing.T, appid, user, phone string) string
	// calls counts the WeChat API requests served for path.
	calls func(path string) int
}

type testApp struct {
	id     string
	secret wxlogin.Secret
}

func (b backend) client(app testApp, tokens wechat.TokenCache) *wechat.Client {
	return wechat.NewClient(wechat.Config{BaseURL: b.baseURL, AppID: app.id, Secret: app.secret, Now: b.now, Tokens: tokens})
}

func randomKey(t *testing.T) wxlogin.Secret {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	return wxlogin.Secret(base64.StdEncoding.EncodeToString(b))
}

// runClientSuite checks the client's behaviour against b, which must follow docs/wechat-api.md §1–§7.
func runClientSuite(t *testing.T, b backend) {
	ctx := context.Background()

	t.Run("code2session", func(t *testing.T) {
		c := b.client(b.plain, nil)
		code := b.login(t, b.plain.id, "alice")
		s, err := c.Code2Session(ctx, code)
		if err != nil {
			t.Fatalf("Code2Session: %v", err)
		}
		if len(s.OpenID) != 28 {
			t.Errorf("openid %q: want 28 characters", s.OpenID)
		}
		if k, err := base64.StdEncoding.DecodeString(s.SessionKey.Reveal()); err != nil || len(k) != 16 {
			t.Errorf("session_key is not 16 bytes of base64 (err %v)", err)
		}
		if s.UnionID != "" {
			t.Errorf("unbound app got unionid %q", s.UnionID)
		}
		if _, err := c.Code2Session(ctx, code); !wechat.IsCodeUsed(err) {
			t.Errorf("reused code: got %v, want 40163", err)
		}
		if _, err := c.Code2Session(ctx, "0"+strings.Repeat("a", 31)); !wechat.IsInvalidCode(err) {
			t.Errorf("unknown code: got %v, want 40029", err)
		}
		again, err := c.Code2Session(ctx, b.login(t, b.plain.id, "alice"))
		if err != nil || again.OpenID != s.OpenID {
			t.Errorf("second login of the same user: %+v, %v; want openid %q", again, err, s.OpenID)
		}
		other := b.client(b.platform, nil)
		if _, err := other.Code2Session(ctx, b.login(t, b.plain.id, "alice")); !wechat.IsInvalidCode(err) {
			t.Errorf("code of another app: got %v, want 40029", err)
		}
	})

	t.Run("unionid for platform apps", func(t *testing.T) {
		c := b.client(b.platform, nil)
		s, err := c.Code2Session(ctx, b.login(t, b.platform.id, "bob"))
		if err != nil {
			t.Fatalf("Code2Session: %v", err)
		}
		if len(s.UnionID) != 28 {
			t.Errorf("unionid %q: want 28 characters", s.UnionID)
		}
	})

	t.Run("checksession and reset", func(t *testing.T) {
		c := b.client(b.plain, nil)
		s, err := c.Code2Session(ctx, b.login(t, b.plain.id, "carol"))
		if err != nil {
			t.Fatalf("Code2Session: %v", err)
		}
		if err := c.CheckSessionKey(ctx, s.OpenID, s.SessionKey); err != nil {
			t.Fatalf("CheckSessionKey(current key): %v", err)
		}
		if err := c.CheckSessionKey(ctx, s.OpenID, randomKey(t)); !wechat.IsInvalidSignature(err) {
			t.Errorf("CheckSessionKey(wrong key): got %v, want 87009", err)
		}
		nk, err := c.ResetUserSessionKey(ctx, s.OpenID, s.SessionKey)
		if err != nil {
			t.Fatalf("ResetUserSessionKey: %v", err)
		}
		if nk == s.SessionKey || nk == "" {
			t.Fatalf("reset returned the old or an empty key")
		}
		if err := c.CheckSessionKey(ctx, s.OpenID, s.SessionKey); !wechat.IsInvalidSignature(err) {
			t.Errorf("CheckSessionKey(old key after reset): got %v, want 87009", err)
		}
		if err := c.CheckSessionKey(ctx, s.OpenID, nk); err != nil {
			t.Errorf("CheckSessionKey(new key): %v", err)
		}
		if _, err := c.ResetUserSessionKey(ctx, s.OpenID, s.SessionKey); !wechat.IsInvalidSignature(err) {
			t.Errorf("ResetUserSessionKey(old key): got %v, want 87009", err)
		}
	})

	t.Run("phone number", func(t *testing.T) {
		c := b.client(b.plain, nil)
		code := b.phoneCode(t, b.plain.id, "dave", "13580006666")
		p, err := c.GetPhoneNumber(ctx, code, "")
		if err != nil {
			t.Fatalf("GetPhoneNumber: %v", err)
		}
		if p.PurePhoneNumber != "13580006666" || p.CountryCode != "86" || p.Watermark.AppID != b.plain.id {
			t.Errorf("phone info %+v", p)
		}
		if _, err := c.GetPhoneNumber(ctx, code, ""); !wechat.IsInvalidCode(err) {
			t.Errorf("reused phone code: got %v, want 40029", err)
		}
		if _, err := c.GetPhoneNumber(ctx, b.login(t, b.plain.id, "dave"), ""); !wechat.IsInvalidCode(err) {
			t.Errorf("wx.login code as phone code: got %v, want 40029", err)
		}
	})

	t.Run("one stable token fetch for 50 callers", func(t *testing.T) {
		c := b.client(b.platform, wechat.NewMemoryTokenCache())
		before := b.calls("/cgi-bin/stable_token")
		var wg sync.WaitGroup
		toks := make([]wxlogin.Secret, 50)
		errs := make([]error, 50)
		for i := range toks {
			wg.Go(func() { toks[i], errs[i] = c.AccessToken(ctx) })
		}
		wg.Wait()
		for i := range toks {
			if errs[i] != nil || toks[i] == "" || toks[i] != toks[0] {
				t.Fatalf("caller %d: token equal to caller 0: %v, err %v", i, toks[i] == toks[0], errs[i])
			}
		}
		if n := b.calls("/cgi-bin/stable_token") - before; n != 1 {
			t.Errorf("stable_token calls = %d, want 1", n)
		}
	})

	t.Run("40001 refreshes and retries once", func(t *testing.T) {
		cacheA := wechat.NewMemoryTokenCache()
		a := b.client(b.plain, cacheA)
		s, err := a.Code2Session(ctx, b.login(t, b.plain.id, "erin"))
		if err != nil {
			t.Fatalf("Code2Session: %v", err)
		}
		old, err := a.AccessToken(ctx)
		if err != nil {
			t.Fatalf("AccessToken: %v", err)
		}
		// Another deployment forces a refresh: the token a has cached stops working.
		forced, err := b.client(b.plain, wechat.NewMemoryTokenCache()).FetchStableToken(ctx, true)
		if err != nil {
			t.Fatalf("FetchStableToken(force): %v", err)
		}
		if forced.AccessToken == old {
			t.Fatalf("forced refresh returned the same token")
		}
		tokensBefore, checksBefore := b.calls("/cgi-bin/stable_token"), b.calls("/wxa/checksession")
		if err := a.CheckSessionKey(ctx, s.OpenID, s.SessionKey); err != nil {
			t.Fatalf("CheckSessionKey after the token was replaced: %v", err)
		}
		if n := b.calls("/wxa/checksession") - checksBefore; n != 2 {
			t.Errorf("checksession calls = %d, want 2 (one rejected, one retry)", n)
		}
		if n := b.calls("/cgi-bin/stable_token") - tokensBefore; n != 1 {
			t.Errorf("stable_token calls = %d, want 1", n)
		}
		got, ok, _ := cacheA.Get(ctx, b.plain.id)
		if !ok || got.AccessToken != forced.AccessToken {
			t.Errorf("cache does not hold the platform's current token")
		}
	})
}
