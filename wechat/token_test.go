package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// tokenIssuer answers stable_token (or token) with tok_1, tok_2, … after delay.
func tokenIssuer(delay time.Duration, expiresIn int) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		fmt.Fprintf(w, `{"access_token":"tok_%d","expires_in":%d}`, n.Add(1), expiresIn)
	}
}

// clock is a settable clock for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestAccessTokenSingleFlight(t *testing.T) {
	s := newScripted(t)
	s.handle("/cgi-bin/stable_token", tokenIssuer(50*time.Millisecond, 7200))
	cache := wechat.NewMemoryTokenCache()
	// Two instances sharing a cache, 25 callers each.
	a, b := s.client(wechat.Config{Tokens: cache}), s.client(wechat.Config{Tokens: cache})
	var wg sync.WaitGroup
	toks := make([]wxlogin.Secret, 50)
	errs := make([]error, 50)
	for i := range toks {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() { toks[i], errs[i] = c.AccessToken(context.Background()) })
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] != "tok_1" {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
	}
	if n := s.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("stable_token calls = %d, want 1", n)
	}
	if s.count("/cgi-bin/token") != 0 {
		t.Errorf("plain token API used")
	}
}

// noLockCache is a TokenCache whose lock never excludes anyone, so only the in-process single flight
// can keep callers of one Client from fetching each their own token.
type noLockCache struct{ wechat.TokenCache }

func (noLockCache) Lock(context.Context, string, time.Duration) (func(), bool, error) {
	return func() {}, true, nil
}

func TestAccessTokenSingleFlightInProcess(t *testing.T) {
	s := newScripted(t)
	s.handle("/cgi-bin/stable_token", tokenIssuer(50*time.Millisecond, 7200))
	c := s.client(wechat.Config{Tokens: noLockCache{wechat.NewMemoryTokenCache()}})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if tok, err := c.AccessToken(context.Background()); err != nil || tok != "tok_1" {
				t.Errorf("AccessToken = %q, %v", tok, err)
			}
		})
	}
	wg.Wait()
	if n := s.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("stable_token calls = %d, want 1", n)
	}
}

func TestAccessTokenCallerGivesUp(t *testing.T) {
	s := newScripted(t)
	s.handle("/cgi-bin/stable_token", tokenIssuer(150*time.Millisecond, 7200))
	c := s.client(wechat.Config{})
	impatient, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var tok wxlogin.Secret
	var err error
	wg.Go(func() { tok, err = c.AccessToken(context.Background()) })
	if _, ierr := c.AccessToken(impatient); !errors.Is(ierr, context.DeadlineExceeded) {
		t.Errorf("impatient caller: %v", ierr)
	}
	wg.Wait()
	if err != nil || tok != "tok_1" {
		t.Errorf("patient caller: %q, %v (one caller giving up must not fail the shared refresh)", tok, err)
	}
	if n := s.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("stable_token calls = %d, want 1", n)
	}
}

func TestAccessTokenRefreshAhead(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := newScripted(t)
	issue := tokenIssuer(0, 7200)
	var fail atomic.Bool
	s.handle("/cgi-bin/stable_token", func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			serveFixture(t, "/cgi-bin/stable_token", "-1")(w, r)
			return
		}
		issue(w, r)
	})
	c := s.client(wechat.Config{Now: clk.Now})
	steps := []struct {
		at      time.Duration
		fail    bool
		want    wxlogin.Secret
		fetches int
		busy    bool
	}{
		{0, false, "tok_1", 1, false},
		{7200*time.Second - 5*time.Minute - time.Second, false, "tok_1", 1, false}, // 5 min 1 s left: keep
		{7200*time.Second - 5*time.Minute + time.Second, false, "tok_2", 2, false}, // 4 min 59 s left: refresh
		// tok_2 expires at 7200 - 5 min + 1 s + 7200 s. Refresh ahead fails: the valid token is kept.
		{14400*time.Second - 5*time.Minute - time.Second, true, "tok_2", 3, false},
		{14400*time.Second - 5*time.Minute + 2*time.Second, true, "", 4, true}, // expired and refresh fails
		{14400 * time.Second, false, "tok_3", 5, false},
	}
	for i, st := range steps {
		clk.Set(t0.Add(st.at))
		fail.Store(st.fail)
		tok, err := c.AccessToken(ctx)
		if tok != st.want || wechat.IsSystemBusy(err) != st.busy || (err != nil) != st.busy {
			t.Errorf("step %d: got %q, %v; want %q (busy %v)", i, tok, err, st.want, st.busy)
		}
		if n := s.count("/cgi-bin/stable_token"); n != st.fetches {
			t.Errorf("step %d: %d fetches, want %d", i, n, st.fetches)
		}
	}
}

