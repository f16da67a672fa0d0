package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// Limiter counts events per key in windows. *redis.Limiter (shared by every instance) and
// *MemoryLimiter (one instance) implement it.
type Limiter interface {
	// Allow counts one event for key and reports whether it is within limit events per window;
	// when not, retryAfter is how long until the window ends.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// RateLimit is limit events per window; the zero value means no limit.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// On reports whether l limits anything.
func (l RateLimit) On() bool { return l.Limit > 0 && l.Window > 0 }

// String returns l as ParseRateLimit reads it ("30/1m", or "off").
func (l RateLimit) String() string {
	if !l.On() {
		return "off"
	}
	return strconv.Itoa(l.Limit) + "/" + shortDuration(l.Window)
}

func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseRateLimit parses "N/DURATION" (e.g. "30/1m": 30 events per minute), or "off". Errors: a
// message saying what the value must look like.
func ParseRateLimit(s string) (RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return RateLimit{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || limit < 1 {
		return RateLimit{}, errors.New("must be COUNT/WINDOW such as 30/1m (COUNT >= 1), or off")
	}
	window, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || window < time.Second {
		return RateLimit{}, errors.New("must be COUNT/WINDOW such as 30/1m (WINDOW >= 1s), or off")
	}
	return RateLimit{Limit: limit, Window: window}, nil
}

// RateLimits are the limits of the endpoints that attackers aim at. A request must pass every
// limit that applies to it. Zero values mean no limit.
type RateLimits struct {
	// LoginIP: every POST /v1/login/* and POST /v1/accounts, per client IP (IPv6: per /64).
	LoginIP RateLimit
	// LoginIdentity: logins without a password (code, phone and Cloud Run logins), per appid +
	// client IP: the openid is unknown before WeChat answers.
	LoginIdentity RateLimit
	// PasswordIP: requests that check a password (password login, sign-up, code login with
	// credentials), per client IP. Each costs an argon2id hash.
	PasswordIP RateLimit
	// PasswordIdentity: the same requests per username (case-insensitive).
	PasswordIdentity RateLimit
	// RefreshIP: POST /v1/token/refresh per client IP.
	RefreshIP RateLimit
	// RefreshIdentity: POST /v1/token/refresh per refresh token (keyed by its hash).
	RefreshIdentity RateLimit
	// PhoneIP: POST /v1/login/phone and POST /v1/me/phone per client IP.
	PhoneIP RateLimit
	// PhoneIdentity: POST /v1/me/phone per user, POST /v1/login/phone per appid + client IP (the
	// phone number is only known after WeChat decoded the code).
	PhoneIdentity RateLimit
	// QRLoginIP: POST /v1/qr-login and its polls per client IP.
	QRLoginIP RateLimit
}

// MemoryLimiter is a Limiter of one process: fixed windows per key (like *redis.Limiter), in a
// map bounded to a maximum number of keys. Windows that ended are swept; when the map is full of
// live windows, arbitrary ones are dropped (forgetting a count, never refusing a request). It is
// safe for concurrent use.
type MemoryLimiter struct {
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	windows   map[string]*window
	nextSweep time.Time
}

type window struct {
	count int
	end   time.Time
}

// NewMemoryLimiter returns a MemoryLimiter holding at most maxKeys windows (<= 0: 100000). now may
// be nil (time.Now).
func NewMemoryLimiter(now func() time.Time, maxKeys int) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &MemoryLimiter{now: now, maxKeys: maxKeys, windows: map[string]*window{}}
}

// Allow implements Limiter with *redis.Limiter's semantics: the window of key starts with its
// first event and lasts window; denied events count too. Errors: EINVALID for limit < 1 or
// window < 1 ms.
func (m *MemoryLimiter) Allow(ctx context.Context, key string, limit int, win time.Duration) (bool, time.Duration, error) {
	if limit < 1 || win < time.Millisecond {
		return false, 0, wxlogin.Errorf(wxlogin.EINVALID, "rate limit needs limit >= 1 and window >= 1ms")
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !now.Before(m.nextSweep) {
		m.sweep(now)
		m.nextSweep = now.Add(time.Minute)
	}
	w, ok := m.windows[key]
	if !ok || !now.Before(w.end) {
		if !ok && len(m.windows) >= m.maxKeys {
			m.makeRoom(now)
		}
		w = &window{end: now.Add(win)}
		m.windows[key] = w
	}
	w.count++
	if w.count <= limit {
		return true, 0, nil
	}
	return false, w.end.Sub(now), nil
}

// Len returns the number of windows held.
func (m *MemoryLimiter) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.windows)
}

