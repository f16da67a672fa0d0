package wechat

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Access-token refresh tuning.
const (
	// defaultRefreshAhead: a cached token with less than this left is refreshed. Stored expiry
	// times are conservative (request start + expires_in), and with force_refresh=false the
	// platform renews the stable token when 5 minutes remain, so refreshing inside the last 5
	// minutes yields the new token.
	defaultRefreshAhead = 5 * time.Minute
	// defaultLockTTL bounds how long a crashed instance can hold the cross-instance refresh lock.
	defaultLockTTL = 15 * time.Second
	// defaultLockWait is how long a caller that did not get the lock waits for the holder to
	// publish a new token before fetching one itself.
	defaultLockWait = 3 * time.Second
	defaultLockPoll = 50 * time.Millisecond
	// refreshTimeout bounds one refresh, which runs detached from the caller's context so that one
	// impatient caller does not fail the others waiting on it.
	refreshTimeout = 30 * time.Second
)

// Token is an app's access token and the time it stops being valid (wxlogin.WeChatToken).
type Token = wxlogin.WeChatToken

// TokenCache shares the app's access token between the instances of a deployment
// (wxlogin.TokenCache; package redis implements it).
type TokenCache = wxlogin.TokenCache

// NewMemoryTokenCache returns a TokenCache for a single process. Its lock ignores ttl: a holder in
// the same process always unlocks.
func NewMemoryTokenCache() TokenCache {
	return &memoryTokenCache{tokens: make(map[string]Token), locks: make(map[string]*int)}
}

type memoryTokenCache struct {
	mu     sync.Mutex
	tokens map[string]Token
	locks  map[string]*int // the holder's unique marker
}

func (m *memoryTokenCache) Get(_ context.Context, appid string) (Token, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[appid]
	return t, ok, nil
}

func (m *memoryTokenCache) Set(_ context.Context, appid string, tok Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[appid] = tok
	return nil
}

func (m *memoryTokenCache) Invalidate(_ context.Context, appid string, accessToken wxlogin.Secret) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[appid]; ok && t.AccessToken == accessToken {
		delete(m.tokens, appid)
	}
	return nil
}

