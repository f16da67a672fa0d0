// Package storetest is the conformance suite every wxlogin.Store backend runs (SQLite, PostgreSQL):
// a backend's own test calls RunTests and RunConcurrencyTests with a function making fresh stores.
//
// The suite pins down what the Store and Tx doc comments leave open, so that all backends agree:
//
//   - Missing rows: reads, updates and deletes of a missing row return a *wxlogin.Error with
//     ENOTFOUND; creating a row that refers to a missing user (account, identity, session) or
//     session (refresh token), or rebinding an identity to a missing user, returns ENOTFOUND too.
//   - Unique rules: a duplicate user id, username, (appid, openid), session id, refresh token hash or
//     signing key id, a second account for one user, and a non-empty unionid already held by
//     another user (on create or update) return ECONFLICT. Empty optional fields ("" unionid) never
//     conflict. UserByUnionID("") is ENOTFOUND.
//   - Empty keys: creating a user, session or signing key without an id, an account without a
//     username, an identity without appid or openid, or a refresh token without a hash is EINVALID.
//   - Times come back as the same instant (time.Time.Equal), in UTC, with at least microsecond
//     precision (the suite only stores microsecond-precise times); the zero time stays zero, and
//     a non-zero time is never mistaken for zero (the Unix epoch included).
//   - Empty optional fields round-trip as empty (nil and empty []byte are the same).
//   - Conflicts and missing parents have fixed messages naming what broke ("username is taken",
//     "session not found"), never a value.
//   - Rows without a creation time sort as the oldest.
//   - Update methods overwrite every field of the row named by its key.
//   - DeleteUser cascades to the account, identities, sessions and their refresh tokens.
//   - RevokeUserSessions touches only sessions active at the given time and returns their ids (in
//     any order; an empty slice when none).
//   - List methods return an empty slice, not an error, when nothing matches.
//   - AuditEvents: newest (highest ID) first; UserID and Type match exactly; Since is inclusive,
//     Until exclusive; Before keeps IDs below it; Limit <= 0 means 100. IDs grow with each event.
//   - Update commits when fn returns nil and otherwise rolls back everything fn wrote, returning
//     fn's error unchanged (errors.Is holds, the *wxlogin.Error code is kept). Inside fn the Tx
//     sees its own writes; reads through the Store (not the Tx) inside fn must not block and must
//     not see fn's uncommitted writes; after Update returns nil they see them.
//
// newStore must return a fresh, empty, migrated store and arrange for its cleanup itself, typically
// with t.Cleanup(func() { s.Close() }): the suite never closes a store. Each subtest gets its own
// store; subtests run one after another.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// t0 is the suite's reference instant: microsecond precision, so every backend can store it exactly.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// RunTests runs the conformance suite on stores made by newStore (see the package doc).
func RunTests(t *testing.T, newStore func(t *testing.T) wxlogin.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s wxlogin.Store)
	}{
		{"Users", testUsers},
		{"UnionID", testUnionID},
		{"Phone", testPhone},
		{"Accounts", testAccounts},
		{"Identities", testIdentities},
		{"IdentitiesAfter", testIdentitiesAfter},
		{"Sessions", testSessions},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"RefreshTokens", testRefreshTokens},
		{"SpendRefreshToken", testSpendRefreshTokenOnce},
		{"TouchSession", testTouchSession},
		{"SigningKeys", testSigningKeys},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"AuditEvents", testAuditEvents},
		{"AuditEventsDefaultLimit", testAuditEventsDefaultLimit},
		{"Times", testTimes},
		{"EmptyKeys", testEmptyKeys},
		{"UpdateCommits", testUpdateCommits},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"UpdateIsolation", testUpdateIsolation},
		{"UpdateCanceledContext", testUpdateCanceledContext},
		{"TxMethods", testTxMethods},
		{"FindUsers", testFindUsers},
		{"FindUsersDefaultLimit", testFindUsersDefaultLimit},
		{"PruneAuditEvents", testPruneAuditEvents},
		{"PruneMany", testPruneMany},
		{"PruneSessions", testPruneSessions},
		{"ConflictMessages", testConflictMessages},
		{"OrderingOfZeroTimes", testOrderingOfZeroTimes},
		{"OIDCAuthRequests", testOIDCAuthRequests},
		{"OIDCGrants", testOIDCGrants},
		{"OIDCInUpdate", testOIDCInUpdate},
		{"LinkTokens", testLinkTokens},
		{"Avatars", testAvatars},
		{"LoginCounts", testLoginCounts},
		{"NewUserCounts", testNewUserCounts},
		{"ActiveSessionCount", testActiveSessionCount},
		{"WebTickets", testWebTickets},
		{"IdentityKind", testIdentityKind},
		{"QRLogins", testQRLogins},
		{"OutboxEvents", testOutboxEvents},
		{"OutboxLeases", testOutboxLeases},
		{"OutboxRedeliver", testOutboxRedeliver},
		{"DeletionSchedule", testDeletionSchedule},
		{"ForgetUser", testForgetUser},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// ---- helpers

// wantCode fails t unless err carries code (checked with wxlogin.ErrorCode).
func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := wxlogin.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

// must fails t now when err is not nil.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// diff compares two structs (or pointers to them) field by field: time.Time fields by instant,
// with the one got required in UTC and zero exactly when want is zero; []byte fields by content
// (nil equals empty); the rest with reflect.DeepEqual. It returns one line per difference.
func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Kind() == reflect.Pointer {
		if gv.IsNil() {
			return []string{"got nil"}
		}
		gv = gv.Elem()
	}
	if wv.Kind() == reflect.Pointer {
		wv = wv.Elem()
	}
	var out []string
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch w := w.(type) {
		case time.Time:
			g := g.(time.Time)
			switch {
			case w.IsZero() && !g.IsZero():
				out = append(out, fmt.Sprintf("%s: got %v, want the zero time", name, g))
			case !w.IsZero() && !g.Equal(w):
				out = append(out, fmt.Sprintf("%s: got %v, want %v", name, g, w))
			case !g.IsZero() && g.Location() != time.UTC:
				out = append(out, fmt.Sprintf("%s: got location %v, want UTC", name, g.Location()))
			}
		case []byte:
			if g := g.([]byte); !bytes.Equal(g, w) {
				out = append(out, fmt.Sprintf("%s: got %x, want %x", name, g, w))
			}
		default:
			if !reflect.DeepEqual(g, w) {
				out = append(out, fmt.Sprintf("%s: got %#v, want %#v", name, g, w))
			}
		}
	}
	return out
}

// same fails t when got differs from want (see diff).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	for _, d := range diff(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

func newUser(id string) *wxlogin.User {
	return &wxlogin.User{ID: id, Nickname: "nick " + id, CreatedAt: t0, UpdatedAt: t0}
}

func createUser(t *testing.T, tx wxlogin.Tx, id string) *wxlogin.User {
	t.Helper()
	u := newUser(id)
	must(t, tx.CreateUser(t.Context(), u), "CreateUser "+id)
	return u
}

