package auth

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/token"
)

// TestLoginStatsBound: the statistics read the audit trail page by page and stop at the bound,
// saying so; below the bound they count every login and signup, and every active session once.
func TestLoginStatsBound(t *testing.T) {
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
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
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
	var first *Login
	for i := range 5 {
		name := "stats-user-" + strconv.Itoa(i)
		if _, err := s.SignUp(ctx, name, "correct horse battery", Meta{}); err != nil {
			t.Fatal(err)
		}
		l, err := s.LoginPassword(ctx, "", name, "correct horse battery", Meta{})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = l
		}
	}
	if err := s.RevokeSession(ctx, &Principal{UserID: first.User.ID, SessionID: first.Session.ID}, first.Session.ID, Meta{}); err != nil {
		t.Fatal(err)
	}
	admin := Admin{Name: "ops"}

	all, err := s.loginStats(ctx, admin, 100, 2) // pages of 2: the cursor is followed
	if err != nil {
		t.Fatal(err)
	}
	today := all.Daily[StatsDays-1]
	if all.Truncated || all.Scanned != 10 || today.Total != 5 || today.ByMethod["password"] != 5 || today.ByApp[""] != 5 ||
		all.NewUsersDaily[StatsDays-1] != 5 || all.ActiveSessions != 4 || all.Hourly[StatsHours-1].Total != 5 {
		t.Errorf("unbounded: truncated %v, scanned %d, today %+v, new users %d, active sessions %d, this hour %d",
			all.Truncated, all.Scanned, today, all.NewUsersDaily[StatsDays-1], all.ActiveSessions, all.Hourly[StatsHours-1].Total)
	}

	part, err := s.loginStats(ctx, admin, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !part.Truncated || part.Scanned != 6 || part.Daily[StatsDays-1].Total != 3 || part.NewUsersDaily[StatsDays-1] != 3 {
		t.Errorf("bounded at 3: truncated %v, scanned %d, today %d logins, %d new users",
			part.Truncated, part.Scanned, part.Daily[StatsDays-1].Total, part.NewUsersDaily[StatsDays-1])
	}
}
