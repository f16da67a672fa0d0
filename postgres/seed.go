package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/wxlogin/wxlogin"
)

// Seed writes users, identities, sessions and refresh tokens in one transaction with COPY (parents
// first, so the foreign keys hold). It is for loading large test and benchmark data sets fast
// (`wxlogin seed`); it checks nothing the schema does not, and a clash with an existing row fails
// the whole batch with ECONFLICT.
func (s *Store) Seed(ctx context.Context, users []*wxlogin.User, ids []*wxlogin.Identity, sessions []*wxlogin.Session, tokens []*wxlogin.RefreshToken) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: seed: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error { // COPY is pgx's own, under database/sql
		pgTx, err := driverConn.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("postgres: begin: %w", err)
		}
		defer pgTx.Rollback(context.WithoutCancel(ctx))
		for _, t := range dialect.SeedTables(users, ids, sessions, tokens) {
			cols := strings.Fields(strings.ReplaceAll(t.Cols, ",", " "))
			rows := pgx.CopyFromSlice(t.N, func(i int) ([]any, error) { return t.Row(i), nil })
			if _, err := pgTx.CopyFrom(ctx, pgx.Identifier{t.Name}, cols, rows); err != nil {
				return dialect.Err("seed", "user or session", err)
			}
		}
		if err := pgTx.Commit(ctx); err != nil {
			return fmt.Errorf("postgres: commit: %w", err)
		}
		return nil
	})
}
