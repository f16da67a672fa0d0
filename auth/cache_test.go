package auth

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/token"
)

// countingStore counts the reads an authenticated request makes.
type countingStore struct {
	wxlogin.Store
	sessions, users atomic.Int32
}

func (c *countingStore) Session(ctx context.Context, id string) (*wxlogin.Session, error) {
	c.sessions.Add(1)
	return c.Store.Session(ctx, id)
}

func (c *countingStore) User(ctx context.Context, id string) (*wxlogin.User, error) {
	c.users.Add(1)
	return c.Store.User(ctx, id)
}

// fakeBus is an in-process Invalidations shared by several services.
type fakeBus struct {
	mu   sync.Mutex
	subs []*fakeSub
}

type fakeSub struct {
	fn func(string)
	up func(bool)
}

func (b *fakeBus) Publish(_ context.Context, keys []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		for _, k := range keys {
			s.fn(k)
		}
	}
	return nil
}

func (b *fakeBus) Subscribe(ctx context.Context, fn func(string), up func(bool)) error {
	b.mu.Lock()
	b.subs = append(b.subs, &fakeSub{fn, up})
	b.mu.Unlock()
	up(true)
	<-ctx.Done()
	return ctx.Err()
}

// setUp tells every subscriber the subscription went down or came back.
func (b *fakeBus) setUp(up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		s.up(up)
	}
}

type cacheEnv struct {
	store  *countingStore
	issuer *token.Issuer
	ring   wxlogin.Sealer
}

func newCacheEnv(t *testing.T) *cacheEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := keyring.Generate("k1")
	ring, _ := keyring.New(k)
	issuer, err := token.New(ctx, token.Options{Keys: st, Sealer: ring})
	if err != nil {
		t.Fatal(err)
	}
	return &cacheEnv{store: &countingStore{Store: st}, issuer: issuer, ring: ring}
}

