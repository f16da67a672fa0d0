package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/storetest"
)

// open opens a Store on a new file in t.TempDir() and closes it when the test ends.
func open(t *testing.T, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wxlogin.db")
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newStore(t *testing.T) wxlogin.Store {
	s, _ := open(t)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestStore(t *testing.T) { storetest.RunTests(t, newStore) }

func TestStoreConcurrency(t *testing.T) { storetest.RunConcurrencyTests(t, newStore) }

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	if ok, err := s.Migrated(ctx); err != nil || ok {
		t.Fatalf("Migrated before Migrate: %v, %v; want false, nil", ok, err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping before Migrate returned nil")
	}
	for i := range 2 { // idempotent
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if ok, err := s.Migrated(ctx); err != nil || !ok {
		t.Fatalf("Migrated after Migrate: %v, %v; want true, nil", ok, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after Migrate: %v", err)
	}
	ms, err := schema.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %d, %v", len(ms), err)
	}
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}

	// A database missing one migration is not migrated.
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = ?`, ms[len(ms)-1].Version); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Migrated(ctx); err != nil || ok {
		t.Errorf("Migrated with a migration unrecorded: %v, %v; want false, nil", ok, err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with a migration unrecorded returned nil")
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := t.Context()
	_, path := open(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(ctx, path)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(ctx)
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
}

func TestPingClosed(t *testing.T) {
	s := newStore(t).(*Store)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping on a closed store returned nil")
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wxlogin.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 5, 1, 12, 0, 0, 123456789, time.UTC)
	err = s.Update(ctx, func(tx wxlogin.Tx) error {
		if err := tx.CreateUser(ctx, &wxlogin.User{ID: "usr_1", UnionID: "u1", CreatedAt: created}); err != nil {
			return err
		}
		return tx.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "o1", UserID: "usr_1", SessionKey: []byte("sealed")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after reopening: %v", err)
	}
	u, err := s.UserByUnionID(ctx, "u1")
	if err != nil || u.ID != "usr_1" || !u.CreatedAt.Equal(created) {
		t.Fatalf("user after reopening: %+v, %v", u, err)
	}
	if u.CreatedAt.Nanosecond() != 123456789 {
		t.Errorf("nanoseconds after reopening: %d, want 123456789", u.CreatedAt.Nanosecond())
	}
	i, err := s.Identity(ctx, "wx_a", "o1")
	if err != nil || string(i.SessionKey) != "sealed" {
		t.Fatalf("identity after reopening: %+v, %v", i, err)
	}
}

func TestOpenPragmas(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	tests := []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.writer, "journal_mode", "wal"},
		{s.writer, "synchronous", "2"}, // FULL
		{s.writer, "foreign_keys", "1"},
		{s.writer, "busy_timeout", "5000"},
		{s.reader, "journal_mode", "wal"},
		{s.reader, "query_only", "1"},
		{s.reader, "foreign_keys", "1"},
	}
	for _, tc := range tests {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
	if got := s.writer.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections %d, want 1", got)
	}
}

func TestOpenRejectsPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?_pragma=foo", "file::memory:?cache=shared"} {
		s, err := Open(t.Context(), path)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) returned nil error", path)
			continue
		}
		if wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("Open(%q): %v, want EINVALID", path, err)
		}
	}
	// A directory that does not exist cannot hold the file.
	if s, err := Open(t.Context(), filepath.Join(t.TempDir(), "missing", "x.db")); err == nil {
		s.Close()
		t.Error("Open in a missing directory returned nil error")
	}
}

// lockFile holds the database's write lock from another connection (as another process would)
// until the returned function is called.
func lockFile(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

func TestUpdateRetriesWhenBusy(t *testing.T) {
	ctx := t.Context()
	s, path := open(t, WithBusyTimeout(20*time.Millisecond), WithMaxAttempts(50))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	release := lockFile(t, path)
	timer := time.AfterFunc(150*time.Millisecond, release)
	defer timer.Stop()

	calls := 0
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		calls++
		return tx.CreateUser(ctx, &wxlogin.User{ID: "usr_1"})
	})
	if err != nil {
		t.Fatalf("Update while another connection held the lock for a while: %v", err)
	}
	if _, err := s.User(ctx, "usr_1"); err != nil {
		t.Errorf("User after the retried Update: %v", err)
	}
	if calls != 1 {
		t.Errorf("fn ran %d times; the lock was held at BEGIN, so it should have run once", calls)
	}
}

func TestUpdateRetriesBusyFromFn(t *testing.T) {
	ctx := t.Context()
	s, path := open(t, WithBusyTimeout(0))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Another connection that, while our transaction holds the write lock, fails with SQLITE_BUSY.
	other, err := sql.Open("sqlite", path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	calls := 0
	err = s.Update(ctx, func(tx wxlogin.Tx) error {
		calls++
		if err := tx.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}); err != nil {
			return err
		}
		if calls == 1 {
			_, err := other.ExecContext(ctx, `INSERT INTO users (id) VALUES ('usr_other')`)
			if !isBusy(err) {
				t.Fatalf("the competing write got %v, want SQLITE_BUSY", err)
			}
			return err // a busy error out of fn: roll back and run fn again
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2", calls)
	}
	if _, err := s.User(ctx, "usr_1"); err != nil {
		t.Errorf("User after the retry: %v", err)
	}
}

func TestUpdateGivesUpWhenBusy(t *testing.T) {
	ctx := t.Context()
	s, path := open(t, WithBusyTimeout(5*time.Millisecond), WithMaxAttempts(3))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	release := lockFile(t, path)
	defer release()
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		return tx.CreateUser(ctx, &wxlogin.User{ID: "usr_1"})
	})
	if !isBusy(err) {
		t.Fatalf("Update under a lock that is never released: %v, want a busy error", err)
	}
	if wxlogin.ErrorCode(err) != wxlogin.EINTERNAL {
		t.Errorf("error code %q, want internal", wxlogin.ErrorCode(err))
	}
}

func TestUpdatePanicRollsBack(t *testing.T) {
	ctx := t.Context()
	s := newStore(t).(*Store)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic in fn did not reach the caller")
			}
		}()
		s.Update(ctx, func(tx wxlogin.Tx) error {
			if err := tx.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if _, err := s.User(ctx, "usr_1"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("User written by a panicking fn: %v, want ENOTFOUND", err)
	}
	// The writer connection is usable again.
	if err := s.CreateUser(ctx, &wxlogin.User{ID: "usr_2"}); err != nil {
		t.Errorf("CreateUser after the panic: %v", err)
	}
}

func TestTimeOutOfRange(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	for _, tm := range []time.Time{
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		err := s.CreateUser(ctx, &wxlogin.User{ID: "usr_1", CreatedAt: tm})
		if wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("CreateUser with CreatedAt %v: %v, want EINVALID", tm, err)
		}
	}
}

// One SQLite file serves one instance: the server must not count on other instances seeing it.
func TestShared(t *testing.T) {
	if newStore(t).Shared() {
		t.Error("Shared() = true, want false")
	}
}
