package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// workers is how many goroutines each concurrency test runs at once: enough to collide, small
// enough for a 2-core machine.
const workers = 32

// RunConcurrencyTests runs the concurrency suite on stores made by newStore (same contract as for
// RunTests). Every test starts workers goroutines at once on one store:
//
//   - LoginSameNewPerson: each runs the find-or-create login of one new WeChat user in Update;
//     exactly one user and one identity result, and every worker that succeeds sees that user
//     (the others may only fail with ECONFLICT).
//   - SpendRefreshToken: each tries to spend one refresh token in Update (fail when UsedAt is set,
//     else set it and chain a new token); exactly one wins, the others get the "already used" error
//     their fn returned, unchanged.
//   - SpendRefreshTokenOnce: each spends one refresh token with Tx.SpendRefreshToken (one
//     conditional write) and chains a new token when it spent it; exactly one spends it.
//   - BindIdentity: each tries to bind one identity to its own user in Update; exactly one wins,
//     the others get ECONFLICT or see it bound to someone else.
//   - CreateRaces: each creates a row breaking the same unique rule (username, (appid, openid),
//     unionid, session id) outside Update; exactly one succeeds, the others get ECONFLICT.
//   - NoLostUpdates: each increments one counter (Account.FailedAttempts) in Update while readers
//     poll it through the Store; the final count is workers, and readers never see it go down.
func RunConcurrencyTests(t *testing.T, newStore func(t *testing.T) wxlogin.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s wxlogin.Store)
	}{
		{"LoginSameNewPerson", testLoginSameNewPerson},
		{"SpendRefreshToken", testSpendRefreshToken},
		{"SpendRefreshTokenOnce", testSpendRefreshTokenRace},
		{"BindIdentity", testBindIdentity},
		{"CreateRaces", testCreateRaces},
		{"NoLostUpdates", testNoLostUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// race runs fn(0) ... fn(n-1) in n goroutines released at the same moment and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner fails t unless exactly one error is nil and every other one passes loserOK; it returns
// the winner's index (-1 when there is none).
func oneWinner(t *testing.T, errs []error, loserOK func(error) bool) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("workers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !loserOK(err):
			t.Errorf("worker %d: unexpected error %v (code %q)", i, err, wxlogin.ErrorCode(err))
		}
	}
	if winner < 0 {
		t.Errorf("no worker succeeded")
	}
	return winner
}

func isConflict(err error) bool { return wxlogin.ErrorCode(err) == wxlogin.ECONFLICT }

func testLoginSameNewPerson(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	const app, openid, unionid = "wx_a", "open-new", "union-new"
	got := make([]string, workers) // the user each worker logged in as
	errs := race(workers, func(i int) error {
		candidate := fmt.Sprintf("usr_%02d", i)
		return s.Update(ctx, func(tx wxlogin.Tx) error {
			ident, err := tx.Identity(ctx, app, openid)
			if err == nil {
				got[i] = ident.UserID
				return nil
			}
			if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				return err
			}
			u := &wxlogin.User{ID: candidate, UnionID: unionid, CreatedAt: t0, UpdatedAt: t0}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			ident = &wxlogin.Identity{AppID: app, OpenID: openid, UnionID: unionid, UserID: candidate,
				SessionKey: []byte("sealed"), CreatedAt: t0}
			if err := tx.CreateIdentity(ctx, ident); err != nil {
				return err
			}
			got[i] = candidate
			return nil
		})
	})

	winner, conflicts := "", 0
	for i, err := range errs {
		switch {
		case err == nil && winner == "":
			winner = got[i]
		case err == nil && got[i] != winner:
			t.Errorf("worker %d logged in as %s, another as %s", i, got[i], winner)
		case isConflict(err):
			conflicts++
		case err != nil:
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if winner == "" {
		t.Fatal("no login succeeded")
	}
	if conflicts > 0 {
		t.Logf("%d of %d logins failed with ECONFLICT", conflicts, workers)
	}
	users := 0
	for i := range workers {
		_, err := s.User(ctx, fmt.Sprintf("usr_%02d", i))
		switch {
		case err == nil:
			users++
		case wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND:
			t.Errorf("User: %v", err)
		}
	}
	if users != 1 {
		t.Errorf("%d users were created, want 1", users)
	}
	ident, err := s.Identity(ctx, app, openid)
	must(t, err, "Identity")
	if ident.UserID != winner {
		t.Errorf("identity belongs to %s, want %s", ident.UserID, winner)
	}
	if u, err := s.UserByUnionID(ctx, unionid); err != nil || u.ID != winner {
		t.Errorf("UserByUnionID: %v, %v; want %s", u, err, winner)
	}
	if l, err := s.IdentitiesByUser(ctx, winner); err != nil || len(l) != 1 {
		t.Errorf("IdentitiesByUser: %d, %v; want 1 identity", len(l), err)
	}
}

var errUsed = errors.New("storetest: refresh token already used")

func testSpendRefreshToken(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createSession(t, s, "ses_1", "usr_1", t0)
	must(t, s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "hash-0", SessionID: "ses_1", CreatedAt: t0,
		ExpiresAt: at(time.Hour)}), "CreateRefreshToken")

	errs := race(workers, func(i int) error {
		return s.Update(ctx, func(tx wxlogin.Tx) error {
			rt, err := tx.RefreshToken(ctx, "hash-0")
			if err != nil {
				return err
			}
			if !rt.UsedAt.IsZero() {
				return errUsed
			}
			rt.UsedAt = at(time.Duration(i+1) * time.Second)
			if err := tx.UpdateRefreshToken(ctx, rt); err != nil {
				return err
			}
			return tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: fmt.Sprintf("hash-next-%02d", i),
				SessionID: "ses_1", CreatedAt: rt.UsedAt, ExpiresAt: at(time.Hour)})
		})
	})
	winner := oneWinner(t, errs, func(err error) bool { return errors.Is(err, errUsed) })
	if winner < 0 {
		return
	}
	rt, err := s.RefreshToken(ctx, "hash-0")
	must(t, err, "RefreshToken")
	if want := at(time.Duration(winner+1) * time.Second); !rt.UsedAt.Equal(want) {
		t.Errorf("UsedAt %v, want the winner's %v", rt.UsedAt, want)
	}
	for i := range workers {
		_, err := s.RefreshToken(ctx, fmt.Sprintf("hash-next-%02d", i))
		switch {
		case i == winner && err != nil:
			t.Errorf("the winner's next token: %v", err)
		case i != winner && wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND:
			t.Errorf("loser %d's next token: err %v, want ENOTFOUND", i, err)
		}
	}
}

