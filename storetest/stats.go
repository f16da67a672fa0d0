package storetest

// The admin console's aggregates:
//
//   - LoginCounts counts the login.success audit events at or after since (inclusive; zero: all)
//     by (bucket, detail "method" as a string, "" otherwise, app); buckets are floor(unix time /
//     bucket), so a day is a UTC day, also before 1970; rows come ordered by Start, Method, AppID.
//   - NewUserCounts counts the users with a CreatedAt at or after since by bucket, oldest first.
//   - ActiveSessionCount counts the sessions not revoked and expiring after now.
//   - A bucket that is not a positive whole number of seconds, and a zero now, are EINVALID.

import (
	"slices"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// day0 is a UTC midnight: the buckets of the cases below start on it.
var day0 = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

func testLoginCounts(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	shanghai := zone(t)
	events := []struct {
		at            time.Time
		typ, app, det string
	}{
		{day0.Add(9*time.Hour + 5*time.Minute), "login.success", "wx_a", `{"method":"wechat","new_user":"true"}`},
		{day0.Add(9*time.Hour + 59*time.Minute + 59*time.Second + 999*time.Microsecond), "login.success", "wx_a", `{"dedup":"false","method":"wechat"}`},
		{day0.Add(9*time.Hour + 30*time.Minute).In(shanghai), "login.success", "", `{"method":"password"}`},
		{day0.Add(9*time.Hour + 31*time.Minute), "login.success", "wx_b", `{"method":"wechat"}`},
		{day0.Add(10 * time.Hour), "login.success", "wx_a", `{"method":"wechat"}`}, // the next hour's first instant
		{day0.Add(10*time.Hour + time.Minute), "login.success", "wx_a", `{}`},
		{day0.Add(10*time.Hour + 2*time.Minute), "login.success", "wx_a", ``},
		{day0.Add(10*time.Hour + 3*time.Minute), "login.success", "wx_a", `{"method":7}`},
		{day0.Add(10*time.Hour + 4*time.Minute), "login.success", "wx_a", `not json`},
		{day0.Add(10*time.Hour + 5*time.Minute), "login.failure", "wx_a", `{"method":"wechat"}`},
		{day0.Add(10*time.Hour + 6*time.Minute), "account.create", "", `{"username":"x"}`},
		{day0.Add(-time.Microsecond), "login.success", "wx_a", `{"method":"phone"}`}, // the day before
		{time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), "login.success", "wx_a", `{"method":"phone"}`},
	}
	for _, e := range events {
		must(t, s.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: e.at, Type: e.typ, AppID: e.app, Detail: e.det}), "AddAuditEvent")
	}
	h := func(n int) time.Time { return day0.Add(time.Duration(n) * time.Hour) }
	lc := func(start time.Time, method, app string, n int64) wxlogin.LoginCount {
		return wxlogin.LoginCount{Start: start, Method: method, AppID: app, Count: n}
	}
	tests := []struct {
		name   string
		since  time.Time
		bucket time.Duration
		want   []wxlogin.LoginCount
	}{
		{"hourly since day0", day0, time.Hour, []wxlogin.LoginCount{
			lc(h(9), "password", "", 1), lc(h(9), "wechat", "wx_a", 2), lc(h(9), "wechat", "wx_b", 1),
			lc(h(10), "", "wx_a", 4), lc(h(10), "wechat", "wx_a", 1)}},
		{"daily since the day before", day0.Add(-time.Microsecond), 24 * time.Hour, []wxlogin.LoginCount{
			lc(day0.AddDate(0, 0, -1), "phone", "wx_a", 1),
			lc(day0, "", "wx_a", 4), lc(day0, "password", "", 1), lc(day0, "wechat", "wx_a", 3), lc(day0, "wechat", "wx_b", 1)}},
		{"since is inclusive", h(10), time.Hour, []wxlogin.LoginCount{lc(h(10), "", "wx_a", 4), lc(h(10), "wechat", "wx_a", 1)}},
		{"since in another zone", h(10).In(shanghai), 24 * time.Hour, []wxlogin.LoginCount{lc(day0, "", "wx_a", 4), lc(day0, "wechat", "wx_a", 1)}},
		{"all, before 1970 too", time.Time{}, 24 * time.Hour, []wxlogin.LoginCount{
			lc(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), "phone", "wx_a", 1),
			lc(day0.AddDate(0, 0, -1), "phone", "wx_a", 1),
			lc(day0, "", "wx_a", 4), lc(day0, "password", "", 1), lc(day0, "wechat", "wx_a", 3), lc(day0, "wechat", "wx_b", 1)}},
		{"90 minute buckets", h(9), 90 * time.Minute, []wxlogin.LoginCount{ // 09:00 is 1.5h-aligned, 10:30 next
			lc(h(9), "", "wx_a", 4), lc(h(9), "password", "", 1), lc(h(9), "wechat", "wx_a", 3), lc(h(9), "wechat", "wx_b", 1)}},
		{"nothing since", h(11), time.Hour, []wxlogin.LoginCount{}},
	}
	for _, tc := range tests {
		got, err := s.LoginCounts(ctx, tc.since, tc.bucket)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.EqualFunc(got, tc.want, func(a, b wxlogin.LoginCount) bool {
			return a.Start.Equal(b.Start) && a.Start.Location() == time.UTC && a.Method == b.Method && a.AppID == b.AppID && a.Count == b.Count
		}) {
			t.Errorf("%s: LoginCounts =\n%v\nwant\n%v", tc.name, got, tc.want)
		}
	}
	for _, b := range []time.Duration{0, -time.Hour, 1500 * time.Millisecond, time.Millisecond} {
		_, err := s.LoginCounts(ctx, day0, b)
		wantCode(t, err, wxlogin.EINVALID, "LoginCounts with bucket "+b.String())
		_, err = s.NewUserCounts(ctx, day0, b)
		wantCode(t, err, wxlogin.EINVALID, "NewUserCounts with bucket "+b.String())
	}
	// In a transaction, it sees the transaction's own writes.
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
		must(t, tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: h(11), Type: "login.success", AppID: "wx_c", Detail: `{"method":"qr","qr":"q1"}`}), "tx.AddAuditEvent")
		got, err := tx.LoginCounts(ctx, h(11), time.Hour)
		if err != nil || len(got) != 1 || got[0] != lc(h(11), "qr", "wx_c", 1) {
			t.Errorf("tx.LoginCounts = %v, %v; want one qr login at wx_c", got, err)
		}
		return nil
	}), "Update")
}

