package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin"
)

// Seed writes users, identities, sessions and refresh tokens in one transaction with COPY (parents
// first, so the foreign keys hold). It is for loading large test and benchmark data sets fast
// (`wxlogin seed`); it checks nothing the schema does not, and a clash with an existing row fails
// the whole batch with ECONFLICT.
func (s *Store) Seed(ctx context.Context, users []*wxlogin.User, ids []*wxlogin.Identity, sessions []*wxlogin.Session, tokens []*wxlogin.RefreshToken) error {
	pgTx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx))
	copyRows := func(table, cols string, n int, row func(i int) []any) error {
		var names []string
		for _, c := range strings.Split(cols, ",") {
			names = append(names, strings.TrimSpace(c))
		}
		_, err := pgTx.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromSlice(n, func(i int) ([]any, error) { return row(i), nil }))
		return err
	}
	err = copyRows("users", userCols, len(users), func(i int) []any {
		u := users[i]
		return []any{u.ID, u.Nickname, u.AvatarURL, u.UnionID, u.Phone, u.PhoneCountryCode,
			timeArg(u.PhoneVerifiedAt), u.Disabled, timeArg(u.CreatedAt), timeArg(u.UpdatedAt)}
	})
	if err == nil {
		err = copyRows("wechat_identities", identityCols, len(ids), func(i int) []any {
			id := ids[i]
			return []any{id.AppID, id.OpenID, id.UnionID, id.UserID, id.SessionKey, timeArg(id.SessionKeyUpdatedAt),
				timeArg(id.CreatedAt), timeArg(id.UpdatedAt)}
		})
	}
	if err == nil {
		err = copyRows("sessions", sessionCols, len(sessions), func(i int) []any {
			x := sessions[i]
			return []any{x.ID, x.UserID, x.AppID, x.Method, x.UserAgent, x.IP, timeArg(x.CreatedAt),
				timeArg(x.LastSeenAt), timeArg(x.ExpiresAt), timeArg(x.RevokedAt)}
		})
	}
	if err == nil {
		err = copyRows("refresh_tokens", refreshCols, len(tokens), func(i int) []any {
			x := tokens[i]
			return []any{x.Hash, x.SessionID, timeArg(x.CreatedAt), timeArg(x.ExpiresAt), timeArg(x.UsedAt)}
		})
	}
	if err != nil {
		return (&tx{}).dbErr("seed", "user or session", err)
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}
