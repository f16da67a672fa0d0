package redis

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// FallbackTokenCache wraps a shared wxlogin.TokenCache (Redis) so that an outage of it does not make
// every instance fetch new tokens and burn WeChat's daily token quota. It remembers the last token it
// saw per app; when the shared cache fails, Get serves that token while it is still valid, and Lock
// falls back to a lock within this process. It is safe for concurrent use.
type FallbackTokenCache struct {
	next wxlogin.TokenCache
	now  func() time.Time
	log  *slog.Logger

	mu    sync.Mutex
	last  map[string]wxlogin.WeChatToken
	locks map[string]*localLock
}

type localLock struct{ expires time.Time }

// NewFallbackTokenCache returns a FallbackTokenCache in front of next. now and log may be nil
// (time.Now, discard).
func NewFallbackTokenCache(next wxlogin.TokenCache, now func() time.Time, log *slog.Logger) *FallbackTokenCache {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FallbackTokenCache{next: next, now: now, log: log, last: map[string]wxlogin.WeChatToken{}, locks: map[string]*localLock{}}
}

// Get implements wxlogin.TokenCache. When the shared cache fails, it returns the last token seen if
// it has not expired, and otherwise the shared cache's error.
func (f *FallbackTokenCache) Get(ctx context.Context, appid string) (wxlogin.WeChatToken, bool, error) {
	tok, ok, err := f.next.Get(ctx, appid)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		if ok {
			f.last[appid] = tok
		} else {
			delete(f.last, appid)
		}
		return tok, ok, nil
	}
	if last, have := f.last[appid]; have && f.now().Before(last.ExpiresAt) {
		f.log.WarnContext(ctx, "shared token cache unavailable; using the last token of this process",
			slog.String("appid", appid), slog.String("error", err.Error()))
		return last, true, nil
	}
	return wxlogin.WeChatToken{}, false, err
}

// Set implements wxlogin.TokenCache. The token is remembered even when the shared cache fails, whose
// error is returned.
func (f *FallbackTokenCache) Set(ctx context.Context, appid string, tok wxlogin.WeChatToken) error {
	f.mu.Lock()
	f.last[appid] = tok
	f.mu.Unlock()
	return f.next.Set(ctx, appid, tok)
}

// Invalidate implements wxlogin.TokenCache, forgetting the remembered token too if it is accessToken.
func (f *FallbackTokenCache) Invalidate(ctx context.Context, appid string, accessToken wxlogin.Secret) error {
	f.mu.Lock()
	if t, ok := f.last[appid]; ok && t.AccessToken == accessToken {
		delete(f.last, appid)
	}
	f.mu.Unlock()
	return f.next.Invalidate(ctx, appid, accessToken)
}

// Lock implements wxlogin.TokenCache. When the shared cache fails, it takes a lock of this process
// instead (held until unlock or ttl), so that at most one refresh per process runs during an
// outage; err is then nil.
func (f *FallbackTokenCache) Lock(ctx context.Context, appid string, ttl time.Duration) (func(), bool, error) {
	unlock, ok, err := f.next.Lock(ctx, appid, ttl)
	if err == nil || ttl <= 0 {
		return unlock, ok, err
	}
	f.log.WarnContext(ctx, "shared token lock unavailable; locking within this process",
		slog.String("appid", appid), slog.String("error", err.Error()))
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if l := f.locks[appid]; l != nil && now.Before(l.expires) {
		return nil, false, nil
	}
	l := &localLock{expires: now.Add(ttl)}
	f.locks[appid] = l
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.locks[appid] == l {
			delete(f.locks, appid)
		}
	}, true, nil
}