func createSession(t *testing.T, tx wxlogin.Tx, id, userID string, created time.Time) *wxlogin.Session {
	t.Helper()
	s := &wxlogin.Session{ID: id, UserID: userID, Method: "password", CreatedAt: created, LastSeenAt: created,
		ExpiresAt: created.Add(24 * time.Hour)}
	must(t, tx.CreateSession(t.Context(), s), "CreateSession "+id)
	return s
}

// ---- users

func testUsers(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	full := &wxlogin.User{
		ID: "usr_full", Nickname: "小明", AvatarURL: "https://example.com/a.png", UnionID: "union-full",
		Phone: "13800138000", PhoneCountryCode: "86", PhoneVerifiedAt: at(time.Minute), Disabled: true,
		CreatedAt: at(-time.Hour), UpdatedAt: at(time.Hour),
	}
	bare := &wxlogin.User{ID: "usr_bare"}
	for _, u := range []*wxlogin.User{full, bare} {
		must(t, s.CreateUser(ctx, u), "CreateUser "+u.ID)
		got, err := s.User(ctx, u.ID)
		must(t, err, "User "+u.ID)
		same(t, "User "+u.ID, got, u)
	}

	_, err := s.User(ctx, "usr_missing")
	wantCode(t, err, wxlogin.ENOTFOUND, "User of a missing id")

	err = s.CreateUser(ctx, &wxlogin.User{ID: "usr_full", Nickname: "other"})
	wantCode(t, err, wxlogin.ECONFLICT, "CreateUser with a duplicate id")
	got, err := s.User(ctx, "usr_full")
	must(t, err, "User after the duplicate")
	same(t, "User after the duplicate", got, full)

	upd := &wxlogin.User{
		ID: "usr_bare", Nickname: "now named", AvatarURL: "https://example.com/b.png", UnionID: "union-bare",
		Phone: "5551234", PhoneCountryCode: "1", PhoneVerifiedAt: at(2 * time.Minute), Disabled: true,
		CreatedAt: at(3 * time.Minute), UpdatedAt: at(4 * time.Minute),
	}
	must(t, s.UpdateUser(ctx, upd), "UpdateUser")
	got, err = s.User(ctx, "usr_bare")
	must(t, err, "User after UpdateUser")
	same(t, "User after UpdateUser", got, upd)

	// Clearing fields: back to empty and zero.
	cleared := &wxlogin.User{ID: "usr_bare", CreatedAt: t0}
	must(t, s.UpdateUser(ctx, cleared), "UpdateUser clearing fields")
	got, err = s.User(ctx, "usr_bare")
	must(t, err, "User after clearing")
	same(t, "User after clearing", got, cleared)

	wantCode(t, s.UpdateUser(ctx, &wxlogin.User{ID: "usr_missing"}), wxlogin.ENOTFOUND, "UpdateUser of a missing id")
	if _, err := s.User(ctx, "usr_missing"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("UpdateUser of a missing id created it (err %v)", err)
	}
	wantCode(t, s.DeleteUser(ctx, "usr_missing"), wxlogin.ENOTFOUND, "DeleteUser of a missing id")

	must(t, s.DeleteUser(ctx, "usr_full"), "DeleteUser")
	_, err = s.User(ctx, "usr_full")
	wantCode(t, err, wxlogin.ENOTFOUND, "User after DeleteUser")
	wantCode(t, s.DeleteUser(ctx, "usr_full"), wxlogin.ENOTFOUND, "second DeleteUser")
	if _, err := s.User(ctx, "usr_bare"); err != nil {
		t.Errorf("DeleteUser removed another user: %v", err)
	}
}

func testPhone(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	for _, id := range []string{"usr_a", "usr_b"} {
		must(t, s.CreateUser(ctx, newUser(id)), "CreateUser without phone "+id)
	}
	_, err := s.UserByPhone(ctx, "86", "")
	wantCode(t, err, wxlogin.ENOTFOUND, `UserByPhone("")`)
	a := newUser("usr_p1")
	a.Phone, a.PhoneCountryCode = "13580006666", "86"
	must(t, s.CreateUser(ctx, a), "CreateUser with phone")
	got, err := s.UserByPhone(ctx, "86", "13580006666")
	must(t, err, "UserByPhone")
	same(t, "UserByPhone", got, a)
	_, err = s.UserByPhone(ctx, "1", "13580006666")
	wantCode(t, err, wxlogin.ENOTFOUND, "UserByPhone with another country code")
	b := newUser("usr_a")
	b.Phone, b.PhoneCountryCode = "13580006666", "86"
	wantCode(t, s.UpdateUser(ctx, b), wxlogin.ECONFLICT, "UpdateUser to a phone another user holds")
	c := newUser("usr_b")
	c.Phone, c.PhoneCountryCode = "13580006666", "1"
	must(t, s.UpdateUser(ctx, c), "the same number in another country")
}

func testUnionID(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	// Any number of users may have no unionid.
	for _, id := range []string{"usr_a", "usr_b", "usr_c"} {
		must(t, s.CreateUser(ctx, newUser(id)), "CreateUser without unionid "+id)
	}
	_, err := s.UserByUnionID(ctx, "")
	wantCode(t, err, wxlogin.ENOTFOUND, `UserByUnionID("")`)

	a := newUser("usr_u1")
	a.UnionID = "union-1"
	must(t, s.CreateUser(ctx, a), "CreateUser with unionid")
	got, err := s.UserByUnionID(ctx, "union-1")
	must(t, err, "UserByUnionID")
	same(t, "UserByUnionID", got, a)
	_, err = s.UserByUnionID(ctx, "union-unknown")
	wantCode(t, err, wxlogin.ENOTFOUND, "UserByUnionID of an unknown unionid")

	b := newUser("usr_u2")
	b.UnionID = "union-1"
	wantCode(t, s.CreateUser(ctx, b), wxlogin.ECONFLICT, "CreateUser with a unionid another user holds")
	if _, err := s.User(ctx, "usr_u2"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("conflicting CreateUser stored the user (err %v)", err)
	}

	// Update into a held unionid conflicts and changes nothing.
	c := newUser("usr_a")
	c.UnionID = "union-1"
	wantCode(t, s.UpdateUser(ctx, c), wxlogin.ECONFLICT, "UpdateUser to a unionid another user holds")
	got, err = s.User(ctx, "usr_a")
	must(t, err, "User after the conflicting update")
	same(t, "User after the conflicting update", got, newUser("usr_a"))

	// The holder may keep it, and once released it can move.
	a.Nickname = "renamed"
	must(t, s.UpdateUser(ctx, a), "UpdateUser keeping its own unionid")
	a.UnionID = ""
	must(t, s.UpdateUser(ctx, a), "UpdateUser releasing the unionid")
	must(t, s.UpdateUser(ctx, c), "UpdateUser taking the released unionid")
	got, err = s.UserByUnionID(ctx, "union-1")
	must(t, err, "UserByUnionID after the move")
	if got.ID != "usr_a" {
		t.Errorf("UserByUnionID after the move: user %q, want usr_a", got.ID)
	}
}

