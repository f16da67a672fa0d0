package postgres

import (
	"context"
	"embed"

	"github.com/wxlogin/wxlogin/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// schema is the embedded migrations/*.sql and PostgreSQL's bookkeeping of them, in the first schema
// of search_path. Each migration's transaction first takes a transaction-scoped advisory lock, so
// one process applies a migration while the others wait and then find it applied; advisory locks
// are per database, hence the schema in the key (other schemas migrate independently).
var schema = sqlstore.Schema{FS: migrationFS,
	Lock: `SELECT pg_advisory_xact_lock(2004380775, hashtext(coalesce(current_schema(), '')))`,
	Create: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    text        NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`,
	Exists: `SELECT count(to_regclass('schema_migrations'))`,
}

// Migrate applies the embedded migrations not applied yet (see sqlstore.Dialect.Migrate): it is
// idempotent, and safe to run from several processes at once.
func (s *Store) Migrate(ctx context.Context) error { return dialect.Migrate(ctx, s.db, schema) }

// Migrated reports whether every embedded migration has been applied (false, nil when none is).
func (s *Store) Migrated(ctx context.Context) (bool, error) {
	return dialect.Migrated(ctx, s.db, schema)
}
