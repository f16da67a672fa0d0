// Package expiring is a bounded concurrent map whose entries expire: the cache of verified tokens
// (and, in the server, of sessions and profiles) behind both auth and verify.
package expiring

import (
	"hash/maphash"
	"sync"
	"time"
)

// Map is a bounded concurrent map whose entries expire, built for read-mostly state loaded from
// elsewhere. Loads are race-safe against invalidation: a loader reserves a slot before it reads
// the source, and its value is kept only if nothing invalidated (deleted) the slot in between, so a
// value read before a write committed never outlives that write's invalidation.
type Map[K comparable, V any] struct {
	seed     maphash.Seed
	shards   [shards]shard[K, V]
	perShard int
}

const shards = 32

type shard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*Slot[V]
}

// Slot is a reservation for a value being loaded (see Reserve).
type Slot[V any] struct {
	val   V
	ready bool
	until time.Time
}

// New returns a Map holding at most about size entries.
func New[K comparable, V any](size int) *Map[K, V] {
	c := &Map[K, V]{seed: maphash.MakeSeed(), perShard: max(size/shards, 1)}
	for i := range c.shards {
		c.shards[i].m = map[K]*Slot[V]{}
	}
	return c
}

func (c *Map[K, V]) shard(k K) *shard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, k)%shards]
}

// Get returns the value of k if it is loaded and not expired at now.
func (c *Map[K, V]) Get(k K, now time.Time) (V, bool) {
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

// Reserve returns a new empty slot for k, replacing whatever k held. Fill it with Fill after
// reading the source, or give it back with Release when the read failed.
func (c *Map[K, V]) Reserve(k K) *Slot[V] {
	sh := c.shard(k)
	s := &Slot[V]{}
	sh.mu.Lock()
	if len(sh.m) >= c.perShard {
		sh.evict()
	}
	sh.m[k] = s
	sh.mu.Unlock()
	return s
}

// Fill stores v in s until the given time, unless s was invalidated or replaced since Reserve.
func (c *Map[K, V]) Fill(k K, s *Slot[V], v V, until time.Time) {
	sh := c.shard(k)
	sh.mu.Lock()
	if sh.m[k] == s {
		s.val, s.until, s.ready = v, until, true
	}
	sh.mu.Unlock()
}

// Release removes s if k still holds it.
func (c *Map[K, V]) Release(k K, s *Slot[V]) {
	sh := c.shard(k)
	sh.mu.Lock()
	if sh.m[k] == s {
		delete(sh.m, k)
	}
	sh.mu.Unlock()
}

// Invalidate removes k; a load of k in progress will not store its value.
func (c *Map[K, V]) Invalidate(k K) {
	sh := c.shard(k)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// InvalidateFunc removes every entry for which match returns true, loaded or loading.
func (c *Map[K, V]) InvalidateFunc(match func(K, V) bool) {
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

// Clear removes everything.
func (c *Map[K, V]) Clear() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.mu.Unlock()
	}
}

// Len returns the number of entries, loading ones included.
func (c *Map[K, V]) Len() int {
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
func (sh *shard[K, V]) evict() {
	n := max(len(sh.m)/8, 1)
	for k := range sh.m {
		delete(sh.m, k)
		if n--; n == 0 {
			return
		}
	}
}

// Put stores v for k until the given time (Reserve and Fill in one, for values not loaded from a
// source that invalidates).
func (c *Map[K, V]) Put(k K, v V, until time.Time) { c.Fill(k, c.Reserve(k), v, until) }