// ---- accounts

func testAccounts(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createUser(t, s, "usr_2")
	acc := &wxlogin.Account{UserID: "usr_1", Username: "alice", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		FailedAttempts: 2, LockedUntil: at(time.Minute), CreatedAt: t0, UpdatedAt: at(time.Second)}
	must(t, s.CreateAccount(ctx, acc), "CreateAccount")

	got, err := s.Account(ctx, "alice")
	must(t, err, "Account")
	same(t, "Account", got, acc)
	got, err = s.AccountByUser(ctx, "usr_1")
	must(t, err, "AccountByUser")
	same(t, "AccountByUser", got, acc)

	_, err = s.Account(ctx, "bob")
	wantCode(t, err, wxlogin.ENOTFOUND, "Account of a missing username")
	_, err = s.AccountByUser(ctx, "usr_2")
	wantCode(t, err, wxlogin.ENOTFOUND, "AccountByUser of a user without account")

	wantCode(t, s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_2", Username: "alice", PasswordHash: "x"}),
		wxlogin.ECONFLICT, "CreateAccount with a taken username")
	wantCode(t, s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_1", Username: "alice2", PasswordHash: "x"}),
		wxlogin.ECONFLICT, "CreateAccount for a user that has one")
	wantCode(t, s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_missing", Username: "carol", PasswordHash: "x"}),
		wxlogin.ENOTFOUND, "CreateAccount for a missing user")
	for _, name := range []string{"alice2", "carol"} {
		if _, err := s.Account(ctx, name); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			t.Errorf("failed CreateAccount stored %q (err %v)", name, err)
		}
	}

	bob := &wxlogin.Account{UserID: "usr_2", Username: "bob", PasswordHash: "h2", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateAccount(ctx, bob), "CreateAccount bob")

	// Update overwrites everything, the username included.
	upd := &wxlogin.Account{UserID: "usr_1", Username: "alice.new", PasswordHash: "new-hash", FailedAttempts: 0,
		CreatedAt: t0, UpdatedAt: at(time.Hour)}
	must(t, s.UpdateAccount(ctx, upd), "UpdateAccount")
	got, err = s.AccountByUser(ctx, "usr_1")
	must(t, err, "AccountByUser after update")
	same(t, "AccountByUser after update", got, upd)
	_, err = s.Account(ctx, "alice")
	wantCode(t, err, wxlogin.ENOTFOUND, "Account under the old username")
	got, err = s.Account(ctx, "alice.new")
	must(t, err, "Account under the new username")
	same(t, "Account under the new username", got, upd)

	upd2 := *bob
	upd2.Username = "alice.new"
	wantCode(t, s.UpdateAccount(ctx, &upd2), wxlogin.ECONFLICT, "UpdateAccount to a taken username")
	got, err = s.AccountByUser(ctx, "usr_2")
	must(t, err, "AccountByUser after the conflict")
	same(t, "AccountByUser after the conflict", got, bob)

	wantCode(t, s.UpdateAccount(ctx, &wxlogin.Account{UserID: "usr_missing", Username: "zed", PasswordHash: "x"}),
		wxlogin.ENOTFOUND, "UpdateAccount of a missing account")
}

// ---- identities

func testIdentities(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createUser(t, s, "usr_2")
	// Created out of CreatedAt order, to check IdentitiesByUser sorts.
	idents := []*wxlogin.Identity{
		{AppID: "wx_b", OpenID: "open-1", UnionID: "union-1", UserID: "usr_1", SessionKey: []byte{1, 2, 3, 0, 255},
			SessionKeyUpdatedAt: at(2 * time.Second), CreatedAt: at(2 * time.Second), UpdatedAt: at(3 * time.Second)},
		{AppID: "wx_a", OpenID: "open-1", UserID: "usr_1", CreatedAt: at(time.Second)},
		{AppID: "wx_c", OpenID: "open-9", UserID: "usr_1", SessionKey: []byte("sealed"), CreatedAt: at(3 * time.Second)},
		{AppID: "wx_a", OpenID: "open-2", UserID: "usr_2", CreatedAt: t0},
	}
	for _, i := range idents {
		must(t, s.CreateIdentity(ctx, i), "CreateIdentity "+i.AppID+"/"+i.OpenID)
	}
	for _, i := range idents {
		got, err := s.Identity(ctx, i.AppID, i.OpenID)
		must(t, err, "Identity")
		same(t, "Identity "+i.AppID+"/"+i.OpenID, got, i)
	}
	_, err := s.Identity(ctx, "wx_a", "open-9")
	wantCode(t, err, wxlogin.ENOTFOUND, "Identity of a missing (appid, openid)")

	list, err := s.IdentitiesByUser(ctx, "usr_1")
	must(t, err, "IdentitiesByUser")
	want := []*wxlogin.Identity{idents[1], idents[0], idents[2]}
	if len(list) != len(want) {
		t.Fatalf("IdentitiesByUser: %d identities, want %d", len(list), len(want))
	}
	for k := range want {
		same(t, fmt.Sprintf("IdentitiesByUser[%d]", k), list[k], want[k])
	}
	list, err = s.IdentitiesByUser(ctx, "usr_none")
	if err != nil || len(list) != 0 {
		t.Errorf("IdentitiesByUser of a user without identities: %d, %v; want none, nil", len(list), err)
	}

	dup := &wxlogin.Identity{AppID: "wx_a", OpenID: "open-1", UserID: "usr_2", CreatedAt: t0}
	wantCode(t, s.CreateIdentity(ctx, dup), wxlogin.ECONFLICT, "CreateIdentity with a duplicate (appid, openid)")
	got, err := s.Identity(ctx, "wx_a", "open-1")
	must(t, err, "Identity after the duplicate")
	same(t, "Identity after the duplicate", got, idents[1])
	wantCode(t, s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_z", OpenID: "o", UserID: "usr_missing"}),
		wxlogin.ENOTFOUND, "CreateIdentity for a missing user")

	// Update rebinds and replaces the session key.
	upd := &wxlogin.Identity{AppID: "wx_b", OpenID: "open-1", UnionID: "union-2", UserID: "usr_2",
		SessionKey: []byte("new sealed key"), SessionKeyUpdatedAt: at(time.Hour), CreatedAt: at(2 * time.Second),
		UpdatedAt: at(time.Hour)}
	must(t, s.UpdateIdentity(ctx, upd), "UpdateIdentity")
	got, err = s.Identity(ctx, "wx_b", "open-1")
	must(t, err, "Identity after update")
	same(t, "Identity after update", got, upd)
	list, err = s.IdentitiesByUser(ctx, "usr_2")
	must(t, err, "IdentitiesByUser after rebinding")
	if len(list) != 2 || list[0].AppID != "wx_a" || list[1].AppID != "wx_b" {
		t.Errorf("IdentitiesByUser after rebinding: %d identities, want wx_a/open-2 then wx_b/open-1", len(list))
	}
	wantCode(t, s.UpdateIdentity(ctx, &wxlogin.Identity{AppID: "wx_b", OpenID: "open-missing", UserID: "usr_1"}),
		wxlogin.ENOTFOUND, "UpdateIdentity of a missing identity")
	moved := *upd
	moved.UserID = "usr_missing"
	wantCode(t, s.UpdateIdentity(ctx, &moved), wxlogin.ENOTFOUND, "UpdateIdentity to a missing user")
	got, err = s.Identity(ctx, "wx_b", "open-1")
	must(t, err, "Identity after the failed rebind")
	same(t, "Identity after the failed rebind", got, upd)

	must(t, s.DeleteIdentity(ctx, "wx_b", "open-1"), "DeleteIdentity")
	_, err = s.Identity(ctx, "wx_b", "open-1")
	wantCode(t, err, wxlogin.ENOTFOUND, "Identity after DeleteIdentity")
	wantCode(t, s.DeleteIdentity(ctx, "wx_b", "open-1"), wxlogin.ENOTFOUND, "second DeleteIdentity")
	if _, err := s.Identity(ctx, "wx_a", "open-1"); err != nil {
		t.Errorf("DeleteIdentity removed another identity: %v", err)
	}
	if _, err := s.User(ctx, "usr_2"); err != nil {
		t.Errorf("DeleteIdentity removed its user: %v", err)
	}
}

