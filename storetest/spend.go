package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// testSpendRefreshToken pins SpendRefreshToken: the first spend sets UsedAt and says so, a second
// returns the token as the first left it, a missing hash is ENOTFOUND, a zero time EINVALID, and a
// spend rolled back with its transaction is undone.
func testSpendRefreshTokenOnce(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createSession(t, s, "ses_1", "usr_1", t0)
	rt := &wxlogin.RefreshToken{Hash: "hash-1", SessionID: "ses_1", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")

	errRollback := errors.New("roll back")
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		if _, spent, err := tx.SpendRefreshToken(ctx, "hash-1", at(time.Minute)); err != nil || !spent {
			return fmt.Errorf("spend in a rolled-back transaction: spent %v, err %v", spent, err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v", err)
	}
	if got, err := s.RefreshToken(ctx, "hash-1"); err != nil || !got.UsedAt.IsZero() {
		t.Errorf("after a rolled-back spend: %+v, %v; want it unused", got, err)
	}

	got, spent, err := s.SpendRefreshToken(ctx, "hash-1", at(2*time.Minute))
	must(t, err, "SpendRefreshToken")
	want := *rt
	want.UsedAt = at(2 * time.Minute)
	if !spent {
		t.Errorf("first spend: spent false")
	}
	same(t, "first spend", got, &want)
	if stored, err := s.RefreshToken(ctx, "hash-1"); err == nil {
		same(t, "stored after the spend", stored, &want)
	} else {
		t.Errorf("RefreshToken: %v", err)
	}

	got, spent, err = s.SpendRefreshToken(ctx, "hash-1", at(3*time.Minute))
	must(t, err, "second SpendRefreshToken")
	if spent {
		t.Errorf("second spend: spent true")
	}
	same(t, "second spend", got, &want)

	_, _, err = s.SpendRefreshToken(ctx, "hash-missing", at(time.Minute))
	wantCode(t, err, wxlogin.ENOTFOUND, "SpendRefreshToken of a missing hash")
	_, _, err = s.SpendRefreshToken(ctx, "hash-1", time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "SpendRefreshToken at a zero time")
}

// testTouchSession pins TouchSession: an active session gets LastSeenAt, ExpiresAt and (unless
// "") IP; a revoked, expired or missing one is ENOTFOUND and left as it was.
func testTouchSession(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	sess := createSession(t, s, "ses_1", "usr_1", t0) // expires at t0+24h
	sess.IP, sess.UserAgent = "198.51.100.1", "ua"
	must(t, s.UpdateSession(ctx, sess), "UpdateSession")

	got, err := s.TouchSession(ctx, "ses_1", at(time.Hour), at(48*time.Hour), "")
	must(t, err, "TouchSession")
	want := *sess
	want.LastSeenAt, want.ExpiresAt = at(time.Hour), at(48*time.Hour)
	same(t, "touched without an ip", got, &want)

	got, err = s.TouchSession(ctx, "ses_1", at(2*time.Hour), at(50*time.Hour), "203.0.113.9")
	must(t, err, "TouchSession with an ip")
	want.LastSeenAt, want.ExpiresAt, want.IP = at(2*time.Hour), at(50*time.Hour), "203.0.113.9"
	same(t, "touched with an ip", got, &want)
	if stored, err := s.Session(ctx, "ses_1"); err == nil {
		same(t, "stored after the touch", stored, &want)
	} else {
		t.Errorf("Session: %v", err)
	}

	_, err = s.TouchSession(ctx, "ses_1", at(50*time.Hour), at(80*time.Hour), "")
	wantCode(t, err, wxlogin.ENOTFOUND, "TouchSession of an expired session")
	_, err = s.TouchSession(ctx, "ses_missing", at(time.Hour), at(2*time.Hour), "")
	wantCode(t, err, wxlogin.ENOTFOUND, "TouchSession of a missing session")

	want.RevokedAt = at(3 * time.Hour)
	must(t, s.UpdateSession(ctx, &want), "UpdateSession (revoke)")
	_, err = s.TouchSession(ctx, "ses_1", at(4*time.Hour), at(60*time.Hour), "")
	wantCode(t, err, wxlogin.ENOTFOUND, "TouchSession of a revoked session")
	if stored, err := s.Session(ctx, "ses_1"); err == nil {
		same(t, "revoked session after a refused touch", stored, &want)
	} else {
		t.Errorf("Session: %v", err)
	}
	_, err = s.TouchSession(ctx, "ses_1", time.Time{}, at(60*time.Hour), "")
	wantCode(t, err, wxlogin.EINVALID, "TouchSession at a zero time")
}

// testSpendRefreshTokenRace: workers spend one token at once with SpendRefreshToken (the
// one-statement spend the refresh flow uses, in UpdateRows when the store is a RowUpdater, else
// Update), each chaining a successor when it spent it; exactly one spends it, the others see it
// already used, and only the winner's successor is stored.
func testSpendRefreshTokenRace(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	createSession(t, s, "ses_1", "usr_1", t0)
	must(t, s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "hash-0", SessionID: "ses_1", CreatedAt: t0,
		ExpiresAt: at(time.Hour)}), "CreateRefreshToken")

	update := s.Update
	if ru, ok := s.(wxlogin.RowUpdater); ok {
		update = ru.UpdateRows // what the refresh flow uses when the store offers it
	}
	errs := race(workers, func(i int) error {
		return update(ctx, func(tx wxlogin.Tx) error {
			when := at(time.Duration(i+1) * time.Second)
			rt, spent, err := tx.SpendRefreshToken(ctx, "hash-0", when)
			if err != nil {
				return err
			}
			if !spent {
				if rt.UsedAt.IsZero() {
					return fmt.Errorf("not spent, yet UsedAt is zero")
				}
				return errUsed
			}
			if !rt.UsedAt.Equal(when) {
				return fmt.Errorf("spent with UsedAt %v, want %v", rt.UsedAt, when)
			}
			return tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: fmt.Sprintf("hash-next-%02d", i),
				SessionID: "ses_1", CreatedAt: when, ExpiresAt: at(time.Hour)})
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
