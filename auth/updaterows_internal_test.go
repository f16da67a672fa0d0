package auth

import (
	"context"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// rowUpdater is a store offering UpdateRows (as PostgreSQL does); it counts the calls and runs
// them as Update.
type rowUpdater struct {
	wxlogin.Store
	calls int
}

func (r *rowUpdater) UpdateRows(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	r.calls++
	return r.Store.Update(ctx, fn)
}

// TestUpdateRowsInvalidates: updateRows goes to the store's UpdateRows when it has one, and the
// writes of that transaction invalidate the cache as Update's do.
func TestUpdateRowsInvalidates(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	ru := &rowUpdater{Store: f.cs.Store}
	f.cs.Store = ru
	err := f.cs.updateRows(ctx, func(tx wxlogin.Tx) error {
		_, err := tx.TouchSession(ctx, f.s, f.now, f.now.Add(2*time.Hour), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ru.calls != 1 {
		t.Errorf("UpdateRows called %d times, want 1", ru.calls)
	}
	if f.cached(keySession + f.s) {
		t.Errorf("the touched session is still cached")
	}
}

// TestUpdateRowsFallsBack: on a store without UpdateRows (SQLite), updateRows is Update, and
// invalidates too.
func TestUpdateRowsFallsBack(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	if _, ok := f.cs.Store.(wxlogin.RowUpdater); ok {
		t.Fatal("the fixture's store offers UpdateRows: this test needs one that does not")
	}
	err := f.cs.updateRows(ctx, func(tx wxlogin.Tx) error {
		_, err := tx.TouchSession(ctx, f.s, f.now, f.now.Add(2*time.Hour), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.cached(keySession + f.s) {
		t.Errorf("the touched session is still cached")
	}
}