func (e *cacheEnv) service(t *testing.T, bus wxlogin.Invalidations) *Service {
	t.Helper()
	s, err := New(Config{Store: e.store, Tokens: e.issuer, Sealer: e.ring, Signup: true, Invalidations: bus,
		Argon2: Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if bus != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		for !s.core.store.hot.enabled() {
			time.Sleep(time.Millisecond)
		}
	}
	return s
}

func login(t *testing.T, s *Service, username string) *Login {
	t.Helper()
	ctx := context.Background()
	if _, err := s.SignUp(ctx, username, "correct horse battery", Meta{IP: "10.0.0.1"}); err != nil && wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
		t.Fatal(err)
	}
	l, err := s.LoginPassword(ctx, "", username, "correct horse battery", Meta{IP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Authenticated requests are answered from the cache, and every write that changes the answer
// (logout, revocation, disabling, a profile change) is seen at once.
func TestCachedAuthenticationHonoursWrites(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	s := e.service(t, nil)
	l := login(t, s, "alice")
	tok := string(l.AccessToken)

	p, err := s.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	reads := e.store.sessions.Load()
	for range 5 {
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.store.sessions.Load() - reads; n != 0 {
		t.Fatalf("5 repeated authentications read the session %d times; want 0 (cached)", n)
	}

	// Profiles: cached, and a change is visible on the next read.
	if _, err := s.Me(ctx, p); err != nil {
		t.Fatal(err)
	}
	users := e.store.users.Load()
	if _, err := s.Me(ctx, p); err != nil {
		t.Fatal(err)
	}
	if e.store.users.Load() != users {
		t.Fatal("a repeated Me read the user again; want the cached profile")
	}
	nick := "Alice"
	if _, err := s.UpdateProfile(ctx, p, ProfileUpdate{Nickname: &nick}, Meta{}); err != nil {
		t.Fatal(err)
	}
	if prof, err := s.Me(ctx, p); err != nil || prof.User.Nickname != "Alice" {
		t.Fatalf("Me after UpdateProfile = %+v, %v; want the new nickname", prof, err)
	}

	// Logout: the cached token is refused at once.
	if err := s.Logout(ctx, p, Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
		t.Fatalf("Authenticate after logout: %v", err)
	}

	// Disabling revokes every session, cached or not.
	l2 := login(t, s, "alice")
	if _, err := s.Authenticate(ctx, string(l2.AccessToken)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, "admin:test", l2.User.ID, true, Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, string(l2.AccessToken)); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
		t.Fatalf("Authenticate after disable: %v", err)
	}

	// LogoutAll through the cache.
	l3 := login(t, s, "bob")
	p3, err := s.Authenticate(ctx, string(l3.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LogoutAll(ctx, p3, Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, string(l3.AccessToken)); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
		t.Fatalf("Authenticate after logout/all: %v", err)
	}
}

// With several instances, a revocation made by one is honoured by the others at once, and an
// instance whose invalidation channel is down does not trust its cache.
func TestCacheInvalidationAcrossInstances(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	bus := &fakeBus{}
	a, b := e.service(t, bus), e.service(t, bus)

	l := login(t, a, "carol")
	tok := string(l.AccessToken)
	p, err := b.Authenticate(ctx, tok) // fills b's cache
	if err != nil {
		t.Fatal(err)
	}
	reads := e.store.sessions.Load()
	if _, err := b.Authenticate(ctx, tok); err != nil || e.store.sessions.Load() != reads {
		t.Fatalf("b did not answer from its cache (err %v)", err)
	}
	nick := "Carol"
	if _, err := b.Me(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateProfile(ctx, p, ProfileUpdate{Nickname: &nick}, Meta{}); err != nil {
		t.Fatal(err)
	}
	if prof, err := b.Me(ctx, p); err != nil || prof.User.Nickname != "Carol" {
		t.Fatalf("b's Me after a's update = %+v, %v", prof, err)
	}
	if err := a.Logout(ctx, p, Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, tok); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
		t.Fatalf("b accepted a token a revoked: %v", err)
	}

	// Channel down: b reads the store on every request, and empties its cache.
	l2 := login(t, a, "carol")
	if _, err := b.Authenticate(ctx, string(l2.AccessToken)); err != nil {
		t.Fatal(err)
	}
	bus.setUp(false)
	if b.core.store.hot.enabled() || b.core.store.hot.sessions.Len() != 0 {
		t.Fatal("cache still on (or full) while invalidations are down")
	}
	reads = e.store.sessions.Load()
	for range 3 {
		if _, err := b.Authenticate(ctx, string(l2.AccessToken)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.store.sessions.Load() - reads; n != 3 {
		t.Fatalf("%d session reads for 3 requests while invalidations are down; want 3", n)
	}
	bus.setUp(true)
	if !b.core.store.hot.enabled() {
		t.Fatal("cache not back on after the channel came back")
	}
}

// A service for several instances caches nothing until it has subscribed.
func TestCacheOffUntilSubscribed(t *testing.T) {
	e := newCacheEnv(t)
	s, err := New(Config{Store: e.store, Tokens: e.issuer, Sealer: e.ring, Invalidations: &fakeBus{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.core.store.hot.enabled() {
		t.Fatal("cache on before Run subscribed")
	}
	off, err := New(Config{Store: e.store, Tokens: e.issuer, Sealer: e.ring, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if off.core.store.hot.enabled() {
		t.Fatal("CacheSize -1 left caching on")
	}
}

// BenchmarkAuthenticate checks one access token over and over: with the cache (a hash and two map
// lookups) and without (an ES256 verification and a store read).
func BenchmarkAuthenticate(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "db.sqlite"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			k, _ := keyring.Generate("k1")
			ring, _ := keyring.New(k)
			issuer, err := token.New(ctx, token.Options{Keys: st, Sealer: ring})
			if err != nil {
				b.Fatal(err)
			}
			s, err := New(Config{Store: st, Tokens: issuer, Sealer: ring, Signup: true, CacheSize: tc.size,
				Argon2: Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.SignUp(ctx, "bench", "correct horse battery", Meta{}); err != nil {
				b.Fatal(err)
			}
			l, err := s.LoginPassword(ctx, "", "bench", "correct horse battery", Meta{})
			if err != nil {
				b.Fatal(err)
			}
			tok := string(l.AccessToken)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Authenticate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