// ---- sessions

func testSessions(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createUser(t, s, "usr_2")
	full := &wxlogin.Session{ID: "ses_full", UserID: "usr_1", AppID: "wx_a", Method: "wechat", UserAgent: "MicroMessenger/8.0",
		IP: "203.0.113.9", CreatedAt: at(time.Minute), LastSeenAt: at(2 * time.Minute), ExpiresAt: at(time.Hour),
		RevokedAt: at(3 * time.Minute)}
	must(t, s.CreateSession(ctx, full), "CreateSession")
	got, err := s.Session(ctx, "ses_full")
	must(t, err, "Session")
	same(t, "Session", got, full)
	_, err = s.Session(ctx, "ses_missing")
	wantCode(t, err, wxlogin.ENOTFOUND, "Session of a missing id")

	wantCode(t, s.CreateSession(ctx, &wxlogin.Session{ID: "ses_full", UserID: "usr_2", ExpiresAt: at(time.Hour)}),
		wxlogin.ECONFLICT, "CreateSession with a duplicate id")
	wantCode(t, s.CreateSession(ctx, &wxlogin.Session{ID: "ses_orphan", UserID: "usr_missing", ExpiresAt: at(time.Hour)}),
		wxlogin.ENOTFOUND, "CreateSession for a missing user")

	// SessionsByUser: newest first, revoked and expired included, other users' excluded.
	older := createSession(t, s, "ses_older", "usr_1", t0)
	expired := createSession(t, s, "ses_expired", "usr_1", at(-48*time.Hour))
	newest := createSession(t, s, "ses_newest", "usr_1", at(time.Hour))
	createSession(t, s, "ses_other", "usr_2", at(30*time.Minute))
	list, err := s.SessionsByUser(ctx, "usr_1")
	must(t, err, "SessionsByUser")
	want := []*wxlogin.Session{newest, full, older, expired}
	if len(list) != len(want) {
		t.Fatalf("SessionsByUser: %d sessions, want %d", len(list), len(want))
	}
	for k := range want {
		same(t, fmt.Sprintf("SessionsByUser[%d]", k), list[k], want[k])
	}
	list, err = s.SessionsByUser(ctx, "usr_none")
	if err != nil || len(list) != 0 {
		t.Errorf("SessionsByUser of a user without sessions: %d, %v; want none, nil", len(list), err)
	}

	upd := &wxlogin.Session{ID: "ses_older", UserID: "usr_1", AppID: "wx_b", Method: "refresh", UserAgent: "ua2",
		IP: "2001:db8::1", CreatedAt: t0, LastSeenAt: at(5 * time.Minute), ExpiresAt: at(48 * time.Hour)}
	must(t, s.UpdateSession(ctx, upd), "UpdateSession")
	got, err = s.Session(ctx, "ses_older")
	must(t, err, "Session after update")
	same(t, "Session after update", got, upd)
	wantCode(t, s.UpdateSession(ctx, &wxlogin.Session{ID: "ses_missing", UserID: "usr_1"}), wxlogin.ENOTFOUND,
		"UpdateSession of a missing session")
}

func testRevokeUserSessions(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createUser(t, s, "usr_2")
	now := at(time.Hour)
	a1 := createSession(t, s, "ses_a1", "usr_1", t0)
	a2 := createSession(t, s, "ses_a2", "usr_1", at(time.Minute))
	expired := createSession(t, s, "ses_expired", "usr_1", at(-48*time.Hour))
	revoked := createSession(t, s, "ses_revoked", "usr_1", at(2*time.Minute))
	revoked.RevokedAt = at(3 * time.Minute)
	must(t, s.UpdateSession(ctx, revoked), "UpdateSession revoking")
	other := createSession(t, s, "ses_other", "usr_2", t0)

	ids, err := s.RevokeUserSessions(ctx, "usr_1", now)
	must(t, err, "RevokeUserSessions")
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"ses_a1", "ses_a2"}) {
		t.Errorf("RevokeUserSessions returned %q, want [ses_a1 ses_a2]", ids)
	}
	for _, x := range []*wxlogin.Session{a1, a2} {
		x.RevokedAt = now
	}
	for _, x := range []*wxlogin.Session{a1, a2, expired, revoked, other} {
		got, err := s.Session(ctx, x.ID)
		must(t, err, "Session "+x.ID)
		same(t, "Session "+x.ID+" after RevokeUserSessions", got, x)
	}

	ids, err = s.RevokeUserSessions(ctx, "usr_1", at(2*time.Hour))
	if err != nil || len(ids) != 0 {
		t.Errorf("second RevokeUserSessions: %q, %v; want none, nil", ids, err)
	}
	ids, err = s.RevokeUserSessions(ctx, "usr_none", now)
	if err != nil || len(ids) != 0 {
		t.Errorf("RevokeUserSessions of a user without sessions: %q, %v; want none, nil", ids, err)
	}
}

// ---- refresh tokens