func TestPlainToken(t *testing.T) {
	s := newScripted(t)
	s.handle("/cgi-bin/token", tokenIssuer(0, 7200))
	c := s.client(wechat.Config{PlainToken: true})
	for range 3 {
		if tok, err := c.AccessToken(context.Background()); err != nil || tok != "tok_1" {
			t.Fatalf("AccessToken = %q, %v", tok, err)
		}
	}
	if s.count("/cgi-bin/token") != 1 || s.count("/cgi-bin/stable_token") != 0 {
		t.Errorf("token calls %d, stable_token calls %d; want 1, 0", s.count("/cgi-bin/token"), s.count("/cgi-bin/stable_token"))
	}
}

func TestTokenRejectedIsReplacedAndRetriedOnce(t *testing.T) {
	for _, code := range []string{"40001", "42001"} {
		t.Run(code, func(t *testing.T) {
			ctx := context.Background()
			s := newScripted(t)
			s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
			s.handle("/wxa/checksession", sequence(serveFixture(t, "/wxa/checksession", code), serveFixture(t, "/wxa/checksession", "ok")))
			cache := wechat.NewMemoryTokenCache()
			c := s.client(wechat.Config{Tokens: cache})
			if err := c.CheckSessionKey(ctx, "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg=="); err != nil {
				t.Fatalf("CheckSessionKey: %v", err)
			}
			q := s.queries["/wxa/checksession"]
			if len(q) != 2 || !strings.Contains(q[0], "access_token=tok_1&") || !strings.Contains(q[1], "access_token=tok_2&") {
				t.Errorf("checksession queries %q: want tok_1 then tok_2", q)
			}
			if got, ok, _ := cache.Get(ctx, "wxd2a1b3c4e5f60718"); !ok || got.AccessToken != "tok_2" {
				t.Errorf("cache holds %v, %v; want tok_2", got.AccessToken.Reveal(), ok)
			}
			// The stable token is fetched without force_refresh both times.
			for _, b := range s.bodies["/cgi-bin/stable_token"] {
				if !strings.Contains(b, `"force_refresh":false`) {
					t.Errorf("stable_token body %s", b)
				}
			}
		})
	}
}

func TestTokenRejectedAndRefreshFails(t *testing.T) {
	ctx := context.Background()
	s := newScripted(t)
	s.handle("/cgi-bin/stable_token", sequence(tokenIssuer(0, 7200), serveFixture(t, "/cgi-bin/stable_token", "-1")))
	s.handle("/wxa/checksession", serveFixture(t, "/wxa/checksession", "40001"))
	cache := wechat.NewMemoryTokenCache()
	c := s.client(wechat.Config{Tokens: cache})
	err := c.CheckSessionKey(ctx, "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg==")
	if !wechat.IsSystemBusy(err) {
		t.Errorf("got %v, want the refresh's -1", err)
	}
	if _, ok, _ := cache.Get(ctx, "wxd2a1b3c4e5f60718"); ok {
		t.Errorf("the rejected token is still cached for other instances")
	}
	if n := s.count("/wxa/checksession"); n != 1 {
		t.Errorf("checksession calls = %d, want 1 (no retry without a new token)", n)
	}
}

func TestTokenRejectedWhileAnotherInstanceRefreshed(t *testing.T) {
	ctx := context.Background()
	s := newScripted(t)
	s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
	cache := wechat.NewMemoryTokenCache()
	const appid = "wxd2a1b3c4e5f60718"
	other := wechat.Token{AccessToken: "tok_other", ExpiresAt: time.Now().Add(2 * time.Hour)}
	s.handle("/wxa/checksession", sequence(
		func(w http.ResponseWriter, r *http.Request) {
			// Another instance stores a new token while our call with tok_1 is in flight.
			cache.Set(ctx, appid, other)
			serveFixture(t, "/wxa/checksession", "40001")(w, r)
		},
		serveFixture(t, "/wxa/checksession", "ok"),
	))
	c := s.client(wechat.Config{Tokens: cache})
	if err := c.CheckSessionKey(ctx, "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg=="); err != nil {
		t.Fatalf("CheckSessionKey: %v", err)
	}
	if got, ok, _ := cache.Get(ctx, appid); !ok || got.AccessToken != "tok_other" {
		t.Errorf("invalidating tok_1 removed the other instance's token")
	}
	if q := s.queries["/wxa/checksession"]; len(q) != 2 || !strings.Contains(q[1], "access_token=tok_other&") {
		t.Errorf("retry did not use the other instance's token: %q", q)
	}
	if n := s.count("/cgi-bin/stable_token"); n != 1 {
		t.Errorf("stable_token calls = %d, want 1", n)
	}
}

