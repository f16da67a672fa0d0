package http_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/redis"
)

// *redis.Limiter plugs into the HTTP API's limits as it is.
var _ wxhttp.Limiter = (*redis.Limiter)(nil)

// withLimits sets the server's rate limits (and trusts X-Forwarded-For, so tests can vary the
// client IP).
func withLimits(l wxhttp.RateLimits) envOption {
	return func(_ *auth.Config, h *wxhttp.Config) {
		h.RateLimits = l
		h.TrustProxyHeaders = true
	}
}

// doFrom is e.do from client IP ip (sent as X-Forwarded-For).
func (e *env) doFrom(ip, method, path, bearer string, body any) *response {
	e.t.Helper()
	req := e.request(method, path, bearer, body)
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	return e.send(req)
}

// request builds what e.do sends.
func (e *env) request(method, path, bearer string, body any) *http.Request {
	e.t.Helper()
	var rd *strings.Reader
	switch b := body.(type) {
	case nil:
		rd = strings.NewReader("")
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return req
}

// mustLimited checks a 429 answer: rate_limited in the error shape, and a Retry-After of whole
// seconds within (0, max].
func mustLimited(t *testing.T, r *response, max time.Duration) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", r.Status, r.Body)
	}
	if code := r.ErrorCode(t); code != wxlogin.ERATELIMITED {
		t.Fatalf("code %q, want rate_limited", code)
	}
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 || time.Duration(ra)*time.Second > max {
		t.Fatalf("Retry-After %q, want 1..%v seconds", r.Header.Get("Retry-After"), max.Seconds())
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
}

func mustNotLimited(t *testing.T, r *response) {
	t.Helper()
	if r.Status == http.StatusTooManyRequests {
		t.Fatalf("limited too early: %s", r.Body)
	}
}

func TestRateLimitLoginPerIP(t *testing.T) {
	e := newEnv(t, withLimits(wxhttp.RateLimits{LoginIP: wxhttp.RateLimit{Limit: 3, Window: time.Minute}}))
	body := map[string]string{"appid": appA, "code": "not-a-real-code"}
	for i := 0; i < 3; i++ {
		mustNotLimited(t, e.doFrom("203.0.113.1", "POST", "/v1/login/wechat", "", body))
	}
	mustLimited(t, e.doFrom("203.0.113.1", "POST", "/v1/login/wechat", "", body), time.Minute)
	// Every login route shares the per-IP count, sign-up included.
	mustLimited(t, e.doFrom("203.0.113.1", "POST", "/v1/login/password", "", map[string]string{"username": "x", "password": "y"}), time.Minute)
	mustLimited(t, e.doFrom("203.0.113.1", "POST", "/v1/accounts", "", map[string]string{"username": "x", "password": "y"}), time.Minute)
	mustLimited(t, e.doFrom("203.0.113.1", "POST", "/v1/login/phone", "", body), time.Minute)
	mustLimited(t, e.doFrom("203.0.113.1", "POST", "/v1/login/cloud", "", nil), time.Minute)
	// A real login from the limited address is refused too; from another address it works.
	r := e.doFrom("203.0.113.1", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "lim")})
	mustLimited(t, r, time.Minute)
	e.mustTokens(e.doFrom("203.0.113.2", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "lim")}))
	// Retry-After counts down with the clock; after the window, the address may log in again.
	e.clock.Advance(45 * time.Second)
	r = e.doFrom("203.0.113.1", "POST", "/v1/login/wechat", "", body)
	mustLimited(t, r, 15*time.Second)
	e.clock.Advance(15 * time.Second)
	e.mustTokens(e.doFrom("203.0.113.1", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "lim")}))
	// Other endpoints are not limited by the login limit.
	for i := 0; i < 5; i++ {
		mustNotLimited(t, e.doFrom("203.0.113.1", "GET", "/healthz", "", nil))
		mustNotLimited(t, e.doFrom("203.0.113.1", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": "x"}))
	}
}

func TestRateLimitTrustProxyHeaders(t *testing.T) {
	limit := wxhttp.RateLimits{LoginIP: wxhttp.RateLimit{Limit: 2, Window: time.Minute}}
	body := map[string]string{"appid": appA, "code": "nope"}

	// Not trusted: X-Forwarded-For is ignored, every request comes from the test's own address.
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) { h.RateLimits = limit })
	for _, ip := range []string{"198.51.100.1", "198.51.100.2"} {
		mustNotLimited(t, e.doFrom(ip, "POST", "/v1/login/wechat", "", body))
	}
	mustLimited(t, e.doFrom("198.51.100.3", "POST", "/v1/login/wechat", "", body), time.Minute)

	// Trusted: the last X-Forwarded-For address is the client; addresses are independent.
	e = newEnv(t, withLimits(limit))
	for _, ip := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "2001:db8::1"} {
		for i := 0; i < 2; i++ {
			mustNotLimited(t, e.doFrom("192.0.2.9, "+ip, "POST", "/v1/login/wechat", "", body))
		}
		mustLimited(t, e.doFrom(ip, "POST", "/v1/login/wechat", "", body), time.Minute)
	}
	// IPv6 addresses count per /64: another address of the same /64 is the same client.
	mustLimited(t, e.doFrom("2001:db8::2", "POST", "/v1/login/wechat", "", body), time.Minute)
	mustNotLimited(t, e.doFrom("2001:db8:0:1::1", "POST", "/v1/login/wechat", "", body))
}

