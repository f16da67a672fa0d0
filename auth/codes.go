package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// CodeResult is what a settled code exchange left behind: which identity the code belonged to.
type CodeResult struct {
	AppID  string
	OpenID string
	IP     string // the client that exchanged it: only the same client may repeat the code
	// Request identifies what the first exchange was asked (the account named, the user agent;
	// hashed): only the same request may repeat the code, and a repeat changes nothing.
	Request string
}

// CodeCache de-duplicates code exchanges: WeChat accepts a code once, but clients double-tap and
// retry. The first caller of a key exchanges the code; later callers within the window get its
// result instead of WeChat's 40163. The Redis implementation shares this across instances.
type CodeCache interface {
	// Claim returns (nil, nil) when the caller owns the exchange of key and must call Settle, or the
	// result of an earlier exchange (waiting while one is in flight). An in-flight exchange that
	// fails is released, and its waiters then get (nil, nil) and may try themselves.
	Claim(ctx context.Context, key string) (*CodeResult, error)
	// Settle records res (nil: the exchange failed; release the key) for the window.
	Settle(ctx context.Context, key string, res *CodeResult) error
}

// codeKey returns the cache key of a code: a hash, so no code is kept in memory or Redis in clear.
func codeKey(appid, code string) string {
	sum := sha256.Sum256([]byte(appid + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

type codeEntry struct {
	done    chan struct{} // closed when settled
	res     *CodeResult
	expires time.Time
}

// MemoryCodeCache is the in-process CodeCache of a single instance.
type MemoryCodeCache struct {
	mu      sync.Mutex
	entries map[string]*codeEntry
	window  time.Duration
	now     func() time.Time
	lastGC  time.Time
}

// NewMemoryCodeCache returns a CodeCache that remembers settled exchanges for window.
func NewMemoryCodeCache(window time.Duration, now func() time.Time) *MemoryCodeCache {
	if now == nil {
		now = time.Now
	}
	return &MemoryCodeCache{entries: map[string]*codeEntry{}, window: window, now: now}
}

// Claim implements CodeCache.
func (c *MemoryCodeCache) Claim(ctx context.Context, key string) (*CodeResult, error) {
	for {
		c.mu.Lock()
		now := c.now()
		c.gc(now)
		e, ok := c.entries[key]
		if ok && e.res != nil && now.After(e.expires) {
			delete(c.entries, key)
			ok = false
		}
		if !ok {
			c.entries[key] = &codeEntry{done: make(chan struct{})}
			c.mu.Unlock()
			return nil, nil
		}
		c.mu.Unlock()
		select {
		case <-e.done:
			if e.res != nil {
				return e.res, nil
			}
			// released: loop and try to claim it ourselves
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Settle implements CodeCache.
func (c *MemoryCodeCache) Settle(_ context.Context, key string, res *CodeResult) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.res != nil {
		return nil
	}
	if res == nil {
		delete(c.entries, key)
	} else {
		e.res = res
		e.expires = c.now().Add(c.window)
	}
	close(e.done)
	return nil
}

// gc drops expired entries at most once a minute; the caller holds c.mu.
func (c *MemoryCodeCache) gc(now time.Time) {
	if now.Sub(c.lastGC) < time.Minute {
		return
	}
	c.lastGC = now
	for k, e := range c.entries {
		if e.res != nil && now.After(e.expires) {
			delete(c.entries, k)
		}
	}
}
