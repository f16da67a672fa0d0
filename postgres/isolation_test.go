package postgres

import (
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TestUpdateIsolation: Update is SERIALIZABLE (a transaction keeps its snapshot: a change committed
// meanwhile is not seen), UpdateRows READ COMMITTED (each statement sees what was committed before
// it), which is what lets refreshes of different sessions not conflict.
func TestUpdateIsolation(t *testing.T) {
	s := newMigrated(t)
	ctx := t.Context()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.CreateUser(ctx, &wxlogin.User{ID: "usr_1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	sess := &wxlogin.Session{ID: "ses_1", UserID: "usr_1", Method: "password", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		update    func(fn func(tx wxlogin.Tx) error) error
		seesNewIP bool
	}{
		{"Update", func(fn func(tx wxlogin.Tx) error) error { return s.Update(ctx, fn) }, false},
		{"UpdateRows", func(fn func(tx wxlogin.Tx) error) error { return s.UpdateRows(ctx, fn) }, true},
	} {
		ip := "198.51.100." + map[bool]string{false: "1", true: "2"}[c.seesNewIP]
		err := c.update(func(tx wxlogin.Tx) error {
			if _, err := tx.Session(ctx, "ses_1"); err != nil { // takes the snapshot
				return err
			}
			other := *sess
			other.IP = ip
			if err := s.UpdateSession(ctx, &other); err != nil { // another connection, committed
				return err
			}
			got, err := tx.Session(ctx, "ses_1")
			if err != nil {
				return err
			}
			if saw := got.IP == ip; saw != c.seesNewIP {
				t.Errorf("%s: the second read saw IP %q; want the committed change seen: %v", c.name, got.IP, c.seesNewIP)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}