func TestRateLimitPasswordPerUsername(t *testing.T) {
	e := newEnv(t, withLimits(wxhttp.RateLimits{
		PasswordIP:       wxhttp.RateLimit{Limit: 4, Window: time.Minute},
		PasswordIdentity: wxhttp.RateLimit{Limit: 3, Window: 5 * time.Minute},
	}))
	if r := e.doFrom("10.0.0.1", "POST", "/v1/accounts", "", map[string]string{"username": "olga", "password": "correct-horse"}); r.Status != 201 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	// Wrong passwords from many addresses: the username's limit stops them (the sign-up counted).
	for i, ip := range []string{"10.0.0.2", "10.0.0.3"} {
		r := e.doFrom(ip, "POST", "/v1/login/password", "", map[string]string{"username": "olga", "password": "wrong-" + strconv.Itoa(i) + "-pass"})
		if r.Status != 401 {
			t.Fatalf("wrong password: %d %s", r.Status, r.Body)
		}
	}
	// Usernames are case-insensitive; so is their limit.
	mustLimited(t, e.doFrom("10.0.0.4", "POST", "/v1/login/password", "", map[string]string{"username": "OLGA", "password": "correct-horse"}), 5*time.Minute)
	// A code login with olga's credentials is a password attempt too.
	mustLimited(t, e.doFrom("10.0.0.5", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "olga"), "username": "olga", "password": "correct-horse"}), 5*time.Minute)
	// Another account is not affected.
	e.mustTokens(e.doFrom("10.0.0.6", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "pete")}))
	// Per IP: four password attempts, whatever the usernames.
	for i := 0; i < 4; i++ {
		r := e.doFrom("10.0.0.7", "POST", "/v1/login/password", "", map[string]string{"username": "user" + strconv.Itoa(i), "password": "whatever-pass"})
		mustNotLimited(t, r)
	}
	mustLimited(t, e.doFrom("10.0.0.7", "POST", "/v1/accounts", "", map[string]string{"username": "user9", "password": "whatever-pass"}), time.Minute)
	// A code login without credentials from that address is not a password attempt.
	e.mustTokens(e.doFrom("10.0.0.7", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "quin")}))
	// After the window, olga logs in.
	e.clock.Advance(5 * time.Minute)
	e.mustTokens(e.doFrom("10.0.0.4", "POST", "/v1/login/password", "", map[string]string{"username": "olga", "password": "correct-horse"}))
}

