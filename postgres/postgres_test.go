package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/storetest"
)

// dsn returns the test database's connection string, skipping t when WXLOGIN_TEST_POSTGRES is unset.
func dsn(t *testing.T) string {
	t.Helper()
	d := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if d == "" {
		t.Skip("WXLOGIN_TEST_POSTGRES not set")
	}
	return d
}

// newSchema creates a schema with a random name and drops it (with everything in it) when the test
// ends, so that tests never share tables, and can run again and from parallel packages.
func newSchema(t *testing.T) string {
	t.Helper()
	d := dsn(t)
	b := make([]byte, 8)
	rand.Read(b)
	name := "wxl_test_" + hex.EncodeToString(b)
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, d)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(t.Context(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// open opens a Store on schema and closes it when the test ends.
func open(t *testing.T, schema string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn(t), append([]Option{WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newMigrated returns a migrated Store on a fresh schema.
func newMigrated(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s := open(t, newSchema(t), opts...)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func newStore(t *testing.T) wxlogin.Store { return newMigrated(t) }

func TestStore(t *testing.T) { storetest.RunTests(t, newStore) }

func TestStoreConcurrency(t *testing.T) { storetest.RunConcurrencyTests(t, newStore) }

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	s := open(t, newSchema(t))
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
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}

	// A database missing one migration is not migrated.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = $1`, ms[len(ms)-1].Version); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Migrated(ctx); err != nil || ok {
		t.Errorf("Migrated with a migration unrecorded: %v, %v; want false, nil", ok, err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with a migration unrecorded returned nil")
	}
}

// TestMigrateConcurrently runs Migrate from several Stores (as several instances would) on one
// empty schema at once: all succeed and the migrations are applied once.
func TestMigrateConcurrently(t *testing.T) {
	ctx := t.Context()
	name := newSchema(t)
	const n = 4
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = open(t, name)
	}
	errs := make(chan error, n)
	for _, s := range stores {
		go func() { errs <- s.Migrate(ctx) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	ms, _ := schema.Migrations()
	var rows int
	if err := stores[0].db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", rows, len(ms))
	}
	for i, s := range stores {
		if err := s.Ping(ctx); err != nil {
			t.Errorf("store %d: Ping: %v", i, err)
		}
	}
}

// TestSchemasAreSeparate checks that WithSchema keeps two stores on one database apart.
func TestSchemasAreSeparate(t *testing.T) {
	ctx := t.Context()
	a, b := newMigrated(t), newMigrated(t)
	if err := a.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.User(ctx, "usr_1"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("the other schema's user: %v, want ENOTFOUND", err)
	}
	if err := b.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}); err != nil {
		t.Errorf("the same id in another schema: %v", err)
	}
}

func TestPingClosed(t *testing.T) {
	s := newMigrated(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping on a closed store returned nil")
	}
}

func TestOpenErrors(t *testing.T) {
	dsn(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	const password = "pw-SECRETISH"
	s, err := Open(ctx, "postgres://u:"+password+"@127.0.0.1:5432/db?sslmode=bogus")
	if err == nil {
		s.Close()
		t.Fatal("Open with an unparsable DSN returned nil")
	}
	if wxlogin.ErrorCode(err) != wxlogin.EINVALID || strings.Contains(err.Error(), password) {
		t.Errorf("Open with an unparsable DSN: %v, want EINVALID without the password", err)
	}
	// Nothing listens on port 1.
	s, err = Open(ctx, "postgres://u:"+password+"@127.0.0.1:1/db?sslmode=disable&connect_timeout=5")
	if err == nil {
		s.Close()
		t.Fatal("Open on an unreachable server returned nil")
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("Open error %q holds the password", err)
	}
}

func TestWithMaxConns(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{0, 2}, {1, 2}, {3, 3}} {
		s := open(t, newSchema(t), WithMaxConns(tc.n))
		if got := s.db.Stats().MaxOpenConnections; int(got) != tc.want {
			t.Errorf("WithMaxConns(%d): MaxConns %d, want %d", tc.n, got, tc.want)
		}
	}
	s := open(t, newSchema(t))
	if got := s.db.Stats().MaxOpenConnections; got != 4 {
		t.Errorf("default MaxConns %d, want 4", got)
	}
}

// setupCounter stores user usr_1 with an account whose FailedAttempts serves as a counter.
func setupCounter(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_1", Username: "counter"}); err != nil {
		t.Fatal(err)
	}
}

// bump increments the counter inside tx; when interfere is set, another connection increments it
// between the read and the write, which makes the write fail with a serialization failure.
func bump(ctx context.Context, s *Store, tx wxlogin.Tx, interfere bool) error {
	a, err := tx.AccountByUser(ctx, "usr_1")
	if err != nil {
		return err
	}
	if interfere {
		if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET failed_attempts = failed_attempts + 100`); err != nil {
			return fmt.Errorf("interfering update: %w", err)
		}
	}
	a.FailedAttempts++
	return tx.UpdateAccount(ctx, a)
}

func counter(t *testing.T, s *Store) int {
	t.Helper()
	a, err := s.AccountByUser(t.Context(), "usr_1")
	if err != nil {
		t.Fatal(err)
	}
	return a.FailedAttempts
}

func TestUpdateRetriesSerializationFailure(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		// wrap turns the Tx method's error into what fn returns.
		wrap func(error) error
	}{
		{"error returned as is", func(err error) error { return err }},
		{"error replaced by fn", func(err error) error { return errors.New("something went wrong") }},
		{"error swallowed by fn", func(error) error { return nil }}, // the commit then fails
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newMigrated(t)
			setupCounter(t, s)
			calls := 0
			err := s.Update(ctx, func(tx wxlogin.Tx) error {
				calls++
				if err := bump(ctx, s, tx, calls == 1); err != nil {
					if calls == 1 && !isRetryable(err) {
						t.Errorf("the conflicting write returned %v, want a serialization failure", err)
					}
					return tc.wrap(err)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if calls != 2 {
				t.Errorf("fn ran %d times, want 2", calls)
			}
			if got := counter(t, s); got != 101 {
				t.Errorf("counter %d, want 101 (the interfering +100, then one retried +1)", got)
			}
		})
	}
}

func TestUpdateGivesUp(t *testing.T) {
	ctx := t.Context()
	s := newMigrated(t, WithMaxAttempts(3))
	setupCounter(t, s)
	calls := 0
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		calls++
		return bump(ctx, s, tx, true)
	})
	if !isRetryable(err) {
		t.Fatalf("Update that always conflicts: %v, want the serialization failure", err)
	}
	if wxlogin.ErrorCode(err) != wxlogin.EOVERLOADED || wxlogin.RetryAfter(err) <= 0 {
		t.Errorf("error code %q (retry after %v), want overloaded with a Retry-After: contention is not a server failure",
			wxlogin.ErrorCode(err), wxlogin.RetryAfter(err))
	}
	if calls != 3 {
		t.Errorf("fn ran %d times, want 3", calls)
	}
	if got := counter(t, s); got != 300 {
		t.Errorf("counter %d, want 300 (only the interfering updates)", got)
	}
}

func TestUpdateDoesNotRetryOtherErrors(t *testing.T) {
	ctx := t.Context()
	s := newMigrated(t)
	calls := 0
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		calls++
		if err := tx.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}); err != nil {
			return err
		}
		return tx.CreateUser(ctx, &wxlogin.User{ID: "usr_1"})
	})
	if wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
		t.Errorf("Update: %v, want ECONFLICT", err)
	}
	if calls != 1 {
		t.Errorf("fn ran %d times, want 1", calls)
	}
}

func TestUpdatePanicRollsBack(t *testing.T) {
	ctx := t.Context()
	s := newMigrated(t, WithMaxConns(2))
	for range 3 { // more panics than connections: each one must give its connection back
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
	}
	if _, err := s.User(ctx, "usr_1"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("User written by a panicking fn: %v, want ENOTFOUND", err)
	}
	err := s.Update(ctx, func(tx wxlogin.Tx) error { return tx.CreateUser(ctx, &wxlogin.User{ID: "usr_2"}) })
	if err != nil {
		t.Errorf("Update after the panics: %v", err)
	}
}

func TestTimes(t *testing.T) {
	ctx := t.Context()
	s := newMigrated(t)
	for _, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		err := s.CreateUser(ctx, &wxlogin.User{ID: "usr_1", CreatedAt: tm})
		if wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("CreateUser with CreatedAt %v: %v, want EINVALID", tm, err)
		}
	}
	// Nanoseconds are truncated to microseconds; the extremes of the range are stored.
	tests := []struct{ in, want time.Time }{
		{time.Date(2025, 5, 1, 12, 0, 0, 123456789, time.UTC), time.Date(2025, 5, 1, 12, 0, 0, 123456000, time.UTC)},
		{time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	}
	for i, tc := range tests {
		id := fmt.Sprintf("usr_t%d", i)
		if err := s.CreateUser(ctx, &wxlogin.User{ID: id, CreatedAt: tc.in}); err != nil {
			t.Fatalf("CreateUser with CreatedAt %v: %v", tc.in, err)
		}
		u, err := s.User(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !u.CreatedAt.Equal(tc.want) || u.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt %v came back as %v, want %v", tc.in, u.CreatedAt, tc.want)
		}
	}
}

func TestInvalidStrings(t *testing.T) {
	ctx := t.Context()
	s := newMigrated(t)
	for _, nick := range []string{"nul\x00byte", "bad utf-8 \xff"} {
		err := s.CreateUser(ctx, &wxlogin.User{ID: "usr_1", Nickname: nick})
		if wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("CreateUser with nickname %q: %v, want EINVALID", nick, err)
		}
	}
}

// Several instances may share one PostgreSQL database.
func TestShared(t *testing.T) {
	if !newStore(t).Shared() {
		t.Error("Shared() = false, want true")
	}
}
