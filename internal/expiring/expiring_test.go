package expiring_test

import (
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/internal/expiring"
)

func TestLoadRaces(t *testing.T) {
	now := time.Now()
	c := expiring.New[string, int](64)

	// An invalidation between reserve and fill wins: the value read before it is dropped.
	s := c.Reserve("k")
	c.Invalidate("k")
	c.Fill("k", s, 1, now.Add(time.Hour))
	if _, ok := c.Get("k", now); ok {
		t.Fatal("a value loaded before an invalidation was kept")
	}
	// Two loaders: only the later reservation may fill.
	s1, s2 := c.Reserve("k"), c.Reserve("k")
	c.Fill("k", s1, 1, now.Add(time.Hour))
	if _, ok := c.Get("k", now); ok {
		t.Fatal("a replaced reservation filled the cache")
	}
	c.Fill("k", s2, 2, now.Add(time.Hour))
	if v, ok := c.Get("k", now); !ok || v != 2 {
		t.Fatalf("get = %v, %v", v, ok)
	}
	// Entries expire.
	if _, ok := c.Get("k", now.Add(time.Hour)); ok {
		t.Fatal("expired entry returned")
	}
	// A released reservation leaves nothing behind; invalidateFunc drops matches and loads in flight.
	c.Release("k", c.Reserve("k"))
	if c.Len() != 0 {
		t.Fatalf("len = %d after release", c.Len())
	}
	c.Fill("a", c.Reserve("a"), 1, now.Add(time.Hour))
	c.Fill("b", c.Reserve("b"), 2, now.Add(time.Hour))
	loading := c.Reserve("c")
	c.InvalidateFunc(func(_ string, v int) bool { return v == 1 })
	if _, ok := c.Get("a", now); ok {
		t.Fatal("invalidateFunc kept a match")
	}
	if _, ok := c.Get("b", now); !ok {
		t.Fatal("invalidateFunc dropped a non-match")
	}
	c.Fill("c", loading, 3, now.Add(time.Hour))
	if _, ok := c.Get("c", now); ok {
		t.Fatal("invalidateFunc let a load in flight fill")
	}
	// The size stays bounded.
	for i := range 10_000 {
		k := string(rune('a'+i%26)) + string(rune(i))
		c.Fill(k, c.Reserve(k), i, now.Add(time.Hour))
	}
	if n := c.Len(); n > 64+32 {
		t.Fatalf("len = %d, bound 64", n)
	}
}
