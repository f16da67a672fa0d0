package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
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

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    TEXT    NOT NULL PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`

// Migrate applies the embedded migrations that are not applied yet, in order, each in its own
// transaction together with its row in schema_migrations. It is idempotent, and safe to run from
// several processes at once (each migration's transaction holds the write lock while it checks
// whether the migration is applied).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("sqlite: read migrations: %w", err)
	}
	if _, err := s.writer.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.version, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	t, err := s.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see _txlock in Open)
	if err != nil {
		return err
	}
	defer t.Rollback()
	var n int
	if err := t.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := t.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.version, time.Now().UnixNano()); err != nil {
		return err
	}
	return t.Commit()
}

// Migrated reports whether every embedded migration has been applied. A database with no
// schema_migrations table is simply not migrated (false, nil).
func (s *Store) Migrated(ctx context.Context) (bool, error) {
	ms, err := migrations()
	if err != nil {
		return false, fmt.Errorf("sqlite: read migrations: %w", err)
	}
	var exists int
	err = s.reader.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("sqlite: check migrations: %w", err)
	}
	if exists == 0 {
		return false, nil
	}
	applied := map[string]bool{}
	rows, err := s.reader.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return false, fmt.Errorf("sqlite: check migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return false, fmt.Errorf("sqlite: check migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("sqlite: check migrations: %w", err)
	}
	for _, m := range ms {
		if !applied[m.version] {
			return false, nil
		}
	}
	return true, nil
}
