package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/redis"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechatsim"
)

func testURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("WXLOGIN_TEST_REDIS")
	if u == "" {
		t.Skip("WXLOGIN_TEST_REDIS not set")
	}
	return u
}

// env is one test's isolated key space: a random prefix whose keys are deleted at the end.
type env struct {
	t      *testing.T
	url    string
	prefix string
	raw    *goredis.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	u := testURL(t)
	opts, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	e := &env{t: t, url: u, prefix: "wxlogintest:" + hex.EncodeToString(b[:]) + ":", raw: goredis.NewClient(opts)}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := e.raw.Keys(ctx, e.prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			e.raw.Del(ctx, keys...)
		}
		e.raw.Close()
	})
	return e
}

// open returns a Client on the env's prefix; each call is a separate connection pool (an "instance").
func (e *env) open(opts ...redis.Option) *redis.Client {
	return e.openURL(e.url, opts...)
}

func (e *env) openURL(u string, opts ...redis.Option) *redis.Client {
	e.t.Helper()
	c, err := redis.Open(context.Background(), u, append([]redis.Option{redis.WithPrefix(e.prefix)}, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func TestOpenErrors(t *testing.T) {
	testURL(t)
	ctx := context.Background()
	if _, err := redis.Open(ctx, "redis://user:hunter2@[::1"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL: err %v (must fail without the password)", err)
	}
	if _, err := redis.Open(ctx, "redis://:hunter2@127.0.0.1:1/0?dial_timeout=200ms&max_retries=-1"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("closed port: err %v (must fail without the password)", err)
	}
}

func TestTokenGetSetTTL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tc := e.open().TokenCache()
	const app = "wx1"

	if _, ok, err := tc.Get(ctx, app); ok || err != nil {
		t.Fatalf("empty Get: ok %v err %v", ok, err)
	}
	exp := time.Now().Add(2 * time.Second)
	if err := tc.Set(ctx, app, wxlogin.WeChatToken{AccessToken: "AT-1", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := tc.Get(ctx, app)
	if err != nil || !ok || got.AccessToken != "AT-1" || got.ExpiresAt.UnixMilli() != exp.UnixMilli() {
		t.Fatalf("Get = %q %v, %v, %v", got.AccessToken.Reveal(), got.ExpiresAt, ok, err)
	}
	// Another instance sees it; the stored value holds the token itself, not its redacted form.
	if got, ok, _ := e.open().TokenCache().Get(ctx, app); !ok || got.AccessToken != "AT-1" {
		t.Fatalf("second instance Get = %q, %v", got.AccessToken.Reveal(), ok)
	}
	key := e.prefix + "wxtoken:" + app
	raw, _ := e.raw.Get(ctx, key).Result()
	if !strings.Contains(raw, `"AT-1"`) {
		t.Fatalf("stored value %q", raw)
	}
	if ttl := e.raw.PTTL(ctx, key).Val(); ttl <= time.Second || ttl > 2*time.Second {
		t.Fatalf("PTTL %v, want about 2s", ttl)
	}

	// Replacing.
	if err := tc.Set(ctx, app, wxlogin.WeChatToken{AccessToken: "AT-2", ExpiresAt: time.Now().Add(150 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := tc.Get(ctx, app); got.AccessToken != "AT-2" {
		t.Fatalf("after replace: %q", got.AccessToken.Reveal())
	}
	// The key expires with the token.
	time.Sleep(250 * time.Millisecond)
	if _, ok, err := tc.Get(ctx, app); ok || err != nil {
		t.Fatalf("expired token still there: ok %v err %v", ok, err)
	}
	// Setting an expired token removes the current one.
	tc.Set(ctx, app, wxlogin.WeChatToken{AccessToken: "AT-3", ExpiresAt: time.Now().Add(time.Hour)})
	tc.Set(ctx, app, wxlogin.WeChatToken{AccessToken: "AT-4", ExpiresAt: time.Now().Add(-time.Second)})
	if _, ok, _ := tc.Get(ctx, app); ok {
		t.Fatal("expired Set left a token")
	}
	// A value that is not ours is an error without the value in it.
	e.raw.Set(ctx, key, "garbage-secret", time.Minute)
	if _, ok, err := e.open().TokenCache().Get(ctx, app); ok || err == nil || strings.Contains(err.Error(), "garbage-secret") {
		t.Fatalf("garbage: ok %v err %v", ok, err)
	}
}

func TestTokenInvalidateComparesAndDeletes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tc := e.open().TokenCache()
	tc.Set(ctx, "wx1", wxlogin.WeChatToken{AccessToken: "new", ExpiresAt: time.Now().Add(time.Hour)})
	tc.Set(ctx, "wx2", wxlogin.WeChatToken{AccessToken: "old", ExpiresAt: time.Now().Add(time.Hour)})

	if err := tc.Invalidate(ctx, "wx1", "old"); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := tc.Get(ctx, "wx1"); !ok || got.AccessToken != "new" {
		t.Fatalf("Invalidate of another token deleted it: %v", ok)
	}
	if err := tc.Invalidate(ctx, "wx1", "new"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := tc.Get(ctx, "wx1"); ok {
		t.Fatal("Invalidate of the current token kept it")
	}
	if got, ok, _ := tc.Get(ctx, "wx2"); !ok || got.AccessToken != "old" {
		t.Fatal("Invalidate touched another app")
	}
	if err := tc.Invalidate(ctx, "wx3", "x"); err != nil {
		t.Fatalf("Invalidate of a missing key: %v", err)
	}
}

func TestLockExclusiveAcrossClients(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	caches := []wxlogin.TokenCache{e.open().TokenCache(), e.open().TokenCache()}

	const n = 20
	var wins atomic.Int32
	var unlocks []func()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			unlock, ok, err := caches[i%2].Lock(ctx, "wx1", 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				wins.Add(1)
				mu.Lock()
				unlocks = append(unlocks, unlock)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of %d Lock calls got the lock, want 1", wins.Load(), n)
	}
	// Another app's lock is independent.
	if _, ok, _ := caches[1].Lock(ctx, "wx2", time.Second); !ok {
		t.Fatal("lock of another app refused")
	}
	unlocks[0]()
	unlock, ok, err := caches[1].Lock(ctx, "wx1", time.Second)
	if !ok || err != nil {
		t.Fatalf("lock after unlock: %v %v", ok, err)
	}
	unlock()
}

func TestLockExpiryAndOwnUnlock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.open().TokenCache(), e.open().TokenCache()

	unlockA, ok, _ := a.Lock(ctx, "wx1", 150*time.Millisecond)
	if !ok {
		t.Fatal("first lock refused")
	}
	if _, ok, _ := b.Lock(ctx, "wx1", time.Second); ok {
		t.Fatal("lock taken twice")
	}
	time.Sleep(250 * time.Millisecond) // a's lock expires
	unlockB, ok, _ := b.Lock(ctx, "wx1", 5*time.Second)
	if !ok {
		t.Fatal("expired lock not released")
	}
	unlockA() // late: must not release b's lock
	if _, ok, _ := a.Lock(ctx, "wx1", time.Second); ok {
		t.Fatal("stale unlock released another holder's lock")
	}
	unlockB()
	unlockB() // idempotent
	if _, ok, _ := a.Lock(ctx, "wx1", time.Second); !ok {
		t.Fatal("unlock did not release")
	}
	if _, _, err := a.Lock(ctx, "wx2", 0); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Fatalf("ttl 0: %v", err)
	}
}

const simApp, simSecret = "wx1111111111111111", "sim-secret"

func newSim(t *testing.T) (*wechatsim.Sim, string) {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: simApp, Secret: simSecret}}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// accessTokens makes n concurrent AccessToken calls spread over clients and returns the tokens.
func accessTokens(t *testing.T, clients []*wechat.Client, n int) map[string]int {
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok, err := clients[i%len(clients)].AccessToken(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[tok.Reveal()]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return seen
}

func TestWechatInstancesShareOneTokenFetch(t *testing.T) {
	e := newEnv(t)
	sim, base := newSim(t)
	var clients []*wechat.Client
	for range 2 {
		clients = append(clients, wechat.NewClient(wechat.Config{BaseURL: base, AppID: simApp, Secret: simSecret, Tokens: e.open().TokenCache()}))
	}
	seen := accessTokens(t, clients, 40)
	if len(seen) != 1 {
		t.Fatalf("instances got %d different tokens", len(seen))
	}
	if n := sim.Calls(wechatsim.PathStableToken); n != 1 {
		t.Fatalf("simulator saw %d stable_token calls, want 1", n)
	}
}

// proxy forwards TCP connections to target until it is killed, so a test can cut Redis off.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *proxy) kill() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// proxied returns e's URL pointed at a new proxy, failing fast once the proxy is killed.
func (e *env) proxied() (*proxy, string) {
	opts, _ := goredis.ParseURL(e.url)
	p := newProxy(e.t, opts.Addr)
	u, err := url.Parse(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("max_retries", "-1")
	q.Set("dial_timeout", "200ms")
	u.RawQuery = q.Encode()
	return p, u.String()
}

func TestFallbackWhenRedisUnreachable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sim, base := newSim(t)
	p, u := e.proxied()
	var clients []*wechat.Client
	var caches []wxlogin.TokenCache
	for range 2 {
		tc := e.openURL(u).TokenCache()
		caches = append(caches, tc)
		clients = append(clients, wechat.NewClient(wechat.Config{BaseURL: base, AppID: simApp, Secret: simSecret, Tokens: tc}))
	}
	before := accessTokens(t, clients, 10)
	fetched := sim.Calls(wechatsim.PathStableToken)
	p.kill()

	// Both instances keep serving the token they saw, without asking WeChat again.
	after := accessTokens(t, clients, 20)
	if len(after) != 1 || len(before) != 1 {
		t.Fatalf("tokens before %d, after %d", len(before), len(after))
	}
	for tok := range after {
		if before[tok] == 0 {
			t.Fatal("a new token was fetched during the outage")
		}
	}
	if n := sim.Calls(wechatsim.PathStableToken); n != 1 || fetched != 1 {
		t.Fatalf("simulator saw %d stable_token calls, %d of them before the outage; want 1 in all", n, fetched)
	}

	// The lock falls back to one within the process.
	unlock, ok, err := caches[0].Lock(ctx, simApp, time.Second)
	if !ok || err != nil {
		t.Fatalf("fallback lock: %v %v", ok, err)
	}
	if _, ok, _ := caches[0].Lock(ctx, simApp, time.Second); ok {
		t.Fatal("fallback lock taken twice")
	}
	unlock()
	if _, ok, _ := caches[0].Lock(ctx, simApp, time.Second); !ok {
		t.Fatal("fallback unlock did not release")
	}
	// Errors of the unreachable cache carry no token.
	err = caches[0].Set(ctx, simApp, wxlogin.WeChatToken{AccessToken: "secret-token-value", ExpiresAt: time.Now().Add(time.Hour)})
	if err == nil || strings.Contains(err.Error(), "secret-token-value") {
		t.Fatalf("Set while down: %v", err)
	}
}

// flaky is a TokenCache whose calls fail while down is set.
type flaky struct {
	wxlogin.TokenCache
	down atomic.Bool
}

var errDown = errors.New("down")

func (f *flaky) Get(ctx context.Context, appid string) (wxlogin.WeChatToken, bool, error) {
	if f.down.Load() {
		return wxlogin.WeChatToken{}, false, errDown
	}
	return f.TokenCache.Get(ctx, appid)
}

func (f *flaky) Lock(ctx context.Context, appid string, ttl time.Duration) (func(), bool, error) {
	if f.down.Load() {
		return nil, false, errDown
	}
	return f.TokenCache.Lock(ctx, appid, ttl)
}

func TestFallbackTokenCache(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	next := &flaky{TokenCache: wechat.NewMemoryTokenCache()}
	f := redis.NewFallbackTokenCache(next, clock, nil)

	// Nothing seen yet: the error comes through.
	next.down.Store(true)
	if _, _, err := f.Get(ctx, "wx1"); !errors.Is(err, errDown) {
		t.Fatalf("Get with nothing remembered: %v", err)
	}
	next.down.Store(false)
	// Tokens seen through Get (set by another instance) are remembered.
	next.Set(ctx, "wx1", wxlogin.WeChatToken{AccessToken: "A", ExpiresAt: now.Add(time.Minute)})
	f.Get(ctx, "wx1")
	f.Set(ctx, "wx2", wxlogin.WeChatToken{AccessToken: "B", ExpiresAt: now.Add(time.Minute)})
	next.down.Store(true)
	for app, want := range map[string]wxlogin.Secret{"wx1": "A", "wx2": "B"} {
		if got, ok, err := f.Get(ctx, app); !ok || err != nil || got.AccessToken != want {
			t.Fatalf("%s while down: %v %v", app, ok, err)
		}
	}
	// Not once expired.
	now = now.Add(2 * time.Minute)
	if _, ok, err := f.Get(ctx, "wx1"); ok || err == nil {
		t.Fatalf("expired token served: %v %v", ok, err)
	}
	now = now.Add(-2 * time.Minute)
	// Invalidate forgets it; a shared cache that lost the token makes the fallback forget it too.
	f.Invalidate(ctx, "wx1", "A")
	if _, ok, _ := f.Get(ctx, "wx1"); ok {
		t.Fatal("invalidated token served")
	}
	next.down.Store(false)
	next.Invalidate(ctx, "wx2", "B")
	if _, ok, _ := f.Get(ctx, "wx2"); ok {
		t.Fatal("token deleted by another instance served")
	}
	next.down.Store(true)
	if _, ok, _ := f.Get(ctx, "wx2"); ok {
		t.Fatal("forgotten token served while down")
	}

	// Local lock expiry while down.
	if _, ok, err := f.Lock(ctx, "wx1", time.Second); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if _, ok, _ := f.Lock(ctx, "wx1", time.Second); ok {
		t.Fatal("local lock taken twice")
	}
	now = now.Add(2 * time.Second)
	if _, ok, _ := f.Lock(ctx, "wx1", time.Second); !ok {
		t.Fatal("expired local lock not released")
	}
}

func TestCodeCacheOneOwnerAcrossClients(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	caches := []wxlogin.CodeCache{e.open().CodeCache(time.Minute), e.open().CodeCache(time.Minute)}
	want := wxlogin.CodeResult{AppID: "wx1", OpenID: "o1", IP: "10.0.0.1"}

	const n = 10
	var owners atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			cc := caches[i%2]
			res, err := cc.Claim(ctx, "k1")
			if err != nil {
				t.Error(err)
				return
			}
			if res == nil {
				owners.Add(1)
				time.Sleep(100 * time.Millisecond) // the exchange; the others wait
				if err := cc.Settle(ctx, "k1", &want); err != nil {
					t.Error(err)
				}
				return
			}
			if *res != want {
				t.Errorf("waiter got %+v", *res)
			}
		})
	}
	close(start)
	wg.Wait()
	if owners.Load() != 1 {
		t.Fatalf("%d owners, want 1", owners.Load())
	}
	if ttl := e.raw.PTTL(ctx, e.prefix+"code:k1").Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("settled PTTL %v, want the window", ttl)
	}
	// A later Settle(nil) does not delete a result.
	caches[0].Settle(ctx, "k1", nil)
	if res, _ := caches[1].Claim(ctx, "k1"); res == nil || *res != want {
		t.Fatalf("after Settle(nil): %+v", res)
	}
}

func TestCodeCacheRelease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.open().CodeCache(time.Minute), e.open().CodeCache(time.Minute)
	if res, err := a.Claim(ctx, "k"); res != nil || err != nil {
		t.Fatalf("first claim: %v %v", res, err)
	}
	got := make(chan *wxlogin.CodeResult, 1)
	go func() {
		res, err := b.Claim(ctx, "k")
		if err != nil {
			t.Error(err)
		}
		got <- res
	}()
	time.Sleep(80 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("second claimer did not wait")
	default:
	}
	a.Settle(ctx, "k", nil) // the exchange failed
	select {
	case res := <-got:
		if res != nil {
			t.Fatalf("after release the waiter got %+v, want ownership", res)
		}
	case <-time.After(time.Second):
		t.Fatal("waiter not woken by release")
	}
	// The new owner holds it now: a third claimer waits, and gets its result.
	want := &wxlogin.CodeResult{AppID: "wx1", OpenID: "o2"}
	time.AfterFunc(50*time.Millisecond, func() { b.Settle(ctx, "k", want) })
	if res, err := a.Claim(ctx, "k"); err != nil || res == nil || *res != *want {
		t.Fatalf("third claim: %+v %v", res, err)
	}
}

func TestCodeCacheExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.open(redis.WithInflightTTL(150 * time.Millisecond))
	cc := c.CodeCache(150 * time.Millisecond)

	// A settled result lasts for the window.
	cc.Claim(ctx, "w")
	cc.Settle(ctx, "w", &wxlogin.CodeResult{AppID: "wx1", OpenID: "o"})
	if res, _ := cc.Claim(ctx, "w"); res == nil {
		t.Fatal("result not remembered")
	}
	time.Sleep(250 * time.Millisecond)
	if res, err := cc.Claim(ctx, "w"); res != nil || err != nil {
		t.Fatalf("after the window: %v %v, want ownership", res, err)
	}

	// An owner that never settles loses the key after the inflight TTL.
	cc.Claim(ctx, "dead")
	start := time.Now()
	if res, err := cc.Claim(ctx, "dead"); res != nil || err != nil {
		t.Fatalf("after inflight TTL: %v %v", res, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("took over a live claim after %v", d)
	}

	// The wait honours ctx.
	cc.Claim(ctx, "slow")
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := cc.Claim(tctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx: %v", err)
	}

	// Window 0 remembers nothing.
	z := c.CodeCache(0)
	z.Claim(ctx, "z")
	z.Settle(ctx, "z", &wxlogin.CodeResult{AppID: "wx1", OpenID: "o"})
	if res, err := z.Claim(ctx, "z"); res != nil || err != nil {
		t.Fatalf("window 0: %v %v", res, err)
	}
}