func TestMemoryTokenCache(t *testing.T) {
	ctx := context.Background()
	c := wechat.NewMemoryTokenCache()
	a := wechat.Token{AccessToken: "A", ExpiresAt: time.Now().Add(time.Hour)}
	c.Set(ctx, "app", a)
	c.Invalidate(ctx, "app", "B")
	if got, ok, _ := c.Get(ctx, "app"); !ok || got != a {
		t.Fatalf("Invalidate(B) removed A")
	}
	if _, ok, _ := c.Get(ctx, "other"); ok {
		t.Errorf("token found under another appid")
	}
	c.Invalidate(ctx, "app", "A")
	if _, ok, _ := c.Get(ctx, "app"); ok {
		t.Fatalf("Invalidate(A) kept A")
	}

	unlock, ok, err := c.Lock(ctx, "app", time.Second)
	if !ok || err != nil {
		t.Fatalf("Lock: %v %v", ok, err)
	}
	if _, ok, _ := c.Lock(ctx, "app", time.Second); ok {
		t.Errorf("lock taken twice")
	}
	if u, ok, _ := c.Lock(ctx, "other", time.Second); !ok {
		t.Errorf("lock of another appid refused")
	} else {
		u()
	}
	unlock()
	unlock2, ok, _ := c.Lock(ctx, "app", time.Second)
	if !ok {
		t.Fatalf("lock not released")
	}
	unlock() // a stale unlock must not release the new holder's lock
	if _, ok, _ := c.Lock(ctx, "app", time.Second); ok {
		t.Errorf("stale unlock released another holder's lock")
	}
	unlock2()
}

func TestAccessTokenWaitsForLockHolder(t *testing.T) {
	ctx := context.Background()
	const appid = "wxd2a1b3c4e5f60718"
	t.Run("holder publishes", func(t *testing.T) {
		s := newScripted(t)
		s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
		cache := wechat.NewMemoryTokenCache()
		unlock, _, _ := cache.Lock(ctx, appid, time.Minute) // another instance is refreshing
		c := s.client(wechat.Config{Tokens: cache})
		wechat.SetLockTiming(c, 5*time.Second, 5*time.Millisecond)
		go func() {
			time.Sleep(50 * time.Millisecond)
			cache.Set(ctx, appid, wechat.Token{AccessToken: "tok_other", ExpiresAt: time.Now().Add(2 * time.Hour)})
			unlock()
		}()
		if tok, err := c.AccessToken(ctx); err != nil || tok != "tok_other" {
			t.Errorf("AccessToken = %q, %v; want the holder's token", tok, err)
		}
		if n := s.count("/cgi-bin/stable_token"); n != 0 {
			t.Errorf("stable_token calls = %d, want 0", n)
		}
	})
	t.Run("holder never publishes", func(t *testing.T) {
		s := newScripted(t)
		s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
		cache := wechat.NewMemoryTokenCache()
		cache.Lock(ctx, appid, time.Minute)
		c := s.client(wechat.Config{Tokens: cache})
		wechat.SetLockTiming(c, 100*time.Millisecond, 5*time.Millisecond)
		if tok, err := c.AccessToken(ctx); err != nil || tok != "tok_1" {
			t.Errorf("AccessToken = %q, %v; want a fetched token", tok, err)
		}
	})
	t.Run("cache down", func(t *testing.T) {
		s := newScripted(t)
		s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
		c := s.client(wechat.Config{Tokens: brokenCache{}})
		if tok, err := c.AccessToken(ctx); err != nil || tok != "tok_1" {
			t.Errorf("AccessToken = %q, %v; want a fetched token", tok, err)
		}
	})
}

type brokenCache struct{}

var errCacheDown = errors.New("cache down")

func (brokenCache) Get(context.Context, string) (wechat.Token, bool, error) {
	return wechat.Token{}, false, errCacheDown
}
func (brokenCache) Set(context.Context, string, wechat.Token) error { return errCacheDown }
func (brokenCache) Invalidate(context.Context, string, wxlogin.Secret) error {
	return errCacheDown
}
func (brokenCache) Lock(context.Context, string, time.Duration) (func(), bool, error) {
	return nil, false, errCacheDown
}
