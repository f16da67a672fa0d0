package auth

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/sqlite"
)

// cacheFixture is a store with two users behind a warm cache: u has the account "alice", the
// identity (wxa, o1) and the active session s; v has nothing but itself.
type cacheFixture struct {
	cs   *cachedStore
	u, v string
	s    string
	now  time.Time
}

func newCacheFixture(t *testing.T) *cacheFixture {
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
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f := &cacheFixture{cs: newCachedStore(st, 0, nil, func() time.Time { return now }, slog.New(slog.DiscardHandler)),
		u: "usr_u", v: "usr_v", s: "ses_s", now: now}
	for _, id := range []string{f.u, f.v} {
		must(t, st.CreateUser(ctx, &wxlogin.User{ID: id, CreatedAt: now, UpdatedAt: now}))
	}
	must(t, st.CreateAccount(ctx, &wxlogin.Account{UserID: f.u, Username: "alice", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}))
	must(t, st.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wxa", OpenID: "o1", UserID: f.u, CreatedAt: now, UpdatedAt: now}))
	must(t, st.CreateSession(ctx, &wxlogin.Session{ID: f.s, UserID: f.u, Method: "wechat", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
	// Warm the cache: the session and both profiles.
	if _, err := f.cs.cachedSession(ctx, f.s); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{f.u, f.v} {
		if _, err := f.cs.cachedProfile(ctx, id, func(context.Context, string) (*Profile, error) { return &Profile{}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cached reports whether the cache still holds key ("s:" session or "u:" profile + id).
func (f *cacheFixture) cached(key string) bool {
	switch key[:2] {
	case keySession:
		_, ok := f.cs.hot.sessions.Get(key[2:], f.now)
		return ok
	case keyUser:
		_, ok := f.cs.hot.profiles.Get(key[2:], f.now)
		return ok
	}
	panic("unknown key " + key)
}

// The reads of wxlogin.Tx: they change nothing, so they invalidate nothing.
var txReads = map[string]bool{
	"User": true, "UserByUnionID": true, "UserByPhone": true, "Users": true,
	"Account": true, "AccountByUser": true,
	"Identity": true, "IdentitiesByUser": true, "IdentitiesAfter": true,
	"Session": true, "SessionsByUser": true, "RefreshToken": true,
	"SigningKeys": true, "AuditEvents": true,
	"OIDCAuthRequest": true, "OIDCAuthRequestByCode": true, "OIDCGrant": true,
	"LinkToken": true, "Avatar": true,
	"LoginCounts": true, "NewUserCounts": true, "ActiveSessionCount": true,
	"QRLogin": true, "QRLoginByScene": true,
}

// txWrite is one write of wxlogin.Tx and the cached state it makes stale.
type txWrite struct {
	do      func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error
	touches func(f *cacheFixture) []string // cache keys that must be gone after the write commits
	why     string                         // when it touches nothing: why no cached state can change
}

var txWrites = map[string]txWrite{
	"CreateUser": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateUser(ctx, &wxlogin.User{ID: "usr_new", CreatedAt: f.now, UpdatedAt: f.now})
	}, why: "a new user has no cached profile or session"},
	"UpdateUser": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.UpdateUser(ctx, &wxlogin.User{ID: f.u, Nickname: "n", CreatedAt: f.now, UpdatedAt: f.now})
	}, touches: func(f *cacheFixture) []string { return []string{keyUser + f.u} }},
	"DeleteUser": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error { return tx.DeleteUser(ctx, f.u) },
		touches: func(f *cacheFixture) []string { return []string{keyUser + f.u, keySession + f.s} }},
	"CreateAccount": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateAccount(ctx, &wxlogin.Account{UserID: f.v, Username: "victor", PasswordHash: "x", CreatedAt: f.now, UpdatedAt: f.now})
	}, touches: func(f *cacheFixture) []string { return []string{keyUser + f.v} }},
	"UpdateAccount": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.UpdateAccount(ctx, &wxlogin.Account{UserID: f.u, Username: "alice", PasswordHash: "y", CreatedAt: f.now, UpdatedAt: f.now})
	}, touches: func(f *cacheFixture) []string { return []string{keyUser + f.u} }},
	"CreateIdentity": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wxa", OpenID: "o2", UserID: f.v, CreatedAt: f.now, UpdatedAt: f.now})
	}, touches: func(f *cacheFixture) []string { return []string{keyUser + f.v} }},
	"UpdateIdentity": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.UpdateIdentity(ctx, &wxlogin.Identity{AppID: "wxa", OpenID: "o1", UnionID: "un", UserID: f.u, CreatedAt: f.now, UpdatedAt: f.now})
	}, touches: func(f *cacheFixture) []string { return []string{keyUser + f.u} }},
	"DeleteIdentity": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.DeleteIdentity(ctx, "wxa", "o1")
	},
		touches: func(f *cacheFixture) []string { return []string{keyUser + f.u} }},
	"CreateSession": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateSession(ctx, &wxlogin.Session{ID: "ses_new", UserID: f.v, Method: "password", CreatedAt: f.now, LastSeenAt: f.now, ExpiresAt: f.now.Add(time.Hour)})
	}, why: "a new session is not cached"},
	"UpdateSession": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.UpdateSession(ctx, &wxlogin.Session{ID: f.s, UserID: f.u, Method: "wechat", CreatedAt: f.now, LastSeenAt: f.now, ExpiresAt: f.now.Add(time.Hour), RevokedAt: f.now})
	}, touches: func(f *cacheFixture) []string { return []string{keySession + f.s} }},
	"TouchSession": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.TouchSession(ctx, f.s, f.now, f.now.Add(2*time.Hour), "192.0.2.7")
		return err
	}, touches: func(f *cacheFixture) []string { return []string{keySession + f.s} }},
	"RevokeUserSessions": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.RevokeUserSessions(ctx, f.u, f.now)
		return err
	}, touches: func(f *cacheFixture) []string { return []string{keySession + f.s} }},
	"CreateRefreshToken": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h1", SessionID: f.s, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)})
	}, why: "refresh tokens are never cached"},
	"SpendRefreshToken": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		if err := tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h3", SessionID: f.s, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}); err != nil {
			return err
		}
		_, _, err := tx.SpendRefreshToken(ctx, "h3", f.now)
		return err
	}, why: "refresh tokens are never cached (spending one touches its session separately)"},
	"UpdateRefreshToken": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		if err := tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h2", SessionID: f.s, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.UpdateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h2", SessionID: f.s, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour), UsedAt: f.now})
	}, why: "refresh tokens are never cached (spending one updates its session separately)"},
	"CreateSigningKey": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateSigningKey(ctx, &wxlogin.SigningKey{ID: "k1", Algorithm: "ES256", Private: []byte("p"), Public: []byte("q"), CreatedAt: f.now})
	}, why: "a new key makes no verified token invalid"},
	"UpdateSigningKey": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		k := &wxlogin.SigningKey{ID: "k2", Algorithm: "ES256", Private: []byte("p"), Public: []byte("q"), CreatedAt: f.now}
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		k.RetiredAt = f.now
		return tx.UpdateSigningKey(ctx, k)
	}, why: "a retired key still verifies the tokens it signed until they expire, as the cache does"},
	"AddAuditEvent": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: f.now, Type: "test"})
	}, why: "audit events are never cached"},
	"PruneAuditEvents": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.PruneAuditEvents(ctx, f.now)
		return err
	}, why: "audit events are never cached"},
	"PruneSessions": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.PruneSessions(ctx, f.now)
		return err
	}, why: "it deletes only revoked or expired sessions, which a cached copy already refuses (Session.Active)"},
	"CreateOIDCAuthRequest": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{ID: "oar_1", CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)})
	}, why: "the OIDC provider's state is never cached"},
	"UpdateOIDCAuthRequest": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		r := &wxlogin.OIDCAuthRequest{ID: "oar_2", CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}
		if err := tx.CreateOIDCAuthRequest(ctx, r); err != nil {
			return err
		}
		r.UserID = f.u
		return tx.UpdateOIDCAuthRequest(ctx, r)
	}, why: "the OIDC provider's state is never cached"},
	"DeleteOIDCAuthRequestsBefore": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.DeleteOIDCAuthRequestsBefore(ctx, f.now)
		return err
	}, why: "the OIDC provider's state is never cached"},
	"CreateOIDCGrant": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateOIDCGrant(ctx, &wxlogin.OIDCGrant{SessionID: f.s, ClientID: "web", UserID: f.u, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)})
	}, why: "grants are never cached, and a grant changes nothing of its session"},
	"DeleteOIDCGrantsBefore": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.DeleteOIDCGrantsBefore(ctx, f.now)
		return err
	}, why: "grants are never cached"},
	"CreateLinkToken": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateLinkToken(ctx, &wxlogin.LinkToken{Hash: "l1", AppID: "wxa", OpenID: "o9", CreatedAt: f.now, ExpiresAt: f.now.Add(time.Minute)})
	}, why: "link tokens are never cached"},
	"DeleteLinkToken": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		if err := tx.CreateLinkToken(ctx, &wxlogin.LinkToken{Hash: "l2", AppID: "wxa", OpenID: "o9", CreatedAt: f.now, ExpiresAt: f.now.Add(time.Minute)}); err != nil {
			return err
		}
		return tx.DeleteLinkToken(ctx, "l2")
	}, why: "link tokens are never cached"},
	"PutAvatar": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.PutAvatar(ctx, &wxlogin.Avatar{ID: "a.png", ContentType: "image/png", Data: []byte("x"), CreatedAt: f.now})
	}, why: "avatars are never cached (the user's avatar_url changes through UpdateUser)"},
	"CreateWebTicket": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: "h", Purpose: "p", CreatedAt: f.now, ExpiresAt: f.now.Add(time.Minute)})
	}, why: "web tickets are never cached"},
	"TakeWebTicket": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.TakeWebTicket(ctx, "p", "h", f.now)
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
			return nil
		}
		return err
	}, why: "web tickets are never cached"},
	"PruneWebTickets": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.PruneWebTickets(ctx, f.now)
		return err
	}, why: "web tickets are never cached"},
	"CreateQRLogin": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.CreateQRLogin(ctx, &wxlogin.QRLogin{ID: "qrl_1", AppID: "wxa", Scene: "s1", Status: wxlogin.QRPending, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Minute)})
	}, why: "QR login requests are never cached"},
	"UpdateQRLogin": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		q := &wxlogin.QRLogin{ID: "qrl_2", AppID: "wxa", Scene: "s2", Status: wxlogin.QRPending, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Minute)}
		if err := tx.CreateQRLogin(ctx, q); err != nil {
			return err
		}
		q.Status, q.UserID = wxlogin.QRScanned, f.u
		return tx.UpdateQRLogin(ctx, q)
	}, why: "QR login requests are never cached (the session a confirmed one starts is new)"},
	"PruneQRLogins": {do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		_, err := tx.PruneQRLogins(ctx, f.now)
		return err
	}, why: "QR login requests are never cached"},
}