func TestLimiter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.open().Limiter(), e.open().Limiter()
	const window = 300 * time.Millisecond
	for i := range 3 {
		l := []*redis.Limiter{a, b}[i%2] // the count is shared
		if ok, ra, err := l.Allow(ctx, "ip:1", 3, window); !ok || ra != 0 || err != nil {
			t.Fatalf("event %d: %v %v %v", i+1, ok, ra, err)
		}
	}
	ok, retry, err := a.Allow(ctx, "ip:1", 3, window)
	if ok || err != nil || retry <= 0 || retry > window {
		t.Fatalf("4th event: ok %v retryAfter %v err %v", ok, retry, err)
	}
	if ok, _, _ := b.Allow(ctx, "ip:2", 3, window); !ok {
		t.Fatal("another key limited")
	}
	time.Sleep(retry + 30*time.Millisecond)
	if ok, _, _ := a.Allow(ctx, "ip:1", 3, window); !ok {
		t.Fatal("still limited after retryAfter")
	}
	for _, tc := range []struct {
		limit  int
		window time.Duration
	}{{0, time.Second}, {1, 0}, {-1, time.Second}} {
		if _, _, err := a.Allow(ctx, "x", tc.limit, tc.window); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("Allow(%d, %v): %v", tc.limit, tc.window, err)
		}
	}
}

