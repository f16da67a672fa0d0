package auth

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/expiring"
	"github.com/wxlogin/wxlogin/token"
)

// cacheTTL is the longest life of a cached session or profile: a safety bound, since every write
// invalidates them at once.
const cacheTTL = time.Minute

// DefaultCacheSize bounds each of the verified-token, session and profile caches.
const DefaultCacheSize = 100_000

// hotCache keeps what every authenticated request reads, so that checking an access token costs a
// hash and two map lookups instead of a signature verification and a store read:
//   - tokens: verified access-token claims by SHA-256 of the token, until the token's exp;
//   - sessions: sessions by id, until a write to the session (refresh, logout, revocation);
//   - profiles: what GET /v1/me returns, by user id, until a write to the user, its account or its
//     identities.
//
// It belongs to cachedStore, which fills it and invalidates it: after a transaction commits, the
// keys it touched are invalidated here and published to the other instances. While the
// cross-instance subscription is down the cache is bypassed (and emptied when it comes back), so a
// revocation is never missed.
type hotCache struct {
	on       atomic.Bool
	tokens   *expiring.Map[[sha256.Size]byte, *token.Claims]
	sessions *expiring.Map[string, *wxlogin.Session]
	profiles *expiring.Map[string, *Profile]
	pub      wxlogin.Invalidations
	log      *slog.Logger
}

// Invalidation keys.
const (
	keySession = "s:" // a session changed
	keyUser    = "u:" // a user, its account or its identities changed
	keyDeleted = "d:" // a user was deleted, with its sessions
)

func newHotCache(size int, pub wxlogin.Invalidations, log *slog.Logger) *hotCache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &hotCache{
		tokens:   expiring.New[[sha256.Size]byte, *token.Claims](size),
		sessions: expiring.New[string, *wxlogin.Session](size),
		profiles: expiring.New[string, *Profile](size / 2),
		pub:      pub,
		log:      log,
	}
	c.on.Store(pub == nil) // with other instances, only once subscribed
	return c
}

// run follows the other instances' invalidations until ctx ends; it returns at once on one instance.
func (c *hotCache) run(ctx context.Context) {
	if c == nil || c.pub == nil {
		return
	}
	err := c.pub.Subscribe(ctx, func(key string) { c.apply(key) }, func(up bool) {
		if up {
			c.clear() // whatever was published while we were away is unknown
			c.on.Store(true)
			return
		}
		c.on.Store(false)
		c.clear()
	})
	if err != nil && ctx.Err() == nil {
		c.log.ErrorContext(ctx, "cache invalidations stopped; caching is off", "err", err)
	}
	c.on.Store(false)
}

// enabled reports whether the cache may be used now.
func (c *hotCache) enabled() bool { return c != nil && c.on.Load() }

func (c *hotCache) clear() {
	c.tokens.Clear()
	c.sessions.Clear()
	c.profiles.Clear()
}

// apply invalidates one key locally.
func (c *hotCache) apply(key string) {
	switch {
	case strings.HasPrefix(key, keySession):
		c.sessions.Invalidate(key[len(keySession):])
	case strings.HasPrefix(key, keyUser):
		c.profiles.Invalidate(key[len(keyUser):])
	case strings.HasPrefix(key, keyDeleted):
		id := key[len(keyDeleted):]
		c.profiles.Invalidate(id)
		c.sessions.InvalidateFunc(func(_ string, s *wxlogin.Session) bool { return s.UserID == id })
	}
}

// invalidate applies keys locally, then tells the other instances.
func (c *hotCache) invalidate(ctx context.Context, keys []string) {
	if c == nil || len(keys) == 0 {
		return
	}
	for _, k := range keys {
		c.apply(k)
	}
	if c.pub != nil {
		// A write's invalidation must reach the others even when its request was cancelled.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := c.pub.Publish(pctx, keys); err != nil {
			c.log.ErrorContext(ctx, "cache invalidation not published", "keys", len(keys), "err", err)
		}
	}
}

// cachedStore is the Store the service uses: the one decorator that owns both the cached reads
// (verified tokens, sessions, profiles) and their invalidation. It records the keys each committed
// transaction touched (trackingTx) and invalidates them in the hot cache and on the other instances.
// Every write goes through Update; the Store's own single-statement writes are wrapped in it.
// TestEveryWriteInvalidates enumerates the Tx interface by reflection, so that a new write method
// cannot skip invalidation. With caching off (hot nil) it is the plain store.
type cachedStore struct {
	wxlogin.Store
	hot *hotCache // nil when caching is off
	now func() time.Time
}