func (m *MemoryLimiter) sweep(now time.Time) {
	for k, w := range m.windows {
		if !now.Before(w.end) {
			delete(m.windows, k)
		}
	}
}

// makeRoom sweeps ended windows and, when that is not enough, drops arbitrary live ones until the
// map is at most 7/8 full, so the cost of a full sweep is spread over many new keys.
func (m *MemoryLimiter) makeRoom(now time.Time) {
	m.sweep(now)
	target := m.maxKeys - m.maxKeys/8 - 1
	for k := range m.windows {
		if len(m.windows) <= target {
			break
		}
		delete(m.windows, k)
	}
}

// rateLimiter applies RateLimits with a Limiter, falling back to a MemoryLimiter of this process
// when the shared one fails: a login server must not go down with its cache.
type rateLimiter struct {
	limits RateLimits
	shared Limiter // nil: local only
	local  *MemoryLimiter
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	lastWarn time.Time
}

func newRateLimiter(cfg Config, log *slog.Logger) *rateLimiter {
	rl := &rateLimiter{limits: cfg.RateLimits, shared: cfg.Limiter, local: NewMemoryLimiter(cfg.Now, 0), log: log, now: cfg.Now}
	if ml, ok := cfg.Limiter.(*MemoryLimiter); ok {
		rl.shared, rl.local = nil, ml
	}
	return rl
}

// check counts one event of rule for key ("" or a limit that is off: nothing to count) and returns
// ERATELIMITED with RetryAfter when the limit is exceeded.
func (rl *rateLimiter) check(ctx context.Context, rule string, l RateLimit, key, msg string) error {
	if !l.On() || key == "" {
		return nil
	}
	k := rule + ":" + strconv.Itoa(l.Limit) + "/" + l.Window.String() + ":" + key
	var (
		ok    bool
		retry time.Duration
		err   error
	)
	if rl.shared != nil {
		ok, retry, err = rl.shared.Allow(ctx, k, l.Limit, l.Window)
		if err != nil {
			rl.warn(ctx, err)
		}
	}
	if rl.shared == nil || err != nil {
		if ok, retry, err = rl.local.Allow(ctx, k, l.Limit, l.Window); err != nil {
			return err
		}
	}
	if ok {
		return nil
	}
	if retry < time.Second {
		retry = time.Second
	}
	return &wxlogin.Error{Code: wxlogin.ERATELIMITED, Message: msg + "; try again later", RetryAfter: retry}
}

// warn logs a failure of the shared limiter at most every 10 seconds.
func (rl *rateLimiter) warn(ctx context.Context, err error) {
	now := rl.now()
	rl.mu.Lock()
	if now.Sub(rl.lastWarn) < 10*time.Second && !rl.lastWarn.IsZero() {
		rl.mu.Unlock()
		return
	}
	rl.lastWarn = now
	rl.mu.Unlock()
	rl.log.WarnContext(ctx, "shared rate limiter unavailable; limiting with this instance's counts", "err", err.Error())
}