func testRefreshTokens(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createSession(t, s, "ses_1", "usr_1", t0)
	createSession(t, s, "ses_2", "usr_1", t0)
	rt := &wxlogin.RefreshToken{Hash: "hash-1", SessionID: "ses_1", CreatedAt: t0, ExpiresAt: at(720 * time.Hour)}
	must(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
	got, err := s.RefreshToken(ctx, "hash-1")
	must(t, err, "RefreshToken")
	same(t, "RefreshToken", got, rt)
	if !got.UsedAt.IsZero() {
		t.Errorf("fresh refresh token has UsedAt %v", got.UsedAt)
	}
	_, err = s.RefreshToken(ctx, "hash-missing")
	wantCode(t, err, wxlogin.ENOTFOUND, "RefreshToken of a missing hash")

	wantCode(t, s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "hash-1", SessionID: "ses_2", CreatedAt: t0}),
		wxlogin.ECONFLICT, "CreateRefreshToken with a duplicate hash")
	wantCode(t, s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "hash-9", SessionID: "ses_missing", CreatedAt: t0}),
		wxlogin.ENOTFOUND, "CreateRefreshToken for a missing session")

	rt.UsedAt = at(time.Minute)
	must(t, s.UpdateRefreshToken(ctx, rt), "UpdateRefreshToken")
	got, err = s.RefreshToken(ctx, "hash-1")
	must(t, err, "RefreshToken after update")
	same(t, "RefreshToken after update", got, rt)
	wantCode(t, s.UpdateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "hash-missing", SessionID: "ses_1"}),
		wxlogin.ENOTFOUND, "UpdateRefreshToken of a missing hash")
}

// ---- signing keys

func testSigningKeys(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys of an empty store: %d, %v; want none, nil", len(keys), err)
	}
	k2 := &wxlogin.SigningKey{ID: "key_2", Algorithm: "EdDSA", Private: []byte("sealed-2"), Public: []byte{0x30, 0x2a}, CreatedAt: at(time.Hour)}
	k1 := &wxlogin.SigningKey{ID: "key_1", Algorithm: "ES256", Private: []byte("sealed-1"), Public: []byte{0x30, 0x59, 0}, CreatedAt: t0,
		RetiredAt: at(2 * time.Hour)}
	k3 := &wxlogin.SigningKey{ID: "key_3", Algorithm: "ES256", Private: []byte("sealed-3"), Public: []byte{1}, CreatedAt: at(2 * time.Hour)}
	for _, k := range []*wxlogin.SigningKey{k2, k1, k3} {
		must(t, s.CreateSigningKey(ctx, k), "CreateSigningKey "+k.ID)
	}
	keys, err = s.SigningKeys(ctx)
	must(t, err, "SigningKeys")
	want := []*wxlogin.SigningKey{k1, k2, k3}
	if len(keys) != len(want) {
		t.Fatalf("SigningKeys: %d keys, want %d", len(keys), len(want))
	}
	for i := range want {
		same(t, fmt.Sprintf("SigningKeys[%d]", i), keys[i], want[i])
	}

	wantCode(t, s.CreateSigningKey(ctx, &wxlogin.SigningKey{ID: "key_1", Algorithm: "EdDSA", CreatedAt: t0}),
		wxlogin.ECONFLICT, "CreateSigningKey with a duplicate id")

	k2.RetiredAt = at(3 * time.Hour)
	must(t, s.UpdateSigningKey(ctx, k2), "UpdateSigningKey")
	keys, err = s.SigningKeys(ctx)
	must(t, err, "SigningKeys after update")
	if len(keys) != 3 {
		t.Fatalf("SigningKeys after update: %d keys, want 3", len(keys))
	}
	same(t, "SigningKeys after update", keys[1], k2)
	same(t, "untouched key after update", keys[0], k1)
	wantCode(t, s.UpdateSigningKey(ctx, &wxlogin.SigningKey{ID: "key_missing", Algorithm: "ES256"}),
		wxlogin.ENOTFOUND, "UpdateSigningKey of a missing key")
}

// ---- cascades

// person is a user with everything that hangs off one.
type person struct {
	user       *wxlogin.User
	account    *wxlogin.Account
	identities []*wxlogin.Identity
	sessions   []*wxlogin.Session
	tokens     []*wxlogin.RefreshToken
}

func createPerson(t *testing.T, s wxlogin.Store, n string) *person {
	t.Helper()
	ctx := t.Context()
	p := &person{user: createUser(t, s, "usr_"+n)}
	p.account = &wxlogin.Account{UserID: p.user.ID, Username: "name" + n, PasswordHash: "h", CreatedAt: t0}
	must(t, s.CreateAccount(ctx, p.account), "CreateAccount")
	for _, app := range []string{"wx_a", "wx_b"} {
		i := &wxlogin.Identity{AppID: app, OpenID: "open-" + n, UserID: p.user.ID, SessionKey: []byte("k"), CreatedAt: t0}
		must(t, s.CreateIdentity(ctx, i), "CreateIdentity")
		p.identities = append(p.identities, i)
	}
	for k := range 2 {
		x := createSession(t, s, fmt.Sprintf("ses_%s_%d", n, k), p.user.ID, at(time.Duration(k)*time.Minute))
		p.sessions = append(p.sessions, x)
		rt := &wxlogin.RefreshToken{Hash: fmt.Sprintf("hash-%s-%d", n, k), SessionID: x.ID, CreatedAt: t0, ExpiresAt: at(time.Hour)}
		must(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
		p.tokens = append(p.tokens, rt)
	}
	return p
}

// checkPerson fails t unless everything of p is stored (exists) or nothing is (!exists).
func checkPerson(t *testing.T, s wxlogin.Store, p *person, exists bool) {
	t.Helper()
	ctx := t.Context()
	check := func(what string, err error) {
		t.Helper()
		switch {
		case exists && err != nil:
			t.Errorf("%s: %v, want it stored", what, err)
		case !exists && wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND:
			t.Errorf("%s: err %v, want ENOTFOUND", what, err)
		}
	}
	_, err := s.User(ctx, p.user.ID)
	check("User", err)
	_, err = s.AccountByUser(ctx, p.user.ID)
	check("AccountByUser", err)
	_, err = s.Account(ctx, p.account.Username)
	check("Account", err)
	for _, i := range p.identities {
		_, err = s.Identity(ctx, i.AppID, i.OpenID)
		check("Identity "+i.AppID, err)
	}
	for _, x := range p.sessions {
		_, err = s.Session(ctx, x.ID)
		check("Session "+x.ID, err)
	}
	for _, rt := range p.tokens {
		_, err = s.RefreshToken(ctx, rt.Hash)
		check("RefreshToken "+rt.Hash, err)
	}
	want := 0
	if exists {
		want = 2
	}
	if l, err := s.IdentitiesByUser(ctx, p.user.ID); err != nil || len(l) != want {
		t.Errorf("IdentitiesByUser: %d, %v; want %d", len(l), err, want)
	}
	if l, err := s.SessionsByUser(ctx, p.user.ID); err != nil || len(l) != want {
		t.Errorf("SessionsByUser: %d, %v; want %d", len(l), err, want)
	}
}

func testDeleteUserCascades(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	gone := createPerson(t, s, "1")
	kept := createPerson(t, s, "2")
	checkPerson(t, s, gone, true)
	must(t, s.DeleteUser(ctx, gone.user.ID), "DeleteUser")
	checkPerson(t, s, gone, false)
	checkPerson(t, s, kept, true)

	// What was unique to the deleted user is free again.
	createUser(t, s, gone.user.ID)
	must(t, s.CreateAccount(ctx, &wxlogin.Account{UserID: gone.user.ID, Username: gone.account.Username, PasswordHash: "h"}),
		"CreateAccount reusing the deleted username")
	must(t, s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "open-1", UserID: gone.user.ID}),
		"CreateIdentity reusing the deleted identity")
}

