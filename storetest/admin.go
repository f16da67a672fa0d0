package storetest

// The admin API's part of the suite:
//
//   - Users: every non-empty field of the UserFilter must match; OpenID alone matches at any app,
//     with AppID only that identity, AppID alone any user with an identity there; UnionID matches the
//     user's unionid or one of its identities'; results come ordered by ID, After keeps IDs above
//     it, Limit <= 0 means 100; nothing matching is an empty slice.
//   - PruneAuditEvents deletes exactly the events with Time before the cutoff and returns how many.
//   - PruneSessions deletes exactly the sessions revoked before the cutoff or expiring before it,
//     with their refresh tokens, and returns how many sessions. A zero cutoff is EINVALID for both.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// userIDs returns the ids of users.
func userIDs(users []*wxlogin.User) []string {
	ids := make([]string, len(users))
	for k, u := range users {
		ids[k] = u.ID
	}
	return ids
}

func testFindUsers(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	// Ids of one shape, so that every collation orders them alike.
	id := func(k int) string { return fmt.Sprintf("usr_%02d", k) }
	users := map[int]*wxlogin.User{
		1: {ID: id(1), UnionID: "union-1", Phone: "13800000001", PhoneCountryCode: "86", PhoneVerifiedAt: t0},
		2: {ID: id(2), Phone: "13800000002", PhoneCountryCode: "86", PhoneVerifiedAt: t0},
		3: {ID: id(3), Phone: "13800000001", PhoneCountryCode: "852", PhoneVerifiedAt: t0},
		4: {ID: id(4)},
		5: {ID: id(5), Disabled: true},
	}
	for k := 1; k <= 5; k++ {
		u := users[k]
		u.Nickname, u.CreatedAt, u.UpdatedAt = "n", t0, t0
		must(t, s.CreateUser(ctx, u), "CreateUser")
	}
	must(t, s.CreateAccount(ctx, &wxlogin.Account{UserID: id(2), Username: "bob", PasswordHash: "h", CreatedAt: t0}), "CreateAccount")
	must(t, s.CreateAccount(ctx, &wxlogin.Account{UserID: id(4), Username: "dave", PasswordHash: "h", CreatedAt: t0}), "CreateAccount")
	for _, i := range []*wxlogin.Identity{
		{AppID: "wx_a", OpenID: "open-1a", UnionID: "union-1", UserID: id(1)},
		{AppID: "wx_b", OpenID: "open-1b", UserID: id(1)},
		{AppID: "wx_a", OpenID: "open-shared", UserID: id(3)},
		{AppID: "wx_b", OpenID: "open-shared", UserID: id(4)},                // the same openid string at another app
		{AppID: "wx_b", OpenID: "open-5", UnionID: "union-5", UserID: id(5)}, // a unionid the user row lacks
	} {
		i.CreatedAt = t0
		must(t, s.CreateIdentity(ctx, i), "CreateIdentity")
	}

	tests := []struct {
		name string
		f    wxlogin.UserFilter
		want []int
	}{
		{"all", wxlogin.UserFilter{}, []int{1, 2, 3, 4, 5}},
		{"id", wxlogin.UserFilter{ID: id(3)}, []int{3}},
		{"unknown id", wxlogin.UserFilter{ID: "usr_99"}, nil},
		{"username", wxlogin.UserFilter{Username: "dave"}, []int{4}},
		{"unknown username", wxlogin.UserFilter{Username: "eve"}, nil},
		{"openid at any app", wxlogin.UserFilter{OpenID: "open-shared"}, []int{3, 4}},
		{"openid at one app", wxlogin.UserFilter{AppID: "wx_b", OpenID: "open-shared"}, []int{4}},
		{"openid at the wrong app", wxlogin.UserFilter{AppID: "wx_b", OpenID: "open-1a"}, nil},
		{"app", wxlogin.UserFilter{AppID: "wx_b"}, []int{1, 4, 5}},
		{"unionid of the user", wxlogin.UserFilter{UnionID: "union-1"}, []int{1}},
		{"unionid of an identity", wxlogin.UserFilter{UnionID: "union-5"}, []int{5}},
		{"phone in any country", wxlogin.UserFilter{Phone: "13800000001"}, []int{1, 3}},
		{"phone in one country", wxlogin.UserFilter{Phone: "13800000001", CountryCode: "852"}, []int{3}},
		{"country code", wxlogin.UserFilter{CountryCode: "86"}, []int{1, 2}},
		{"several fields must all match", wxlogin.UserFilter{Username: "bob", CountryCode: "86"}, []int{2}},
		{"several fields, one misses", wxlogin.UserFilter{Username: "bob", Phone: "13800000001"}, nil},
		{"after", wxlogin.UserFilter{After: id(2)}, []int{3, 4, 5}},
		{"after a missing id", wxlogin.UserFilter{After: "usr_035"}, []int{4, 5}},
		{"limit", wxlogin.UserFilter{Limit: 2}, []int{1, 2}},
		{"after and limit", wxlogin.UserFilter{After: id(1), Limit: 2}, []int{2, 3}},
		{"filter, after and limit", wxlogin.UserFilter{AppID: "wx_b", After: id(1), Limit: 1}, []int{4}},
	}
	for _, tc := range tests {
		got, err := s.Users(ctx, tc.f)
		if err != nil {
			t.Errorf("Users %s: %v", tc.name, err)
			continue
		}
		if got == nil {
			t.Errorf("Users %s: nil slice, want an empty one", tc.name)
		}
		var want []string
		for _, k := range tc.want {
			want = append(want, id(k))
		}
		if ids := userIDs(got); !slices.Equal(ids, want) && (len(ids) > 0 || len(want) > 0) {
			t.Errorf("Users %s: %q, want %q", tc.name, ids, want)
			continue
		}
		for k, u := range got {
			same(t, "Users "+tc.name, u, users[tc.want[k]])
		}
	}

	// Paging with After from the last ID seen walks through every user exactly once, in order.
	var seen []string
	f := wxlogin.UserFilter{Limit: 2}
	for range 10 {
		page, err := s.Users(ctx, f)
		must(t, err, "Users page")
		if len(page) == 0 {
			break
		}
		seen = append(seen, userIDs(page)...)
		f.After = page[len(page)-1].ID
	}
	if !slices.Equal(seen, []string{id(1), id(2), id(3), id(4), id(5)}) {
		t.Errorf("paging saw %q", seen)
	}

	// Inside Update the Tx finds its own writes.
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		createUser(t, tx, id(6))
		got, err := tx.Users(ctx, wxlogin.UserFilter{After: id(5)})
		if err != nil || !slices.Equal(userIDs(got), []string{id(6)}) {
			t.Errorf("tx.Users: %v, %v", userIDs(got), err)
		}
		return nil
	})
	must(t, err, "Update")
}