var errBound = errors.New("storetest: identity bound to another user")

func testBindIdentity(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	for i := range workers {
		createUser(t, s, fmt.Sprintf("usr_%02d", i))
	}
	errs := race(workers, func(i int) error {
		me := fmt.Sprintf("usr_%02d", i)
		return s.Update(ctx, func(tx wxlogin.Tx) error {
			ident, err := tx.Identity(ctx, "wx_a", "open-1")
			switch {
			case err == nil && ident.UserID != me:
				return errBound
			case err == nil:
				return fmt.Errorf("identity already bound to %s before %s bound it", ident.UserID, me)
			case wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND:
				return err
			}
			return tx.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "open-1", UserID: me, CreatedAt: t0})
		})
	})
	winner := oneWinner(t, errs, func(err error) bool { return errors.Is(err, errBound) || isConflict(err) })
	if winner < 0 {
		return
	}
	ident, err := s.Identity(ctx, "wx_a", "open-1")
	must(t, err, "Identity")
	if want := fmt.Sprintf("usr_%02d", winner); ident.UserID != want {
		t.Errorf("identity bound to %s, want the winner %s", ident.UserID, want)
	}
	for i := range workers {
		if i == winner {
			continue
		}
		if l, err := s.IdentitiesByUser(ctx, fmt.Sprintf("usr_%02d", i)); err != nil || len(l) != 0 {
			t.Errorf("loser %d has %d identities (%v)", i, len(l), err)
		}
	}
}

func testCreateRaces(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	for i := range workers {
		createUser(t, s, fmt.Sprintf("usr_%02d", i))
	}
	tests := []struct {
		name  string
		fn    func(i int) error
		check func(t *testing.T, winner int)
	}{
		{"username", func(i int) error {
			return s.CreateAccount(ctx, &wxlogin.Account{UserID: fmt.Sprintf("usr_%02d", i), Username: "taken", PasswordHash: "h"})
		}, func(t *testing.T, winner int) {
			a, err := s.Account(ctx, "taken")
			if err != nil || a.UserID != fmt.Sprintf("usr_%02d", winner) {
				t.Errorf("Account: %v, %v; want the winner's", a, err)
			}
		}},
		{"identity", func(i int) error {
			return s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "open-1", UserID: fmt.Sprintf("usr_%02d", i)})
		}, func(t *testing.T, winner int) {
			x, err := s.Identity(ctx, "wx_a", "open-1")
			if err != nil || x.UserID != fmt.Sprintf("usr_%02d", winner) {
				t.Errorf("Identity: %v, %v; want the winner's", x, err)
			}
		}},
		{"unionid", func(i int) error {
			return s.CreateUser(ctx, &wxlogin.User{ID: fmt.Sprintf("usr_u%02d", i), UnionID: "union-1"})
		}, func(t *testing.T, winner int) {
			u, err := s.UserByUnionID(ctx, "union-1")
			if err != nil || u.ID != fmt.Sprintf("usr_u%02d", winner) {
				t.Errorf("UserByUnionID: %v, %v; want the winner's", u, err)
			}
		}},
		{"session id", func(i int) error {
			return s.CreateSession(ctx, &wxlogin.Session{ID: "ses_1", UserID: fmt.Sprintf("usr_%02d", i), ExpiresAt: at(time.Hour)})
		}, func(t *testing.T, winner int) {
			x, err := s.Session(ctx, "ses_1")
			if err != nil || x.UserID != fmt.Sprintf("usr_%02d", winner) {
				t.Errorf("Session: %v, %v; want the winner's", x, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if w := oneWinner(t, race(workers, tc.fn), isConflict); w >= 0 {
				tc.check(t, w)
			}
		})
	}
}

func testNoLostUpdates(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	must(t, s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_1", Username: "counter", PasswordHash: "h"}), "CreateAccount")

	// Readers poll the counter through the Store while the writers run.
	var stop atomic.Bool
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			last := 0
			for !stop.Load() {
				a, err := s.AccountByUser(ctx, "usr_1")
				if err != nil {
					t.Errorf("reader: %v", err)
					return
				}
				if a.FailedAttempts < last {
					t.Errorf("reader saw the counter go from %d down to %d", last, a.FailedAttempts)
				}
				last = a.FailedAttempts
				time.Sleep(time.Millisecond)
			}
		})
	}
	errs := race(workers, func(int) error {
		return s.Update(ctx, func(tx wxlogin.Tx) error {
			a, err := tx.AccountByUser(ctx, "usr_1")
			if err != nil {
				return err
			}
			a.FailedAttempts++
			return tx.UpdateAccount(ctx, a)
		})
	})
	stop.Store(true)
	readers.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	a, err := s.AccountByUser(ctx, "usr_1")
	must(t, err, "AccountByUser")
	if a.FailedAttempts != workers {
		t.Errorf("counter is %d after %d increments", a.FailedAttempts, workers)
	}
}