// ---- audit events

func testAuditEvents(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	// e[k] happens at t0 + k minutes.
	specs := []struct{ typ, user string }{
		{"login.success", "usr_1"}, {"login.failure", "usr_2"}, {"login.success", "usr_2"},
		{"identity.bind", "usr_1"}, {"login.success", "usr_1"}, {"user.merge", ""},
	}
	var e []*wxlogin.AuditEvent
	for k, sp := range specs {
		ev := &wxlogin.AuditEvent{Time: at(time.Duration(k) * time.Minute), Type: sp.typ, UserID: sp.user,
			ActorID: sp.user, AppID: "wx_a", SessionID: fmt.Sprintf("ses_%d", k), IP: "198.51.100.7",
			UserAgent: "ua", Detail: fmt.Sprintf(`{"k":%d}`, k)}
		must(t, s.AddAuditEvent(ctx, ev), "AddAuditEvent")
		var prev int64
		if k > 0 {
			prev = e[k-1].ID
		}
		if ev.ID <= prev {
			t.Fatalf("AddAuditEvent %d set ID %d, want one above %d", k, ev.ID, prev)
		}
		e = append(e, ev)
	}

	shanghai := zone(t)
	tests := []struct {
		name string
		f    wxlogin.AuditFilter
		want []int // indexes into e, newest first
	}{
		{"all", wxlogin.AuditFilter{}, []int{5, 4, 3, 2, 1, 0}},
		{"user", wxlogin.AuditFilter{UserID: "usr_1"}, []int{4, 3, 0}},
		{"unknown user", wxlogin.AuditFilter{UserID: "usr_9"}, nil},
		{"type", wxlogin.AuditFilter{Type: "login.success"}, []int{4, 2, 0}},
		{"user and type", wxlogin.AuditFilter{UserID: "usr_2", Type: "login.success"}, []int{2}},
		{"since is inclusive", wxlogin.AuditFilter{Since: at(3 * time.Minute)}, []int{5, 4, 3}},
		{"until is exclusive", wxlogin.AuditFilter{Until: at(3 * time.Minute)}, []int{2, 1, 0}},
		{"since and until", wxlogin.AuditFilter{Since: at(time.Minute), Until: at(4 * time.Minute)}, []int{3, 2, 1}},
		{"since in another zone", wxlogin.AuditFilter{Since: at(4 * time.Minute).In(shanghai)}, []int{5, 4}},
		{"before", wxlogin.AuditFilter{Before: e[3].ID}, []int{2, 1, 0}},
		{"limit", wxlogin.AuditFilter{Limit: 2}, []int{5, 4}},
		{"page 2", wxlogin.AuditFilter{Limit: 2, Before: e[4].ID}, []int{3, 2}},
		{"last page", wxlogin.AuditFilter{Limit: 2, Before: e[2].ID}, []int{1, 0}},
		{"type, before, limit", wxlogin.AuditFilter{Type: "login.success", Before: e[4].ID, Limit: 1}, []int{2}},
	}
	for _, tc := range tests {
		got, err := s.AuditEvents(ctx, tc.f)
		if err != nil {
			t.Errorf("AuditEvents %s: %v", tc.name, err)
			continue
		}
		if len(got) != len(tc.want) {
			ids := make([]int64, len(got))
			for k, g := range got {
				ids[k] = g.ID
			}
			t.Errorf("AuditEvents %s: ids %v, want %d events %v", tc.name, ids, len(tc.want), tc.want)
			continue
		}
		for k, w := range tc.want {
			same(t, fmt.Sprintf("AuditEvents %s [%d]", tc.name, k), got[k], e[w])
		}
	}

	// Paging with Before from the last ID seen walks through every event exactly once.
	var seen []int64
	f := wxlogin.AuditFilter{Limit: 4}
	for range 10 {
		page, err := s.AuditEvents(ctx, f)
		must(t, err, "AuditEvents page")
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			seen = append(seen, ev.ID)
		}
		f.Before = page[len(page)-1].ID
	}
	if len(seen) != len(e) {
		t.Errorf("paging saw %d events, want %d", len(seen), len(e))
	}
}

func testAuditEventsDefaultLimit(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	const n = 105
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		for k := range n {
			if err := tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: at(time.Duration(k) * time.Second), Type: "t"}); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err, "adding events")
	for _, limit := range []int{0, -1} {
		got, err := s.AuditEvents(ctx, wxlogin.AuditFilter{Limit: limit})
		must(t, err, "AuditEvents")
		if len(got) != 100 {
			t.Errorf("AuditEvents with Limit %d: %d events, want 100", limit, len(got))
			continue
		}
		if !got[0].Time.Equal(at((n-1)*time.Second)) || !got[99].Time.Equal(at((n-100)*time.Second)) {
			t.Errorf("AuditEvents with Limit %d: from %v to %v, want the newest 100", limit, got[0].Time, got[99].Time)
		}
	}
	got, err := s.AuditEvents(ctx, wxlogin.AuditFilter{Limit: 103})
	must(t, err, "AuditEvents with Limit 103")
	if len(got) != 103 {
		t.Errorf("AuditEvents with Limit 103: %d events", len(got))
	}
}

// ---- times

// zone returns Asia/Shanghai, or a fixed UTC+8 zone when the system has no time zone database.
func zone(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Logf("no tz database (%v); using a fixed +08:00 zone", err)
		return time.FixedZone("CST", 8*60*60)
	}
	return loc
}

