package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/sqlstore"
)

// Seed writes users, identities, sessions and refresh tokens in one transaction, with multi-row
// INSERTs (parents first, so the foreign keys hold). It is for loading large test and benchmark
// data sets fast (`wxlogin seed`); it checks nothing the schema does not, and a clash with an
// existing row fails the whole batch with ECONFLICT. The first call raises the writer connection's
// page cache to 256 MiB (random keys of a large table otherwise miss it on nearly every insert);
// it stays so while the Store is open.
func (s *Store) Seed(ctx context.Context, users []*wxlogin.User, ids []*wxlogin.Identity, sessions []*wxlogin.Session, tokens []*wxlogin.RefreshToken) error {
	if _, err := s.writer.ExecContext(ctx, "PRAGMA cache_size = -262144"); err != nil {
		return fmt.Errorf("sqlite: seed: %w", err)
	}
	t, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer t.Rollback()
	for _, table := range dialect.SeedTables(users, ids, sessions, tokens) {
		if err := insertRows(ctx, t, table); err != nil {
			return dialect.Err("seed", "user or session", err)
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// insertRows inserts the rows of table, up to seedChunk rows per statement.
func insertRows(ctx context.Context, t *sql.Tx, table sqlstore.SeedTable) error {
	const seedChunk = 200
	ncols := strings.Count(table.Cols, ",") + 1
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, seedChunk*ncols)
	for start := 0; start < table.N; start += seedChunk {
		end := min(start+seedChunk, table.N)
		args = args[:0]
		for i := start; i < end; i++ {
			args = append(args, table.Row(i)...)
		}
		q := "INSERT INTO " + table.Name + " (" + table.Cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", ")
		var err error
		if end-start == seedChunk {
			if full == nil {
				if full, err = t.PrepareContext(ctx, q); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = t.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