// newCachedStore returns store behind a cache of size entries per kind (size < 0: no cache; 0:
// DefaultCacheSize), whose invalidations go to pub (nil: one instance).
func newCachedStore(store wxlogin.Store, size int, pub wxlogin.Invalidations, now func() time.Time, log *slog.Logger) *cachedStore {
	c := &cachedStore{Store: store, now: now}
	if size >= 0 {
		c.hot = newHotCache(size, pub, log)
	}
	return c
}

// run follows the other instances' invalidations until ctx ends (see hotCache.run).
func (t *cachedStore) run(ctx context.Context) { t.hot.run(ctx) }

// verifiedClaims returns verify(accessToken), from the cache when the token was verified before. A
// verified token stays valid until its exp (signing keys outlive the tokens they signed), so the
// cache keeps it until then. Errors: verify's.
func (t *cachedStore) verifiedClaims(accessToken string, verify func(string) (*token.Claims, error)) (*token.Claims, error) {
	if !t.hot.enabled() {
		return verify(accessToken)
	}
	h := sha256.Sum256([]byte(accessToken))
	if c, ok := t.hot.tokens.Get(h, t.now()); ok {
		return c, nil
	}
	slot := t.hot.tokens.Reserve(h)
	c, err := verify(accessToken)
	if err != nil {
		t.hot.tokens.Release(h, slot)
		return nil, err
	}
	t.hot.tokens.Fill(h, slot, c, c.ExpiresAt)
	return c, nil
}

// cachedSession returns the session id, from the cache when no write touched it since it was read.
// Callers must not modify it. Errors: ENOTFOUND, the store's.
func (t *cachedStore) cachedSession(ctx context.Context, id string) (*wxlogin.Session, error) {
	if !t.hot.enabled() {
		return t.Store.Session(ctx, id)
	}
	now := t.now()
	if sess, ok := t.hot.sessions.Get(id, now); ok {
		return sess, nil
	}
	slot := t.hot.sessions.Reserve(id)
	sess, err := t.Store.Session(ctx, id)
	if err != nil {
		t.hot.sessions.Release(id, slot)
		return nil, err
	}
	t.hot.sessions.Fill(id, slot, sess, now.Add(cacheTTL))
	return sess, nil
}

// cachedProfile returns load(ctx, userID), from the cache when no write touched the user, its
// account or its identities since it was loaded. Callers must not modify it. Errors: load's.
func (t *cachedStore) cachedProfile(ctx context.Context, userID string, load func(context.Context, string) (*Profile, error)) (*Profile, error) {
	if !t.hot.enabled() {
		return load(ctx, userID)
	}
	now := t.now()
	if prof, ok := t.hot.profiles.Get(userID, now); ok {
		return prof, nil
	}
	slot := t.hot.profiles.Reserve(userID)
	prof, err := load(ctx, userID)
	if err != nil {
		t.hot.profiles.Release(userID, slot)
		return nil, err
	}
	t.hot.profiles.Fill(userID, slot, prof, now.Add(cacheTTL))
	return prof, nil
}

// Update runs fn like the underlying store and, once the transaction committed, invalidates what
// it wrote.
func (t *cachedStore) Update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	var tx *trackingTx
	err := t.Store.Update(ctx, func(inner wxlogin.Tx) error {
		tx = &trackingTx{Tx: inner} // a retry starts over
		return fn(tx)
	})
	if err == nil && tx != nil {
		t.hot.invalidate(ctx, tx.keys)
	}
	return err
}

// updateRows runs fn like Update, at the store's weaker isolation when it offers one
// (wxlogin.RowUpdater): only for transactions whose every rule is the WHERE of a write.
func (t *cachedStore) updateRows(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	ru, ok := t.Store.(wxlogin.RowUpdater)
	if !ok {
		return t.Update(ctx, fn)
	}
	var tx *trackingTx
	err := ru.UpdateRows(ctx, func(inner wxlogin.Tx) error {
		tx = &trackingTx{Tx: inner} // a retry starts over
		return fn(tx)
	})
	if err == nil && tx != nil {
		t.hot.invalidate(ctx, tx.keys)
	}
	return err
}

// The Store's own single-statement writes run as one-statement transactions, so they are tracked too.

func (t *cachedStore) UpdateUser(ctx context.Context, u *wxlogin.User) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.UpdateUser(ctx, u) })
}

func (t *cachedStore) DeleteUser(ctx context.Context, id string) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.DeleteUser(ctx, id) })
}