func testTimes(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	shanghai := zone(t)
	tests := []struct {
		name string
		t    time.Time
	}{
		{"zero", time.Time{}},
		{"utc", t0},
		{"microseconds", time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC)},
		{"shanghai", time.Date(2025, 1, 1, 8, 0, 0, 123456000, shanghai)},
		{"fixed zone", time.Date(2025, 6, 30, 12, 0, 0, 1000, time.FixedZone("X", -7*3600-30*60))},
		{"unix epoch", time.Unix(0, 0)},
		{"before epoch", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},
		{"far future", time.Date(2200, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{"local", time.Date(2025, 3, 1, 10, 0, 0, 42000, time.Local)},
	}
	for k, tc := range tests {
		u := &wxlogin.User{ID: fmt.Sprintf("usr_%d", k), PhoneVerifiedAt: tc.t, CreatedAt: tc.t, UpdatedAt: t0}
		must(t, s.CreateUser(ctx, u), "CreateUser "+tc.name)
		got, err := s.User(ctx, u.ID)
		must(t, err, "User "+tc.name)
		if tc.t.IsZero() {
			if !got.CreatedAt.IsZero() || !got.PhoneVerifiedAt.IsZero() {
				t.Errorf("%s: got %v, %v; want zero times", tc.name, got.CreatedAt, got.PhoneVerifiedAt)
			}
			continue
		}
		for _, g := range []time.Time{got.CreatedAt, got.PhoneVerifiedAt} {
			if !g.Equal(tc.t) {
				t.Errorf("%s: got %v, want the instant %v", tc.name, g, tc.t)
			}
			if g.Location() != time.UTC {
				t.Errorf("%s: got location %v, want UTC", tc.name, g.Location())
			}
		}
	}
}

// ---- empty keys

func testEmptyKeys(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createSession(t, s, "ses_1", "usr_1", t0)
	tests := []struct {
		name string
		err  error
	}{
		{"user id", s.CreateUser(ctx, &wxlogin.User{})},
		{"username", s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_1", PasswordHash: "h"})},
		{"appid", s.CreateIdentity(ctx, &wxlogin.Identity{OpenID: "o", UserID: "usr_1"})},
		{"openid", s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", UserID: "usr_1"})},
		{"session id", s.CreateSession(ctx, &wxlogin.Session{UserID: "usr_1", ExpiresAt: at(time.Hour)})},
		{"refresh hash", s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{SessionID: "ses_1"})},
		{"signing key id", s.CreateSigningKey(ctx, &wxlogin.SigningKey{Algorithm: "ES256"})},
	}
	for _, tc := range tests {
		wantCode(t, tc.err, wxlogin.EINVALID, "create without "+tc.name)
	}
	if _, err := s.User(ctx, ""); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf(`User(""): err %v, want ENOTFOUND`, err)
	}
}

// ---- Update

var errSentinel = errors.New("storetest: fn failed on purpose")

func testUpdateCommits(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		u := createUser(t, tx, "usr_1")
		got, err := tx.User(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("tx does not see its own write: %w", err)
		}
		same(t, "User inside Update", got, u)
		createSession(t, tx, "ses_1", "usr_1", t0)
		return tx.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_1", Username: "alice", PasswordHash: "h"})
	})
	must(t, err, "Update")
	checks := map[string]error{}
	_, checks["User"] = s.User(ctx, "usr_1")
	_, checks["Session"] = s.Session(ctx, "ses_1")
	_, checks["Account"] = s.Account(ctx, "alice")
	for what, err := range checks {
		if err != nil {
			t.Errorf("%s after a committed Update: %v", what, err)
		}
	}
}

func testUpdateRollsBack(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_0")
	wrapped := fmt.Errorf("context: %w", errSentinel)
	conflict := wxlogin.Errorf(wxlogin.ECONFLICT, "fn says conflict")
	tests := []struct {
		name    string
		fnErr   func(tx wxlogin.Tx) error // the error fn returns after its writes
		checkFn func(t *testing.T, err error)
	}{
		{"plain error", func(wxlogin.Tx) error { return errSentinel }, func(t *testing.T, err error) {
			if !errors.Is(err, errSentinel) {
				t.Errorf("Update returned %v, want fn's error", err)
			}
		}},
		{"wrapped error", func(wxlogin.Tx) error { return wrapped }, func(t *testing.T, err error) {
			if !errors.Is(err, errSentinel) || err.Error() != wrapped.Error() {
				t.Errorf("Update returned %v, want fn's error unchanged", err)
			}
		}},
		{"wxlogin error", func(wxlogin.Tx) error { return conflict }, func(t *testing.T, err error) {
			var we *wxlogin.Error
			if !errors.As(err, &we) || we != conflict {
				t.Errorf("Update returned %v, want fn's *wxlogin.Error", err)
			}
		}},
		{"store error", func(tx wxlogin.Tx) error {
			return tx.CreateUser(ctx, newUser("usr_0")) // duplicate: the store's own ECONFLICT
		}, func(t *testing.T, err error) {
			wantCode(t, err, wxlogin.ECONFLICT, "Update returning the store's conflict")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx, func(tx wxlogin.Tx) error {
				u := newUser("usr_rb")
				u.UnionID = "union-rb"
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if err := tx.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_rb", Username: "rb", PasswordHash: "h"}); err != nil {
					return err
				}
				if err := tx.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "o-rb", UserID: "usr_rb"}); err != nil {
					return err
				}
				s0 := newUser("usr_0")
				s0.Nickname = "changed by a rolled back fn"
				if err := tx.UpdateUser(ctx, s0); err != nil {
					return err
				}
				if err := tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: t0, Type: "rolled.back"}); err != nil {
					return err
				}
				if err := tx.DeleteUser(ctx, "usr_rb"); err != nil { // and recreate: more to undo
					return err
				}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				return tc.fnErr(tx)
			})
			if err == nil {
				t.Fatal("Update returned nil for a failing fn")
			}
			tc.checkFn(t, err)
			if _, err := s.User(ctx, "usr_rb"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Errorf("User written by a failed Update: err %v, want ENOTFOUND", err)
			}
			if _, err := s.UserByUnionID(ctx, "union-rb"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Errorf("UserByUnionID written by a failed Update: err %v, want ENOTFOUND", err)
			}
			if _, err := s.Account(ctx, "rb"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Errorf("Account written by a failed Update: err %v, want ENOTFOUND", err)
			}
			if _, err := s.Identity(ctx, "wx_a", "o-rb"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Errorf("Identity written by a failed Update: err %v, want ENOTFOUND", err)
			}
			got, err := s.User(ctx, "usr_0")
			must(t, err, "User usr_0")
			same(t, "user updated by a failed Update", got, newUser("usr_0"))
			if evs, err := s.AuditEvents(ctx, wxlogin.AuditFilter{}); err != nil || len(evs) != 0 {
				t.Errorf("audit events after a failed Update: %d, %v; want none", len(evs), err)
			}
		})
	}
}

func testUpdateIsolation(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		createUser(t, tx, "usr_1")
		// The Store outside the transaction must not see the uncommitted user, nor wait for it.
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := s.User(rctx, "usr_1"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			t.Errorf("Store read inside Update: err %v, want ENOTFOUND (no dirty reads, no blocking)", err)
		}
		return nil
	})
	must(t, err, "Update")
	if _, err := s.User(ctx, "usr_1"); err != nil {
		t.Errorf("Store read after commit: %v", err)
	}
}

func testUpdateCanceledContext(t *testing.T, s wxlogin.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		return tx.CreateUser(ctx, newUser("usr_1"))
	})
	if err == nil {
		t.Error("Update with a canceled context returned nil")
	}
	if _, err := s.User(t.Context(), "usr_1"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("User written under a canceled context: err %v, want ENOTFOUND", err)
	}
}