func testFindUsersDefaultLimit(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		for k := range 105 {
			if err := tx.CreateUser(ctx, newUser(fmt.Sprintf("usr_%03d", k))); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err, "creating users")
	for _, limit := range []int{0, -1} {
		got, err := s.Users(ctx, wxlogin.UserFilter{Limit: limit})
		must(t, err, "Users")
		if len(got) != 100 || got[0].ID != "usr_000" || got[99].ID != "usr_099" {
			t.Errorf("Users with Limit %d: %d users, want usr_000 to usr_099", limit, len(got))
		}
	}
	if got, err := s.Users(ctx, wxlogin.UserFilter{Limit: 103}); err != nil || len(got) != 103 {
		t.Errorf("Users with Limit 103: %d users, %v", len(got), err)
	}
}

func testPruneAuditEvents(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	var e []*wxlogin.AuditEvent
	for k := range 6 { // e[k] at t0 + k minutes
		ev := &wxlogin.AuditEvent{Time: at(time.Duration(k) * time.Minute), Type: "t", UserID: "usr_1"}
		must(t, s.AddAuditEvent(ctx, ev), "AddAuditEvent")
		e = append(e, ev)
	}
	_, err := s.PruneAuditEvents(ctx, time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "PruneAuditEvents with a zero time")

	n, err := s.PruneAuditEvents(ctx, at(3*time.Minute).In(zone(t)))
	must(t, err, "PruneAuditEvents")
	if n != 3 {
		t.Errorf("PruneAuditEvents: %d deleted, want 3", n)
	}
	got, err := s.AuditEvents(ctx, wxlogin.AuditFilter{})
	must(t, err, "AuditEvents")
	if len(got) != 3 || got[0].ID != e[5].ID || got[2].ID != e[3].ID {
		t.Errorf("after the prune %d events remain, want e[3] (the cutoff itself) to e[5]", len(got))
	}
	if n, err := s.PruneAuditEvents(ctx, at(3*time.Minute)); err != nil || n != 0 {
		t.Errorf("PruneAuditEvents again: %d, %v; want 0", n, err)
	}
	// Inside Update too.
	err = s.Update(ctx, func(tx wxlogin.Tx) error {
		n, err := tx.PruneAuditEvents(ctx, at(time.Hour))
		if n != 3 {
			t.Errorf("tx.PruneAuditEvents: %d deleted, want 3", n)
		}
		return err
	})
	must(t, err, "Update")
	if got, err := s.AuditEvents(ctx, wxlogin.AuditFilter{}); err != nil || len(got) != 0 {
		t.Errorf("after pruning everything: %d events, %v", len(got), err)
	}
}

