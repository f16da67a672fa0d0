package auth

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/token"
)

// TestLoginStats: the statistics are the store's aggregates over every login of the windows:
// logins by hour and by UTC day, by method and app ("unknown" for an event naming no method);
// new users by day, those since deleted left out, while their logins stay counted; every active
// session, also one older than the windows; nothing outside the windows.
func TestLoginStats(t *testing.T) {
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
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	issuer, err := token.New(ctx, token.Options{Keys: st, Sealer: ring, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, Tokens: issuer, Sealer: ring, Signup: true, Now: clock,
		Argon2: Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	signUpAndLogin := func(name string) *Login {
		t.Helper()
		if _, err := s.SignUp(ctx, name, "correct horse battery", Meta{}); err != nil {
			t.Fatal(err)
		}
		l, err := s.LoginPassword(ctx, "", name, "correct horse battery", Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// 40 days ago: a user whose session outlives the windows (kept alive), and one more login.
	now = time.Date(2026, 10, 12, 8, 0, 0, 0, time.UTC)
	old := signUpAndLogin("stats-old")
	sess, err := st.Session(ctx, old.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	sess.ExpiresAt = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	if err := st.UpdateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	// Yesterday 23:59: two users; one is deleted later.
	now = time.Date(2026, 11, 20, 23, 59, 0, 0, time.UTC)
	signUpAndLogin("stats-y1")
	gone := signUpAndLogin("stats-y2")
	// Today: three users; the first logs out.
	now = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	var first *Login
	for i := range 3 {
		l := signUpAndLogin("stats-user-" + strconv.Itoa(i))
		if first == nil {
			first = l
		}
	}
	if err := s.RevokeSession(ctx, &Principal{UserID: first.User.ID, SessionID: first.Session.ID}, first.Session.ID, Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUser(ctx, gone.User.ID); err != nil {
		t.Fatal(err)
	}
	// An event naming no method, at an app, this hour; and one stamped tomorrow (a clock ahead).
	for _, e := range []*wxlogin.AuditEvent{
		{Time: time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC), Type: "login.success", AppID: "wx_app", Detail: "{}"},
		{Time: time.Date(2026, 11, 22, 0, 30, 0, 0, time.UTC), Type: "login.success", Detail: `{"method":"password"}`},
	} {
		if err := st.AddAuditEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	now = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

	got, err := s.LoginStats(ctx, Admin{Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hourly) != StatsHours || len(got.Daily) != StatsDays || len(got.NewUsersDaily) != StatsDays {
		t.Fatalf("buckets: %d hourly, %d daily, %d new-user days", len(got.Hourly), len(got.Daily), len(got.NewUsersDaily))
	}
	if h := got.Hourly[StatsHours-1]; !h.Start.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)) || h.Total != 1 ||
		h.ByMethod["unknown"] != 1 || h.ByApp["wx_app"] != 1 {
		t.Errorf("this hour = %+v, want the event naming no method", h)
	}
	if h := got.Hourly[StatsHours-2]; h.Total != 3 || h.ByMethod["password"] != 3 || h.ByApp[""] != 3 {
		t.Errorf("09:00 = %+v, want 3 password logins without an app", h)
	}
	if h := got.Hourly[StatsHours-12]; !h.Start.Equal(time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC)) || h.Total != 2 {
		t.Errorf("yesterday 23:00 = %+v, want 2 logins (the deleted user's included)", h)
	}
	if h := got.Hourly[0]; !h.Start.Equal(time.Date(2026, 11, 19, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("first hour starts %v", h.Start)
	}
	total := func(cs []LoginCount) (n int) {
		for _, c := range cs {
			n += c.Total
		}
		return n
	}
	if n := total(got.Hourly); n != 6 {
		t.Errorf("logins in 48 hours = %d, want 6", n)
	}
	if n := total(got.Daily); n != 6 { // the one 40 days ago and the one after now are out
		t.Errorf("logins in 30 days = %d, want 6", n)
	}
	today, yesterday := got.Daily[StatsDays-1], got.Daily[StatsDays-2]
	if !today.Start.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)) || today.Total != 4 || today.ByMethod["password"] != 3 ||
		today.ByMethod["unknown"] != 1 || yesterday.Total != 2 || got.Daily[0].Start != time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC) {
		t.Errorf("today %+v, yesterday %+v, first day %v", today, yesterday, got.Daily[0].Start)
	}
	if got.NewUsersDaily[StatsDays-1] != 3 || got.NewUsersDaily[StatsDays-2] != 1 {
		t.Errorf("new users today %d, yesterday %d; want 3 and 1 (the deleted user left out)",
			got.NewUsersDaily[StatsDays-1], got.NewUsersDaily[StatsDays-2])
	}
	for i, n := range got.NewUsersDaily[:StatsDays-2] {
		if n != 0 {
			t.Errorf("new users on day %d = %d, want 0", i, n)
		}
	}
	// Active: the old one kept alive, today's second and third, yesterday's remaining user.
	if got.ActiveSessions != 4 {
		t.Errorf("active sessions = %d, want 4", got.ActiveSessions)
	}
	events, err := st.AuditEvents(ctx, wxlogin.AuditFilter{Type: "admin.stats.read"})
	if err != nil || len(events) != 1 || events[0].ActorID != "admin:ops" {
		t.Errorf("admin.stats.read events = %v, %v", events, err)
	}
}