// testTxMethods calls every Tx method inside one Update (success paths and not-found reads only:
// after a failed write some databases abort the transaction) and checks the committed result.
func testTxMethods(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	var auditID int64
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		if _, err := tx.User(ctx, "usr_1"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			t.Errorf("tx.User of a missing user: %v", err)
		}
		u := createUser(t, tx, "usr_1")
		u.UnionID = "union-1"
		must(t, tx.UpdateUser(ctx, u), "tx.UpdateUser")
		if got, err := tx.UserByUnionID(ctx, "union-1"); err != nil || got.ID != "usr_1" {
			t.Errorf("tx.UserByUnionID: %v, %v", got, err)
		}
		createUser(t, tx, "usr_2")
		must(t, tx.DeleteUser(ctx, "usr_2"), "tx.DeleteUser")

		a := &wxlogin.Account{UserID: "usr_1", Username: "alice", PasswordHash: "h", CreatedAt: t0}
		must(t, tx.CreateAccount(ctx, a), "tx.CreateAccount")
		a.FailedAttempts = 3
		must(t, tx.UpdateAccount(ctx, a), "tx.UpdateAccount")
		if got, err := tx.Account(ctx, "alice"); err != nil || got.FailedAttempts != 3 {
			t.Errorf("tx.Account: %v, %v", got, err)
		}
		if got, err := tx.AccountByUser(ctx, "usr_1"); err != nil || got.Username != "alice" {
			t.Errorf("tx.AccountByUser: %v, %v", got, err)
		}

		for _, app := range []string{"wx_a", "wx_b"} {
			must(t, tx.CreateIdentity(ctx, &wxlogin.Identity{AppID: app, OpenID: "o1", UserID: "usr_1", CreatedAt: t0}), "tx.CreateIdentity")
		}
		i := &wxlogin.Identity{AppID: "wx_a", OpenID: "o1", UserID: "usr_1", SessionKey: []byte("sk"), CreatedAt: t0}
		must(t, tx.UpdateIdentity(ctx, i), "tx.UpdateIdentity")
		if got, err := tx.Identity(ctx, "wx_a", "o1"); err != nil || string(got.SessionKey) != "sk" {
			t.Errorf("tx.Identity: %v, %v", got, err)
		}
		must(t, tx.DeleteIdentity(ctx, "wx_b", "o1"), "tx.DeleteIdentity")
		if l, err := tx.IdentitiesByUser(ctx, "usr_1"); err != nil || len(l) != 1 {
			t.Errorf("tx.IdentitiesByUser: %d, %v", len(l), err)
		}

		x := createSession(t, tx, "ses_1", "usr_1", t0)
		createSession(t, tx, "ses_2", "usr_1", at(time.Minute))
		x.LastSeenAt = at(time.Minute)
		must(t, tx.UpdateSession(ctx, x), "tx.UpdateSession")
		if got, err := tx.Session(ctx, "ses_1"); err != nil || !got.LastSeenAt.Equal(x.LastSeenAt) {
			t.Errorf("tx.Session: %v, %v", got, err)
		}
		if l, err := tx.SessionsByUser(ctx, "usr_1"); err != nil || len(l) != 2 || l[0].ID != "ses_2" {
			t.Errorf("tx.SessionsByUser: %d, %v", len(l), err)
		}

		rt := &wxlogin.RefreshToken{Hash: "h1", SessionID: "ses_1", CreatedAt: t0, ExpiresAt: at(time.Hour)}
		must(t, tx.CreateRefreshToken(ctx, rt), "tx.CreateRefreshToken")
		rt.UsedAt = at(time.Second)
		must(t, tx.UpdateRefreshToken(ctx, rt), "tx.UpdateRefreshToken")
		if got, err := tx.RefreshToken(ctx, "h1"); err != nil || !got.UsedAt.Equal(rt.UsedAt) {
			t.Errorf("tx.RefreshToken: %v, %v", got, err)
		}
		ids, err := tx.RevokeUserSessions(ctx, "usr_1", at(2*time.Minute))
		if slices.Sort(ids); err != nil || !slices.Equal(ids, []string{"ses_1", "ses_2"}) {
			t.Errorf("tx.RevokeUserSessions: %q, %v", ids, err)
		}

		k := &wxlogin.SigningKey{ID: "key_1", Algorithm: "ES256", Private: []byte("p"), Public: []byte("q"), CreatedAt: t0}
		must(t, tx.CreateSigningKey(ctx, k), "tx.CreateSigningKey")
		k.RetiredAt = at(time.Hour)
		must(t, tx.UpdateSigningKey(ctx, k), "tx.UpdateSigningKey")
		if l, err := tx.SigningKeys(ctx); err != nil || len(l) != 1 || !l[0].RetiredAt.Equal(k.RetiredAt) {
			t.Errorf("tx.SigningKeys: %d, %v", len(l), err)
		}

		ev := &wxlogin.AuditEvent{Time: t0, Type: "tx.test", UserID: "usr_1"}
		must(t, tx.AddAuditEvent(ctx, ev), "tx.AddAuditEvent")
		auditID = ev.ID
		if l, err := tx.AuditEvents(ctx, wxlogin.AuditFilter{UserID: "usr_1"}); err != nil || len(l) != 1 || l[0].ID != ev.ID {
			t.Errorf("tx.AuditEvents: %d, %v", len(l), err)
		}
		return nil
	})
	must(t, err, "Update")

	// Everything committed.
	if _, err := s.User(ctx, "usr_2"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("user deleted in the transaction: err %v, want ENOTFOUND", err)
	}
	if got, err := s.UserByUnionID(ctx, "union-1"); err != nil || got.ID != "usr_1" {
		t.Errorf("UserByUnionID after commit: %v, %v", got, err)
	}
	if got, err := s.Account(ctx, "alice"); err != nil || got.FailedAttempts != 3 {
		t.Errorf("Account after commit: %v, %v", got, err)
	}
	if l, err := s.IdentitiesByUser(ctx, "usr_1"); err != nil || len(l) != 1 || string(l[0].SessionKey) != "sk" {
		t.Errorf("IdentitiesByUser after commit: %d, %v", len(l), err)
	}
	if got, err := s.Session(ctx, "ses_2"); err != nil || !got.RevokedAt.Equal(at(2*time.Minute)) {
		t.Errorf("Session after commit: %v, %v", got, err)
	}
	if got, err := s.RefreshToken(ctx, "h1"); err != nil || got.UsedAt.IsZero() {
		t.Errorf("RefreshToken after commit: %v, %v", got, err)
	}
	if l, err := s.SigningKeys(ctx); err != nil || len(l) != 1 || l[0].RetiredAt.IsZero() {
		t.Errorf("SigningKeys after commit: %d, %v", len(l), err)
	}
	if l, err := s.AuditEvents(ctx, wxlogin.AuditFilter{}); err != nil || len(l) != 1 || l[0].ID != auditID {
		t.Errorf("AuditEvents after commit: %d, %v", len(l), err)
	}
}