// testPruneMany prunes more rows than one DELETE of a batching backend takes.
func testPruneMany(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	const n = 5100
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		for k := range n {
			if err := tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: at(time.Duration(k) * time.Millisecond), Type: "t"}); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err, "adding events")
	got, err := s.PruneAuditEvents(ctx, at((n-1)*time.Millisecond))
	must(t, err, "PruneAuditEvents")
	if got != n-1 {
		t.Errorf("PruneAuditEvents: %d deleted, want %d", got, n-1)
	}
	if left, err := s.AuditEvents(ctx, wxlogin.AuditFilter{}); err != nil || len(left) != 1 {
		t.Errorf("left %d events, %v; want the newest one", len(left), err)
	}
}

func testPruneSessions(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	cutoff := at(2 * time.Minute)
	specs := []struct {
		id               string
		revoked, expires time.Time
		gone             bool
	}{
		{"ses_active", time.Time{}, at(24 * time.Hour), false},
		{"ses_revoked_early", at(time.Minute), at(24 * time.Hour), true},
		{"ses_revoked_late", at(3 * time.Minute), at(24 * time.Hour), false},
		{"ses_revoked_at_cutoff", cutoff, at(24 * time.Hour), false},
		{"ses_expired_early", time.Time{}, at(time.Minute), true},
		{"ses_expired_at_cutoff", time.Time{}, cutoff, false},
		{"ses_expires_later", time.Time{}, at(5 * time.Minute), false},
		{"ses_revoked_and_expired", at(time.Second), at(time.Minute), true},
	}
	for _, sp := range specs {
		x := &wxlogin.Session{ID: sp.id, UserID: "usr_1", Method: "wechat", CreatedAt: t0, LastSeenAt: t0,
			ExpiresAt: sp.expires, RevokedAt: sp.revoked}
		must(t, s.CreateSession(ctx, x), "CreateSession")
		for k := range 2 {
			must(t, s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: fmt.Sprintf("h-%s-%d", sp.id, k), SessionID: sp.id,
				CreatedAt: t0, ExpiresAt: sp.expires}), "CreateRefreshToken")
		}
	}
	_, err := s.PruneSessions(ctx, time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "PruneSessions with a zero time")

	n, err := s.PruneSessions(ctx, cutoff.In(zone(t)))
	must(t, err, "PruneSessions")
	if n != 3 {
		t.Errorf("PruneSessions: %d deleted, want 3", n)
	}
	for _, sp := range specs {
		_, err := s.Session(ctx, sp.id)
		_, rtErr := s.RefreshToken(ctx, "h-"+sp.id+"-1")
		switch {
		case sp.gone && (wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND || wxlogin.ErrorCode(rtErr) != wxlogin.ENOTFOUND):
			t.Errorf("%s: session %v, refresh token %v; want both ENOTFOUND", sp.id, err, rtErr)
		case !sp.gone && (err != nil || rtErr != nil):
			t.Errorf("%s: session %v, refresh token %v; want both kept", sp.id, err, rtErr)
		}
	}
	if l, err := s.SessionsByUser(ctx, "usr_1"); err != nil || len(l) != 5 {
		t.Errorf("SessionsByUser after the prune: %d, %v; want 5", len(l), err)
	}
	if _, err := s.User(ctx, "usr_1"); err != nil {
		t.Errorf("the user went with its sessions: %v", err)
	}
	if n, err := s.PruneSessions(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("PruneSessions again: %d, %v; want 0", n, err)
	}
	// Inside Update too: a cutoff after every expiry takes all but the active session.
	err = s.Update(ctx, func(tx wxlogin.Tx) error {
		n, err := tx.PruneSessions(ctx, at(time.Hour))
		if n != 4 {
			t.Errorf("tx.PruneSessions: %d deleted, want 4", n)
		}
		return err
	})
	must(t, err, "Update")
	if l, err := s.SessionsByUser(ctx, "usr_1"); err != nil || len(l) != 1 || l[0].ID != "ses_active" {
		t.Errorf("SessionsByUser after the second prune: %d, %v; want only ses_active", len(l), err)
	}
}
