package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Migration is one migrations/*.sql file; its version is the file name without ".sql".
type Migration struct{ Version, SQL string }

// Schema is a store's migrations and the statements its engine keeps track of them with.
type Schema struct {
	FS     fs.FS  // holds migrations/*.sql, applied in name order
	Create string // creates schema_migrations (version text primary key, applied_at time) if missing
	Lock   string // when not "", run first in each migration's transaction: serializes Migrate calls
	Exists string // a query returning how many schema_migrations tables there are (0 or 1)
}

// Migrations returns the migrations of s, in the order they apply.
func (s Schema) Migrations() ([]Migration, error) {
	names, err := fs.Glob(s.FS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, name := range names {
		b, err := fs.ReadFile(s.FS, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql"), string(b)})
	}
	return out, nil
}

// Migrate applies the migrations of s that db has not applied yet, in order, each in its own
// transaction together with its row in schema_migrations. It is idempotent, and safe to run from
// several processes at once as long as each migration's transaction excludes the others while it
// checks whether the migration is applied (a write lock taken at BEGIN, or s.Lock).
func (d *Dialect) Migrate(ctx context.Context, db *sql.DB, s Schema) error {
	ms, err := s.Migrations()
	if err != nil {
		return fmt.Errorf("%s: read migrations: %w", d.Name, err)
	}
	for _, m := range ms {
		if err := d.apply(ctx, db, s, m); err != nil {
			return fmt.Errorf("%s: migration %s: %w", d.Name, m.Version, err)
		}
	}
	return nil
}

func (d *Dialect) apply(ctx context.Context, db *sql.DB, s Schema, m Migration) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	for _, stmt := range []string{s.Lock, s.Create} {
		if stmt == "" {
			continue
		}
		if _, err := t.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	var n int
	if err := t.QueryRowContext(ctx, d.Q(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := t.ExecContext(ctx, m.SQL); err != nil { // no arguments: several statements may run
		return err
	}
	if _, err := t.ExecContext(ctx, d.Q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		m.Version, d.Time(time.Now())); err != nil {
		return err
	}
	return t.Commit()
}

// Migrated reports whether db has applied every migration of s. A database with no
// schema_migrations table is simply not migrated (false, nil).
func (d *Dialect) Migrated(ctx context.Context, db *sql.DB, s Schema) (bool, error) {
	ms, err := s.Migrations()
	if err != nil {
		return false, fmt.Errorf("%s: read migrations: %w", d.Name, err)
	}
	var exists int
	if err := db.QueryRowContext(ctx, s.Exists).Scan(&exists); err != nil || exists == 0 {
		return false, d.wrap("check migrations", err)
	}
	args := make([]any, len(ms))
	for i, m := range ms {
		args[i] = m.Version
	}
	q := `SELECT count(*) FROM schema_migrations WHERE version IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(ms)), ", ") + `)`
	var n int
	if err := db.QueryRowContext(ctx, d.Q(q), args...).Scan(&n); err != nil {
		return false, d.wrap("check migrations", err)
	}
	return n == len(ms), nil
}

// Ping returns nil when every db answers and the last has applied every migration of s, and an
// error otherwise.
func (d *Dialect) Ping(ctx context.Context, s Schema, dbs ...*sql.DB) error {
	for _, db := range dbs {
		if err := db.PingContext(ctx); err != nil {
			return d.wrap("ping", err)
		}
	}
	ok, err := d.Migrated(ctx, dbs[len(dbs)-1], s)
	if err == nil && !ok {
		err = fmt.Errorf("%s: database is not migrated", d.Name)
	}
	return err
}

// wrap returns err, when not nil, as an error of the store during op.
func (d *Dialect) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", d.Name, op, err)
}

// Backoff runs attempt until it returns retry=false, or max times; between two runs it waits a
// jittered, doubling time (from first, at most limit), first calling retrying with the number of
// the attempt that failed. It returns the last attempt's error and whether that attempt still
// asked for a retry (every attempt was used). It gives up early, with the attempt's error, when
// ctx ends.
func Backoff(ctx context.Context, max int, first, limit time.Duration, attempt func() (retry bool, err error), retrying func(n int)) (exhausted bool, err error) {
	backoff := first
	for n := 1; ; n++ {
		retry, err := attempt()
		if err == nil || !retry || ctx.Err() != nil {
			return false, err
		}
		if n >= max {
			return true, err
		}
		retrying(n)
		wait := backoff/2 + rand.N(backoff) // jitter, so competing transactions do not retry in step
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false, err
		case <-timer.C:
		}
		backoff = min(2*backoff, limit)
	}
}

// SeedTable is one table of a bulk load: its columns and n rows as the dialect binds them.
type SeedTable struct {
	Name, Cols string // Cols: comma-separated
	N          int
	Row        func(i int) []any
}

// SeedTables returns the tables a bulk load of users, identities, sessions and refresh tokens
// writes, parents first so the foreign keys hold.
func (d *Dialect) SeedTables(users []*wxlogin.User, ids []*wxlogin.Identity, sessions []*wxlogin.Session, tokens []*wxlogin.RefreshToken) []SeedTable {
	return []SeedTable{
		{"users", userCols, len(users), func(i int) []any { return d.userRow(users[i]) }},
		{"wechat_identities", identityCols, len(ids), func(i int) []any { return d.identityRow(ids[i]) }},
		{"sessions", sessionCols, len(sessions), func(i int) []any { return d.sessionRow(sessions[i]) }},
		{"refresh_tokens", refreshCols, len(tokens), func(i int) []any { return d.refreshRow(tokens[i]) }},
	}
}