func (t *cachedStore) CreateAccount(ctx context.Context, a *wxlogin.Account) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.CreateAccount(ctx, a) })
}

func (t *cachedStore) UpdateAccount(ctx context.Context, a *wxlogin.Account) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.UpdateAccount(ctx, a) })
}

func (t *cachedStore) CreateIdentity(ctx context.Context, id *wxlogin.Identity) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.CreateIdentity(ctx, id) })
}

func (t *cachedStore) UpdateIdentity(ctx context.Context, id *wxlogin.Identity) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.UpdateIdentity(ctx, id) })
}

func (t *cachedStore) DeleteIdentity(ctx context.Context, appid, openid string) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.DeleteIdentity(ctx, appid, openid) })
}

func (t *cachedStore) UpdateSession(ctx context.Context, s *wxlogin.Session) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.UpdateSession(ctx, s) })
}

func (t *cachedStore) TouchSession(ctx context.Context, id string, at, expires time.Time, ip string) (*wxlogin.Session, error) {
	var sess *wxlogin.Session
	err := t.Update(ctx, func(tx wxlogin.Tx) error {
		var err error
		sess, err = tx.TouchSession(ctx, id, at, expires, ip)
		return err
	})
	return sess, err
}

func (t *cachedStore) RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error) {
	var ids []string
	err := t.Update(ctx, func(tx wxlogin.Tx) error {
		var err error
		ids, err = tx.RevokeUserSessions(ctx, userID, at)
		return err
	})
	return ids, err
}

// trackingTx records the cache keys its writes touch.
type trackingTx struct {
	wxlogin.Tx
	keys []string
}

func (t *trackingTx) touch(prefix, id string) {
	if id != "" {
		t.keys = append(t.keys, prefix+id)
	}
}

func (t *trackingTx) UpdateUser(ctx context.Context, u *wxlogin.User) error {
	err := t.Tx.UpdateUser(ctx, u)
	if err == nil {
		t.touch(keyUser, u.ID)
	}
	return err
}

func (t *trackingTx) DeleteUser(ctx context.Context, id string) error {
	err := t.Tx.DeleteUser(ctx, id)
	if err == nil {
		t.touch(keyDeleted, id)
	}
	return err
}

func (t *trackingTx) CreateAccount(ctx context.Context, a *wxlogin.Account) error {
	err := t.Tx.CreateAccount(ctx, a)
	if err == nil {
		t.touch(keyUser, a.UserID)
	}
	return err
}

// An account or an identity changes users only in a merge, which deletes the old user (keyDeleted),
// so updating one touches only the user it names: no read of the old row on the login path.

func (t *trackingTx) UpdateAccount(ctx context.Context, a *wxlogin.Account) error {
	err := t.Tx.UpdateAccount(ctx, a)
	if err == nil {
		t.touch(keyUser, a.UserID)
	}
	return err
}

func (t *trackingTx) CreateIdentity(ctx context.Context, id *wxlogin.Identity) error {
	err := t.Tx.CreateIdentity(ctx, id)
	if err == nil {
		t.touch(keyUser, id.UserID)
	}
	return err
}

func (t *trackingTx) UpdateIdentity(ctx context.Context, id *wxlogin.Identity) error {
	err := t.Tx.UpdateIdentity(ctx, id)
	if err == nil {
		t.touch(keyUser, id.UserID)
	}
	return err
}

func (t *trackingTx) DeleteIdentity(ctx context.Context, appid, openid string) error {
	old, _ := t.Tx.Identity(ctx, appid, openid)
	err := t.Tx.DeleteIdentity(ctx, appid, openid)
	if err == nil && old != nil {
		t.touch(keyUser, old.UserID)
	}
	return err
}

func (t *trackingTx) UpdateSession(ctx context.Context, s *wxlogin.Session) error {
	err := t.Tx.UpdateSession(ctx, s)
	if err == nil {
		t.touch(keySession, s.ID)
	}
	return err
}

func (t *trackingTx) TouchSession(ctx context.Context, id string, at, expires time.Time, ip string) (*wxlogin.Session, error) {
	sess, err := t.Tx.TouchSession(ctx, id, at, expires, ip)
	if err == nil {
		t.touch(keySession, id)
	}
	return sess, err
}

func (t *trackingTx) RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error) {
	ids, err := t.Tx.RevokeUserSessions(ctx, userID, at)
	for _, id := range ids {
		t.touch(keySession, id)
	}
	return ids, err
}