func testNewUserCounts(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	for id, created := range map[string]time.Time{
		"usr_1": day0.Add(time.Hour), "usr_2": day0.Add(23*time.Hour + 59*time.Minute),
		"usr_3": day0.AddDate(0, 0, 1), "usr_4": day0.AddDate(0, 0, 3).Add(time.Minute).In(zone(t)),
		"usr_5": day0.Add(-time.Second), "usr_6": {}, "usr_7": day0.Add(2 * time.Hour),
	} {
		u := newUser(id)
		u.CreatedAt = created
		must(t, s.CreateUser(ctx, u), "CreateUser "+id)
	}
	must(t, s.DeleteUser(ctx, "usr_7"), "DeleteUser") // a deleted user is not counted
	d := func(n int) time.Time { return day0.AddDate(0, 0, n) }
	tc := func(start time.Time, n int64) wxlogin.TimeCount { return wxlogin.TimeCount{Start: start, Count: n} }
	for _, c := range []struct {
		name   string
		since  time.Time
		bucket time.Duration
		want   []wxlogin.TimeCount
	}{
		{"daily since day0", day0, 24 * time.Hour, []wxlogin.TimeCount{tc(d(0), 2), tc(d(1), 1), tc(d(3), 1)}},
		{"all", time.Time{}, 24 * time.Hour, []wxlogin.TimeCount{tc(d(-1), 1), tc(d(0), 2), tc(d(1), 1), tc(d(3), 1)}},
		{"hourly", day0.Add(time.Hour), time.Hour, []wxlogin.TimeCount{tc(day0.Add(time.Hour), 1),
			tc(day0.Add(23*time.Hour), 1), tc(d(1), 1), tc(d(3), 1)}},
		{"since is inclusive", d(1), 24 * time.Hour, []wxlogin.TimeCount{tc(d(1), 1), tc(d(3), 1)}},
		{"nothing since", d(4), 24 * time.Hour, []wxlogin.TimeCount{}},
	} {
		got, err := s.NewUserCounts(ctx, c.since, c.bucket)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.EqualFunc(got, c.want, func(a, b wxlogin.TimeCount) bool {
			return a.Start.Equal(b.Start) && a.Start.Location() == time.UTC && a.Count == b.Count
		}) {
			t.Errorf("%s: NewUserCounts = %v, want %v", c.name, got, c.want)
		}
	}
}

func testActiveSessionCount(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	now := day0.Add(12 * time.Hour)
	must(t, s.CreateUser(ctx, newUser("usr_1")), "CreateUser")
	for id, sess := range map[string]*wxlogin.Session{
		"ses_active":       {ExpiresAt: now.Add(time.Hour)},
		"ses_active2":      {ExpiresAt: now.Add(time.Microsecond), RevokedAt: time.Time{}},
		"ses_expiresnow":   {ExpiresAt: now},
		"ses_expired":      {ExpiresAt: now.Add(-time.Hour)},
		"ses_revoked":      {ExpiresAt: now.Add(time.Hour), RevokedAt: now.Add(-time.Minute)},
		"ses_revokedlater": {ExpiresAt: now.Add(time.Hour), RevokedAt: now.Add(time.Minute)}, // revoked is revoked
	} {
		sess.ID, sess.UserID, sess.CreatedAt = id, "usr_1", now.Add(-48*time.Hour)
		must(t, s.CreateSession(ctx, sess), "CreateSession "+id)
	}
	if n, err := s.ActiveSessionCount(ctx, now); err != nil || n != 2 {
		t.Errorf("ActiveSessionCount = %d, %v; want 2", n, err)
	}
	if n, err := s.ActiveSessionCount(ctx, now.Add(-2*time.Hour)); err != nil || n != 4 {
		t.Errorf("ActiveSessionCount two hours before = %d, %v; want 4 (the revoked ones are never active)", n, err)
	}
	if n, err := s.ActiveSessionCount(ctx, now.Add(2*time.Hour)); err != nil || n != 0 {
		t.Errorf("ActiveSessionCount after every expiry = %d, %v; want 0", n, err)
	}
	_, err := s.ActiveSessionCount(ctx, time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "ActiveSessionCount at the zero time")
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
		if _, err := tx.RevokeUserSessions(ctx, "usr_1", now); err != nil {
			return err
		}
		if n, err := tx.ActiveSessionCount(ctx, now); err != nil || n != 0 {
			t.Errorf("tx.ActiveSessionCount after revoking all = %d, %v; want 0", n, err)
		}
		return nil
	}), "Update")
}
