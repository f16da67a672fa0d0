package auth

import (
	"hash/maphash"
	"sync"
	"time"
)

// cache is a bounded concurrent map whose entries expire, built for read-mostly state loaded from
// the store. Loads are race-safe against invalidation: a loader reserves a slot before it reads
// the store, and its value is kept only if nothing invalidated (deleted) the slot in between, so a
// value read before a write committed never outlives that write's invalidation.
type cache[K comparable, V any] struct {
	seed     maphash.Seed
	shards   [cacheShards]cacheShard[K, V]
	perShard int
}

const cacheShards = 32

type cacheShard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*cacheSlot[V]
}

type cacheSlot[V any] struct {
	val   V
	ready bool
	until time.Time
}

// newCache returns a cache holding at most about size entries.
func newCache[K comparable, V any](size int) *cache[K, V] {
	c := &cache[K, V]{seed: maphash.MakeSeed(), perShard: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = map[K]*cacheSlot[V]{}
	}
	return c
}

func (c *cache[K, V]) shard(k K) *cacheShard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, k)%cacheShards]
}

// get returns the value of k if it is loaded and not expired at now.
func (c *cache[K, V]) get(k K, now time.Time) (V, bool) {
	sh := c.shard(k)
	sh.mu.Lock()
	s := sh.m[k]
	sh.mu.Unlock()
	if s == nil || !s.ready || !now.Before(s.until) {
		var zero V
		return zero, false
	}
	return s.val, true
}

// reserve returns a new empty slot for k, replacing whatever k held. Fill it with fill after
// reading the store, or give it back with release when the read failed.
func (c *cache[K, V]) reserve(k K) *cacheSlot[V] {
	sh := c.shard(k)
	s := &cacheSlot[V]{}
	sh.mu.Lock()
	if len(sh.m) >= c.perShard {
		sh.evict()
	}
	sh.m[k] = s
	sh.mu.Unlock()
	return s
}

// fill stores v in s until the given time, unless s was invalidated or replaced since reserve.
func (c *cache[K, V]) fill(k K, s *cacheSlot[V], v V, until time.Time) {
	sh := c.shard(k)
	sh.mu.Lock()
	if sh.m[k] == s {
		s.val, s.until, s.ready = v, until, true
	}
	sh.mu.Unlock()
}

// release removes s if k still holds it.
func (c *cache[K, V]) release(k K, s *cacheSlot[V]) {
	sh := c.shard(k)
	sh.mu.Lock()
	if sh.m[k] == s {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
}

// invalidate removes k; a load of k in progress will not store its value.
func (c *cache[K, V]) invalidate(k K) {
	sh := c.shard(k)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// invalidateFunc removes every entry for which match returns true, loaded or loading.
func (c *cache[K, V]) invalidateFunc(match func(K, V) bool) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, s := range sh.m {
			if !s.ready || match(k, s.val) {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// clear removes everything.
func (c *cache[K, V]) clear() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.mu.Unlock()
	}
}

// len returns the number of entries, loading ones included.
func (c *cache[K, V]) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// evict drops about an eighth of a full shard, in Go's random map order; the caller holds mu.
func (sh *cacheShard[K, V]) evict() {
	n := max(len(sh.m)/8, 1)
	for k := range sh.m {
		delete(sh.m, k)
		if n--; n == 0 {
			return
		}
	}
}