// limitKeyIP returns the rate-limit key of a client IP: the address, or its /64 for IPv6 (one
// subscriber usually holds a whole /64).
func limitKeyIP(ip string) string {
	p := net.ParseIP(ip)
	if p == nil {
		return "?" + hashKey(ip)
	}
	if p4 := p.To4(); p4 != nil {
		return p4.String()
	}
	return p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// hashKey returns a short hash of an identity, so that keys hold no token, username or phone
// number in clear.
func hashKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// limitInput is what the body-keyed limits count, taken from the request the handler decoded:
// the limits see exactly the input the handler and the service see (one parse, by decode).
type limitInput struct {
	appID    string
	username string // as sent; the service's auth.UsernameKey makes it the account's key
	password bool   // the request checks a password (an argon2id hash)
	refresh  string // the refresh token of POST /v1/token/refresh
}

// limitedRequest is a decoded request that body-keyed limits apply to.
type limitedRequest interface{ limitInput() limitInput }

func (r *loginWeChatRequest) limitInput() limitInput {
	return limitInput{appID: r.AppID, username: r.Username, password: r.Username != "" || r.Password != ""}
}
func (r *loginPasswordRequest) limitInput() limitInput {
	return limitInput{appID: r.AppID, username: r.Username, password: true}
}
func (r *signUpRequest) limitInput() limitInput {
	return limitInput{username: r.Username, password: true}
}
func (r *loginPhoneRequest) limitInput() limitInput { return limitInput{appID: r.AppID} }
func (r *refreshRequest) limitInput() limitInput    { return limitInput{refresh: r.RefreshToken} }

// limitDecoded applies the limits keyed on a decoded request, after the address limits of the
// route's middleware (limitLogin, limitRefresh, limitPhone) passed:
//   - a login or sign-up that checks a password counts against the password limits, per address
//     and per account; any other login against the per-app-and-address login limit;
//   - a phone login counts against the phone limit per app and address;
//   - a refresh counts against the per-token refresh limit.
func (s *server) limitDecoded(r *http.Request, in limitInput) error {
	ctx, l := r.Context(), s.limits.limits
	ip := limitKeyIP(s.clientIP(r))
	switch r.URL.Path {
	case "/v1/token/refresh":
		if in.refresh == "" {
			return nil
		}
		return s.limits.check(ctx, "refresh_token", l.RefreshIdentity, hashKey(in.refresh), "too many refreshes of this token")
	}
	if in.password {
		if err := s.limits.check(ctx, "password_ip", l.PasswordIP, ip, "too many sign-in attempts from this address"); err != nil {
			return err
		}
		if in.username != "" {
			if err := s.limits.check(ctx, "password_user", l.PasswordIdentity, hashKey(auth.UsernameKey(in.username)), "too many sign-in attempts for this account"); err != nil {
				return err
			}
		}
	} else if err := s.limits.check(ctx, "login_app_ip", l.LoginIdentity, hashKey(in.appID, ip), "too many logins from this address"); err != nil {
		return err
	}
	if r.URL.Path == "/v1/login/phone" {
		return s.limits.check(ctx, "phone_id", l.PhoneIdentity, hashKey("app", in.appID, ip), "too many phone number requests")
	}
	return nil
}

// limitLogin applies the per-address login limit before next runs; the limits keyed on the body
// run once the handler decoded it (limitDecoded).
func (s *server) limitLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, l := r.Context(), s.limits.limits
		ip := limitKeyIP(s.clientIP(r))
		if err := s.limits.check(ctx, "login_ip", l.LoginIP, ip, "too many logins from this address"); err != nil {
			s.writeError(w, r, err)
			return
		}
		if r.URL.Path == "/v1/login/cloud" { // no body: the app comes in a header
			if err := s.limits.check(ctx, "login_app_ip", l.LoginIdentity, hashKey(r.Header.Get("X-WX-APPID"), ip), "too many logins from this address"); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitRefresh applies the per-address refresh limit before next runs; the per-token limit runs
// once the handler decoded the body (limitDecoded).
func (s *server) limitRefresh(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.limits.check(r.Context(), "refresh_ip", s.limits.limits.RefreshIP, limitKeyIP(s.clientIP(r)), "too many refreshes from this address"); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitPhone applies the phone limits before next runs: per address, and per user when
// authenticated (place it inside s.authenticated). A phone login's per-app-and-address limit runs
// once the handler decoded the body (limitDecoded).
func (s *server) limitPhone(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, l := r.Context(), s.limits.limits
		if err := s.limits.check(ctx, "phone_ip", l.PhoneIP, limitKeyIP(s.clientIP(r)), "too many phone number requests from this address"); err != nil {
			s.writeError(w, r, err)
			return
		}
		if p := principal(r); p != nil {
			if err := s.limits.check(ctx, "phone_id", l.PhoneIdentity, hashKey("user", p.UserID), "too many phone number requests"); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
