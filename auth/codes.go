package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// codeKey returns the cache key of a code: a hash, so no code is kept in memory or Redis in clear.
func codeKey(appid, code string) string {
	sum := sha256.Sum256([]byte(appid + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

type codeEntry struct {
	done    chan struct{} // closed when settled
	res     *wxlogin.CodeResult
	expires time.Time
}

// MemoryCodeCache is the in-process wxlogin.CodeCache of a single instance.
type MemoryCodeCache struct {
	mu      sync.Mutex
	entries map[string]*codeEntry
	window  time.Duration
	now     func() time.Time
	lastGC  time.Time
}

// NewMemoryCodeCache returns a wxlogin.CodeCache that remembers settled exchanges for window.
func NewMemoryCodeCache(window time.Duration, now func() time.Time) *MemoryCodeCache {
	if now == nil {
		now = time.Now
	}
	return &MemoryCodeCache{entries: map[string]*codeEntry{}, window: window, now: now}
}

// Claim implements wxlogin.CodeCache.
func (c *MemoryCodeCache) Claim(ctx context.Context, key string) (*wxlogin.CodeResult, error) {
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

// Settle implements wxlogin.CodeCache.
func (c *MemoryCodeCache) Settle(_ context.Context, key string, res *wxlogin.CodeResult) error {
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