// Every write method of wxlogin.Tx, found by reflection, invalidates the cached state it touches,
// whether it runs in a transaction (Update) or alone on the store; a new method of Tx fails this
// test until it is classified here.
func TestEveryWriteInvalidates(t *testing.T) {
	txType := reflect.TypeOf((*wxlogin.Tx)(nil)).Elem()
	for i := 0; i < txType.NumMethod(); i++ {
		name := txType.Method(i).Name
		if txReads[name] {
			continue
		}
		w, ok := txWrites[name]
		if !ok {
			t.Errorf("wxlogin.Tx.%s is neither a known read nor a write with an invalidation case: add it to txReads or txWrites (and to cachedStore/trackingTx when it changes cached state)", name)
			continue
		}
		if w.touches == nil && w.why == "" {
			t.Errorf("%s: a write that touches nothing cached must say why", name)
		}
		for _, alone := range []bool{false, true} {
			f := newCacheFixture(t)
			ctx := context.Background()
			var err error
			if alone {
				err = w.do(ctx, f.cs, f) // the Store's own one-statement transaction
			} else {
				err = f.cs.Update(ctx, func(tx wxlogin.Tx) error { return w.do(ctx, tx, f) })
			}
			if err != nil {
				t.Fatalf("%s (alone %v): %v", name, alone, err)
			}
			if w.touches == nil {
				continue
			}
			for _, key := range w.touches(f) {
				if f.cached(key) {
					t.Errorf("%s (alone %v): %s is still cached after the write", name, alone, key)
				}
			}
		}
	}
	for name := range txWrites {
		if _, ok := txType.MethodByName(name); !ok {
			t.Errorf("txWrites lists %s, which wxlogin.Tx no longer has", name)
		}
	}
}