func TestInvalidations(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := e.open().Invalidations()

	got := make(chan string, 10)
	var ups atomic.Int32
	var wg sync.WaitGroup
	for i := range 2 {
		sub := e.open().Invalidations()
		wg.Go(func() {
			err := sub.Subscribe(ctx, func(key string) { got <- key }, func(up bool) {
				if up {
					ups.Add(1)
				}
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("subscriber %d returned %v", i, err)
			}
		})
	}
	// Wait until both are subscribed.
	for deadline := time.Now().Add(2 * time.Second); ups.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers up", ups.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.raw.PubSubNumSub(ctx, e.prefix+"invalidations").Val()[e.prefix+"invalidations"]; n != 2 {
		t.Fatalf("%d subscribers on the channel", n)
	}
	if err := pub.Publish(ctx, []string{"s:ses_1", "u:usr_2"}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(time.Second)
	count := map[string]int{}
	for range 4 {
		select {
		case k := <-got:
			count[k]++
		case <-timeout:
			t.Fatalf("not delivered to both subscribers within 1s: %v", count)
		}
	}
	if count["s:ses_1"] != 2 || count["u:usr_2"] != 2 {
		t.Fatalf("delivered %v", count)
	}
	if err := pub.Publish(ctx, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Subscribe did not return after ctx ended")
	}
}

func TestSubscribeReconnects(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, u := e.proxied()
	sub := e.openURL(u).Invalidations()
	got := make(chan string, 10)
	states := make(chan bool, 10)
	done := make(chan error, 1)
	go func() {
		done <- sub.Subscribe(ctx, func(key string) { got <- key }, func(up bool) { states <- up })
	}()
	waitSubs := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); ; {
			if e.raw.PubSubNumSub(ctx, e.prefix+"invalidations").Val()[e.prefix+"invalidations"] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never %d subscribers", want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitSubs(1)
	if up := <-states; !up {
		t.Fatal("first state is down")
	}
	// Cut the connection but let new ones through: the subscriber comes back on its own.
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	// The old connection is gone, so a delivery proves a new subscription.
	pub := e.open().Invalidations()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(3 * time.Second)
wait:
	for {
		if err := pub.Publish(ctx, []string{"s:ses_9"}); err != nil {
			t.Fatal(err)
		}
		select {
		case sid := <-got:
			if sid != "s:ses_9" {
				t.Fatalf("got %q", sid)
			}
			break wait
		case <-tick.C:
		case <-deadline:
			t.Fatal("not delivered after reconnect")
		}
	}
	// The cut was reported (down), then the new subscription (up), before the delivery.
	if down, up := <-states, <-states; down || !up {
		t.Fatalf("states after the cut: %v then %v, want false then true", down, up)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Subscribe did not return")
	}
}
