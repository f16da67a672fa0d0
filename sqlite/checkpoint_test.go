package sqlite

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The writer never checkpoints (that would stall every Update of its batch); the checkpointer
// copies the WAL into the database file beside it.
func TestCheckpointerCopiesWAL(t *testing.T) {
	st, path := open(t)
	ctx := t.Context()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := st.writer.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	// Let the checkpointer settle the migrations, then note the file's size.
	if _, err := st.checkpoints.checkpoint("PASSIVE"); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, path)
	now := time.Now().UTC()
	if err := st.Update(ctx, func(tx wxlogin.Tx) error {
		for i := range 3000 {
			if err := tx.CreateUser(ctx, &wxlogin.User{ID: fmt.Sprintf("usr_%05d", i), Nickname: "someone with a name", CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); fileSize(t, path) <= before; {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes: the WAL was not checkpointed", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := st.User(ctx, "usr_02999"); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
