package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/wxlogin/wxlogin"
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
	err = insertRows(ctx, t, "users", userCols, len(users), func(i int) []any {
		u := users[i]
		return []any{u.ID, u.Nickname, u.AvatarURL, u.UnionID, u.Phone, u.PhoneCountryCode,
			timeArg(u.PhoneVerifiedAt), boolArg(u.Disabled), timeArg(u.CreatedAt), timeArg(u.UpdatedAt)}
	})
	if err == nil {
		err = insertRows(ctx, t, "wechat_identities", identityCols, len(ids), func(i int) []any {
			id := ids[i]
			return []any{id.AppID, id.OpenID, id.UnionID, id.UserID, id.SessionKey, timeArg(id.SessionKeyUpdatedAt),
				timeArg(id.CreatedAt), timeArg(id.UpdatedAt)}
		})
	}
	if err == nil {
		err = insertRows(ctx, t, "sessions", sessionCols, len(sessions), func(i int) []any {
			x := sessions[i]
			return []any{x.ID, x.UserID, x.AppID, x.Method, x.UserAgent, x.IP, timeArg(x.CreatedAt),
				timeArg(x.LastSeenAt), timeArg(x.ExpiresAt), timeArg(x.RevokedAt)}
		})
	}
	if err == nil {
		err = insertRows(ctx, t, "refresh_tokens", refreshCols, len(tokens), func(i int) []any {
			x := tokens[i]
			return []any{x.Hash, x.SessionID, timeArg(x.CreatedAt), timeArg(x.ExpiresAt), timeArg(x.UsedAt)}
		})
	}
	if err != nil {
		return dbErr("seed", "user or session", err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// insertRows inserts n rows of cols into table, up to seedChunk rows per statement.
func insertRows(ctx context.Context, t *sql.Tx, table, cols string, n int, row func(i int) []any) error {
	const seedChunk = 200
	ncols := strings.Count(cols, ",") + 1
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, seedChunk*ncols)
	for start := 0; start < n; start += seedChunk {
		end := min(start+seedChunk, n)
		args = args[:0]
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		q := "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", ")
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