func (m *memoryTokenCache) Lock(_ context.Context, appid string, _ time.Duration) (func(), bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks[appid] != nil {
		return nil, false, nil
	}
	marker := new(int)
	m.locks[appid] = marker
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.locks[appid] == marker {
			delete(m.locks, appid)
		}
	}, true, nil
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// token converts a token response received for a request started at start. The expiry counts from
// the start of the request, so it is never later than WeChat's.
func (r *tokenResponse) token(api string, start time.Time) (*Token, error) {
	if r.AccessToken == "" {
		return nil, incomplete(api, "access_token")
	}
	if r.ExpiresIn <= 0 {
		return nil, incomplete(api, "expires_in")
	}
	return &Token{AccessToken: wxlogin.Secret(r.AccessToken), ExpiresAt: start.Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
}

// FetchStableToken calls POST /cgi-bin/stable_token once, without the cache. With forceRefresh the
// platform invalidates the current token (at most 20 times a day, 30 s apart): an operator action,
// never done automatically by this client. Errors: *APIError -1, 40002, 40013, 40125, 40164, 41002,
// 41004, 43002, 45009, 45011, 89503, 89506, 89507; *TransportError.
func (c *Client) FetchStableToken(ctx context.Context, forceRefresh bool) (*Token, error) {
	start := c.now()
	var out tokenResponse
	err := c.do(ctx, call{
		api:    apiStableToken,
		method: http.MethodPost,
		body: map[string]any{
			"grant_type":    "client_credential",
			"appid":         c.appid,
			"secret":        c.secret.Reveal(),
			"force_refresh": forceRefresh,
		},
		sensitive: []string{c.secret.Reveal()},
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.token(apiStableToken, start)
}

// FetchToken calls GET /cgi-bin/token once, without the cache; it replaces the app's previous plain
// token after a 5-minute overlap. Errors: *APIError -1, 40001 (wrong secret), 40002, 40013, 40125,
// 40164, 40243, 41004, 50004, 50007; *TransportError.
func (c *Client) FetchToken(ctx context.Context) (*Token, error) {
	start := c.now()
	var out tokenResponse
	err := c.do(ctx, call{
		api:    apiToken,
		method: http.MethodGet,
		query: url.Values{
			"grant_type": {"client_credential"},
			"appid":      {c.appid},
			"secret":     {c.secret.Reveal()},
		},
		sensitive: []string{c.secret.Reveal()},
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.token(apiToken, start)
}

// AccessToken returns the app's access token from the cache, refreshing it first when it is
// missing or has less than 5 minutes left. Concurrent callers share one refresh per process, and
// instances sharing the TokenCache one refresh per deployment. When a refresh ahead of expiry fails,
// the still-valid cached token is returned. While the TokenCache fails, the last token this client
// fetched or read is used as the cached one, so an outage of the cache costs no extra fetches.
// Errors: those of FetchStableToken (or FetchToken with
// PlainToken), or ctx's.
func (c *Client) AccessToken(ctx context.Context) (wxlogin.Secret, error) {
	t, ok := c.cached(ctx)
	if ok && c.fresh(t, "") {
		return t.AccessToken, nil
	}
	nt, err := c.refresh(ctx, "")
	if err != nil {
		if ok && c.now().Before(t.ExpiresAt) && ctx.Err() == nil {
			c.log.WarnContext(ctx, "wechat token refresh failed; using the current token until it expires",
				slog.String("appid", c.appid), slog.Time("expires_at", t.ExpiresAt), slog.String("error", err.Error()))
			return t.AccessToken, nil
		}
		return "", err
	}
	return nt.AccessToken, nil
}

// cached returns the token of the TokenCache, remembering it. When the cache fails, it returns the
// last token this client fetched or read, if it has not expired.
func (c *Client) cached(ctx context.Context) (Token, bool) {
	t, ok, err := c.tokens.Get(ctx, c.appid)
	if err == nil {
		c.remember(t, ok)
		return t, ok
	}
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if last.AccessToken != "" && c.now().Before(last.ExpiresAt) {
		c.log.WarnContext(ctx, "wechat token cache read failed; using this client's last token",
			slog.String("appid", c.appid), slog.String("error", err.Error()))
		return last, true
	}
	c.log.WarnContext(ctx, "wechat token cache read failed", slog.String("appid", c.appid), slog.String("error", err.Error()))
	return Token{}, false
}

// remember keeps t as the last token when ok, unless the last token expires later (a slower read
// of an older token must not replace a newer one). A cache without a token changes nothing: reads
// race, and a token WeChat rejects is dropped by forget.
func (c *Client) remember(t Token, ok bool) {
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.AccessToken == "" || !t.ExpiresAt.Before(c.last.ExpiresAt) {
		c.last = t
	}
}

// forget drops the last token if it is accessToken.
func (c *Client) forget(accessToken wxlogin.Secret) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.AccessToken == accessToken {
		c.last = Token{}
	}
}

// fresh reports whether t is not stale and has more than refreshAhead left.
func (c *Client) fresh(t Token, stale wxlogin.Secret) bool {
	return t.AccessToken != "" && t.AccessToken != stale && c.now().Before(t.ExpiresAt.Add(-c.refreshAhead))
}

type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

// refresh returns a fresh token other than stale ("" for none), joining the refresh in progress for
// the same stale token if there is one.
func (c *Client) refresh(ctx context.Context, stale wxlogin.Secret) (Token, error) {
	c.mu.Lock()
	f, ok := c.flights[stale]
	if !ok {
		f = &flight{done: make(chan struct{})}
		c.flights[stale] = f
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		go func() {
			defer cancel()
			f.tok, f.err = c.refreshShared(rctx, stale)
			c.mu.Lock()
			delete(c.flights, stale)
			c.mu.Unlock()
			close(f.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// refreshShared fetches a new token under the TokenCache lock, unless another instance publishes a
// fresh one first. When the cache fails, it fetches anyway: a stable-token fetch without
// force_refresh returns the current token and harms nobody.
func (c *Client) refreshShared(ctx context.Context, stale wxlogin.Secret) (Token, error) {
	log := c.log.With(slog.String("appid", c.appid))
	read := func() (Token, bool) { return c.cached(ctx) }
	if t, ok := read(); ok && c.fresh(t, stale) {
		return t, nil
	}
	unlock, locked, err := c.tokens.Lock(ctx, c.appid, c.lockTTL)
	switch {
	case err != nil:
		log.WarnContext(ctx, "wechat token lock failed; fetching without it", slog.String("error", err.Error()))
	case locked:
		defer unlock()
		// Another instance may have refreshed between our read and the lock.
		if t, ok := read(); ok && c.fresh(t, stale) {
			return t, nil
		}
	default:
		if t, ok := c.awaitOther(ctx, stale, read); ok {
			return t, nil
		}
		log.WarnContext(ctx, "wechat token refresh by another instance did not arrive; fetching")
	}
	var tok *Token
	if c.plainToken {
		tok, err = c.FetchToken(ctx)
	} else {
		// force_refresh=false even after a 40001: the platform answers with its current token,
		// which is newer than the rejected one if anybody renewed it. Forcing would invalidate the
		// token every other instance is using, is limited to 20 a day, and does not help when the
		// platform itself still considers the rejected token current.
		tok, err = c.FetchStableToken(ctx, false)
	}
	if c.obs != nil {
		c.obs.ObserveTokenRefresh(c.appid, err == nil)
	}
	if err != nil {
		return Token{}, err
	}
	c.remember(*tok, true)
	if stale != "" && tok.AccessToken == stale {
		log.WarnContext(ctx, "wechat returned the access token it had just rejected")
	}
	if err := c.tokens.Set(ctx, c.appid, *tok); err != nil {
		log.WarnContext(ctx, "wechat token cache write failed", slog.String("error", err.Error()))
	}
	return *tok, nil
}

// awaitOther polls the cache while another instance holds the refresh lock. It returns a fresh token
// once one appears, or, when the wait runs out, the cached token if it is not stale and still valid.
func (c *Client) awaitOther(ctx context.Context, stale wxlogin.Secret, read func() (Token, bool)) (Token, bool) {
	deadline := time.NewTimer(c.lockWait)
	defer deadline.Stop()
	tick := time.NewTicker(c.lockPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return Token{}, false
		case <-deadline.C:
			t, ok := read()
			if ok && t.AccessToken != stale && c.now().Before(t.ExpiresAt) {
				return t, true
			}
			return Token{}, false
		case <-tick.C:
			if t, ok := read(); ok && c.fresh(t, stale) {
				return t, true
			}
		}
	}
}

// withToken runs f with the access token. When the API rejects the token (IsTokenInvalid), it
// deletes that token from the cache (only if still cached), gets a new one and runs f exactly once
// more.
func (c *Client) withToken(ctx context.Context, f func(token wxlogin.Secret) error) error {
	tok, err := c.AccessToken(ctx)
	if err != nil {
		return err
	}
	err = f(tok)
	if !IsTokenInvalid(err) {
		return err
	}
	c.log.WarnContext(ctx, "wechat rejected the access token; refreshing", slog.String("appid", c.appid), slog.Int("errcode", APICode(err)))
	c.forget(tok)
	if ierr := c.tokens.Invalidate(ctx, c.appid, tok); ierr != nil {
		c.log.WarnContext(ctx, "wechat token cache invalidate failed", slog.String("appid", c.appid), slog.String("error", ierr.Error()))
	}
	nt, rerr := c.refresh(ctx, tok)
	if rerr != nil {
		return rerr
	}
	return f(nt.AccessToken)
}
