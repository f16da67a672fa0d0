package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded migrations/*.sql file; its version is the file name without ".sql".
type migration struct {
	version string
	sql     string
}

// migrations returns the embedded migrations in the order they apply (by file name).
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		out = append(out, migration{version: version, sql: string(b)})
	}
	return out, nil
}

// migrateLock takes the transaction-scoped advisory lock that serializes Migrate calls on one
// schema (the first of search_path), from any number of processes; other schemas of the same
// database migrate independently. Advisory locks are per database, hence the schema in the key.
const migrateLock = `SELECT pg_advisory_xact_lock(2004380775, hashtext(coalesce(current_schema(), '')))`

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    text        NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies the embedded migrations that are not applied yet, in order, each in its own
// transaction together with its row in schema_migrations. It is idempotent, and safe to run from
// several processes at once: each transaction first takes an advisory lock (per schema), so one
// process applies a migration while the others wait and then find it applied.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: read migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.version, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	return pgx.BeginFunc(ctx, s.pool, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, migrateLock); err != nil {
			return err
		}
		if _, err := t.Exec(ctx, createMigrationsTable); err != nil {
			return err
		}
		var applied bool
		if err := t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
			m.version).Scan(&applied); err != nil {
			return err
		}
		if applied {
			return nil
		}
		if _, err := t.Exec(ctx, m.sql); err != nil { // no arguments: simple protocol, several statements
			return err
		}
		_, err := t.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version)
		return err
	})
}

// Migrated reports whether every embedded migration has been applied. A database (schema) with no
// schema_migrations table is simply not migrated (false, nil).
func (s *Store) Migrated(ctx context.Context) (bool, error) {
	ms, err := migrations()
	if err != nil {
		return false, fmt.Errorf("postgres: read migrations: %w", err)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return false, fmt.Errorf("postgres: check migrations: %w", err)
	}
	if !exists {
		return false, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return false, fmt.Errorf("postgres: check migrations: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, fmt.Errorf("postgres: check migrations: %w", err)
	}
	have := make(map[string]bool, len(applied))
	for _, v := range applied {
		have[v] = true
	}
	for _, m := range ms {
		if !have[m.version] {
			return false, nil
		}
	}
	return true, nil
}
