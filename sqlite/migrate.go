package sqlite

import (
	"context"
	"embed"

	"github.com/wxlogin/wxlogin/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// schema is the embedded migrations/*.sql and SQLite's bookkeeping of them. Migrate needs no
// lock: each migration's transaction begins IMMEDIATE (see _txlock in Open), so it holds the
// write lock while it checks whether the migration is applied.
var schema = sqlstore.Schema{FS: migrationFS,
	Create: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    TEXT    NOT NULL PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`,
	Exists: `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`,
}

// Migrate applies the embedded migrations not applied yet (see sqlstore.Dialect.Migrate): it is
// idempotent, and safe to run from several processes at once.
func (s *Store) Migrate(ctx context.Context) error { return dialect.Migrate(ctx, s.writer, schema) }

// Migrated reports whether every embedded migration has been applied (false, nil when none is).
func (s *Store) Migrated(ctx context.Context) (bool, error) {
	return dialect.Migrated(ctx, s.reader, schema)
}