func TestRateLimitCodeLoginPerAppAndIP(t *testing.T) {
	e := newEnv(t, withLimits(wxhttp.RateLimits{LoginIdentity: wxhttp.RateLimit{Limit: 2, Window: time.Minute}}))
	for i := 0; i < 2; i++ {
		e.mustTokens(e.doFrom("10.1.0.1", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "rob")}))
	}
	mustLimited(t, e.doFrom("10.1.0.1", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "rob")}), time.Minute)
	// Another app from the same address, or the same app from another address, has its own count.
	e.mustTokens(e.doFrom("10.1.0.1", "POST", "/v1/login/wechat", "", map[string]string{"appid": appB, "code": e.code(appB, "rob")}))
	e.mustTokens(e.doFrom("10.1.0.2", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "rob")}))
}

func TestRateLimitRefresh(t *testing.T) {
	e := newEnv(t, withLimits(wxhttp.RateLimits{
		RefreshIP:       wxhttp.RateLimit{Limit: 5, Window: time.Minute},
		RefreshIdentity: wxhttp.RateLimit{Limit: 2, Window: time.Minute},
	}))
	tk := e.login(appA, "sam")
	// A guessed token, tried again and again: its own limit stops it after two tries.
	for i := 0; i < 2; i++ {
		if r := e.doFrom("10.2.0.1", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": "guess"}); r.Status != 401 {
			t.Fatalf("guess: %d %s", r.Status, r.Body)
		}
	}
	mustLimited(t, e.doFrom("10.2.0.9", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": "guess"}), time.Minute)
	// Three more from 10.2.0.1 (two counted already): the fifth passes, the sixth is limited.
	next := e.mustTokens(e.doFrom("10.2.0.1", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}))
	next = e.mustTokens(e.doFrom("10.2.0.1", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": next.RefreshToken}))
	next = e.mustTokens(e.doFrom("10.2.0.1", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": next.RefreshToken}))
	mustLimited(t, e.doFrom("10.2.0.1", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": next.RefreshToken}), time.Minute)
	// The limit refused before the token was looked at: it is still good elsewhere.
	e.mustTokens(e.doFrom("10.2.0.2", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": next.RefreshToken}))
}

func TestRateLimitPhone(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, h *wxhttp.Config) {
		a.PhoneLogin = true
		withLimits(wxhttp.RateLimits{PhoneIdentity: wxhttp.RateLimit{Limit: 2, Window: 10 * time.Minute}, PhoneIP: wxhttp.RateLimit{Limit: 4, Window: time.Minute}})(a, h)
	})
	tk := e.login(appA, "tia")
	other := e.login(appA, "uma")
	for i := 0; i < 2; i++ {
		code, _ := e.sim.PhoneCode(appA, "tia", "1370000000"+strconv.Itoa(i))
		if r := e.doFrom("10.3.0."+strconv.Itoa(i+1), "POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": code}); r.Status != 200 {
			t.Fatalf("set phone: %d %s", r.Status, r.Body)
		}
	}
	// Per user: a third change from yet another address is refused.
	code, _ := e.sim.PhoneCode(appA, "tia", "13700000009")
	mustLimited(t, e.doFrom("10.3.0.9", "POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": code}), 10*time.Minute)
	code, _ = e.sim.PhoneCode(appA, "uma", "13800000000")
	if r := e.doFrom("10.3.0.9", "POST", "/v1/me/phone", other.AccessToken, map[string]string{"appid": appA, "code": code}); r.Status != 200 {
		t.Fatalf("another user: %d %s", r.Status, r.Body)
	}
	// Per IP, phone login and /v1/me/phone together: 10.3.0.9 has used 2 of 4.
	for i := 0; i < 2; i++ {
		mustNotLimited(t, e.doFrom("10.3.0.9", "POST", "/v1/login/phone", "", map[string]string{"appid": appB, "code": "nope"}))
	}
	mustLimited(t, e.doFrom("10.3.0.9", "POST", "/v1/login/phone", "", map[string]string{"appid": appC, "code": "nope"}), time.Minute)
	// After the window the user may change the number again.
	e.clock.Advance(10 * time.Minute)
	code, _ = e.sim.PhoneCode(appA, "tia", "13700000009")
	if r := e.doFrom("10.3.0.9", "POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": code}); r.Status != 200 {
		t.Fatalf("after the window: %d %s", r.Status, r.Body)
	}
}

// failingLimiter is a shared limiter whose store is down.
type failingLimiter struct{ calls atomic.Int64 }

func (f *failingLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	f.calls.Add(1)
	return false, 0, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

func TestRateLimitSharedLimiterDown(t *testing.T) {
	f := &failingLimiter{}
	e := newEnv(t, func(a *auth.Config, h *wxhttp.Config) {
		withLimits(wxhttp.RateLimits{LoginIP: wxhttp.RateLimit{Limit: 3, Window: time.Minute}})(a, h)
		h.Limiter = f
	})
	// Logins keep working while the shared store is down...
	for i := 0; i < 3; i++ {
		e.mustTokens(e.doFrom("10.4.0.1", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "val")}))
	}
	// ...and the limit still holds, counted by this instance.
	mustLimited(t, e.doFrom("10.4.0.1", "POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": "x"}), time.Minute)
	if f.calls.Load() != 4 {
		t.Errorf("shared limiter asked %d times, want 4", f.calls.Load())
	}
	logs := e.logs.String()
	if n := strings.Count(logs, "shared rate limiter unavailable"); n != 1 {
		t.Errorf("%d warnings about the shared limiter, want 1 (at most one per 10 s): %s", n, logs)
	}
}

func TestRateLimitRedis(t *testing.T) {
	url := os.Getenv("WXLOGIN_TEST_REDIS")
	if url == "" {
		t.Skip("WXLOGIN_TEST_REDIS not set")
	}
	var b [8]byte
	rand.Read(b[:])
	prefix := "wxlogintest:" + hex.EncodeToString(b[:]) + ":"
	ctx := context.Background()
	var clients []*redis.Client
	for i := 0; i < 2; i++ {
		c, err := redis.Open(ctx, url, redis.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	t.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
	})
	limits := wxhttp.RateLimits{LoginIP: wxhttp.RateLimit{Limit: 3, Window: time.Minute}, RefreshIdentity: wxhttp.RateLimit{Limit: 1, Window: time.Minute}}
	// Two instances sharing one Redis share the counts.
	e1 := newEnv(t, func(a *auth.Config, h *wxhttp.Config) { withLimits(limits)(a, h); h.Limiter = clients[0].Limiter() })
	e2 := newEnv(t, func(a *auth.Config, h *wxhttp.Config) { withLimits(limits)(a, h); h.Limiter = clients[1].Limiter() })
	body := map[string]string{"appid": appA, "code": "nope"}
	for _, e := range []*env{e1, e2, e1} {
		mustNotLimited(t, e.doFrom("10.5.0.1", "POST", "/v1/login/wechat", "", body))
	}
	mustLimited(t, e2.doFrom("10.5.0.1", "POST", "/v1/login/wechat", "", body), time.Minute)
	mustNotLimited(t, e2.doFrom("10.5.0.2", "POST", "/v1/login/wechat", "", body))
	mustNotLimited(t, e1.doFrom("10.5.0.3", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": "guess"}))
	mustLimited(t, e2.doFrom("10.5.0.4", "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": "guess"}), time.Minute)
	// The keys hold no token or address in clear.
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opts)
	defer raw.Close()
	keys, err := raw.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("no rate-limit key in Redis")
	}
	for _, k := range keys {
		if strings.Contains(k, "guess") {
			t.Errorf("key %q holds a refresh token in clear", k)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	for in, want := range map[string]wxhttp.RateLimit{
		"30/1m":    {Limit: 30, Window: time.Minute},
		" 5 / 10s": {Limit: 5, Window: 10 * time.Second},
		"1/24h":    {Limit: 1, Window: 24 * time.Hour},
		"off":      {},
	} {
		got, err := wxhttp.ParseRateLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseRateLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := wxhttp.ParseRateLimit(got.String()); err != nil || back != got {
			t.Errorf("%v.String() = %q does not parse back: %v %v", got, got.String(), back, err)
		}
	}
	for _, in := range []string{"", "30", "30/", "/1m", "0/1m", "-1/1m", "30/0s", "30/500ms", "x/1m", "30/1 minute", "30/1m/2"} {
		if _, err := wxhttp.ParseRateLimit(in); err == nil {
			t.Errorf("ParseRateLimit(%q) accepted", in)
		}
	}
}

func TestMemoryLimiter(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := wxhttp.NewMemoryLimiter(c.Now, 100)
	for i := 1; i <= 4; i++ {
		ok, retry, err := m.Allow(ctx, "k", 3, time.Minute)
		if err != nil || ok != (i <= 3) || (!ok && retry != time.Minute) {
			t.Fatalf("event %d: %v %v %v", i, ok, retry, err)
		}
	}
	c.Advance(59 * time.Second)
	if ok, retry, _ := m.Allow(ctx, "k", 3, time.Minute); ok || retry != time.Second {
		t.Fatalf("before the window ends: %v %v", ok, retry)
	}
	c.Advance(time.Second)
	if ok, _, _ := m.Allow(ctx, "k", 3, time.Minute); !ok {
		t.Fatal("a new window was not started")
	}
	if _, _, err := m.Allow(ctx, "k", 0, time.Minute); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Fatalf("limit 0: %v", err)
	}
	// Bounded: a flood of distinct keys never holds more than 100 windows...
	for i := 0; i < 10_000; i++ {
		m.Allow(ctx, "flood"+strconv.Itoa(i), 1, time.Hour)
		if m.Len() > 100 {
			t.Fatalf("%d windows held, cap 100", m.Len())
		}
	}
	// ...and ended windows are swept.
	c.Advance(2 * time.Hour)
	m.Allow(ctx, "after", 1, time.Minute)
	if m.Len() != 1 {
		t.Fatalf("%d windows held after every other window ended", m.Len())
	}
}

// The password limits count what the handler decodes, whatever the case of the media type: a
// Content-Type of "Application/JSON; charset=UTF-8" is accepted by the handler, so it is counted.
func TestRateLimitPasswordMediaTypeCase(t *testing.T) {
	e := newEnv(t, withLimits(wxhttp.RateLimits{
		PasswordIP:       wxhttp.RateLimit{Limit: 100, Window: time.Minute},
		PasswordIdentity: wxhttp.RateLimit{Limit: 2, Window: 5 * time.Minute},
	}))
	if r := e.doFrom("10.2.0.1", "POST", "/v1/accounts", "", map[string]string{"username": "vera", "password": "correct-horse"}); r.Status != 201 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	for i, ct := range []string{"Application/JSON", "APPLICATION/JSON; charset=UTF-8"} {
		req := e.request("POST", "/v1/login/password", "", map[string]string{"username": "vera", "password": "wrong-" + strconv.Itoa(i) + "-pass"})
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Forwarded-For", "10.2.0."+strconv.Itoa(2+i))
		r := e.send(req)
		if i == 0 && r.Status != 401 {
			t.Fatalf("%s: wrong password answered %d %s, want 401", ct, r.Status, r.Body)
		}
		if i == 1 {
			mustLimited(t, r, 5*time.Minute)
		}
	}
	// Per address too.
	e2 := newEnv(t, withLimits(wxhttp.RateLimits{PasswordIP: wxhttp.RateLimit{Limit: 1, Window: time.Minute}}))
	for i := 0; i < 2; i++ {
		req := e2.request("POST", "/v1/login/password", "", map[string]string{"username": "user" + strconv.Itoa(i), "password": "whatever-pass"})
		req.Header.Set("Content-Type", "Application/Json")
		req.Header.Set("X-Forwarded-For", "10.2.1.1")
		r := e2.send(req)
		if i == 1 {
			mustLimited(t, r, time.Minute)
		}
	}
}
