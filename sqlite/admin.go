package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// pruneBatch is how many rows one DELETE statement of a prune removes: on the Store (outside
// Update) each batch is its own short write transaction, so a large prune never holds the single
// writer for long.
const pruneBatch = 5000

// Users returns the users f selects, ordered by ID: every non-empty field of f must match (see
// wxlogin.UserFilter), After keeps IDs above it, and at most Limit users come back (100 when
// Limit <= 0).
func (t *tx) Users(ctx context.Context, f wxlogin.UserFilter) ([]*wxlogin.User, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if f.ID != "" {
		add("id = ?", f.ID)
	}
	if f.Username != "" {
		add("id IN (SELECT user_id FROM accounts WHERE username = ?)", f.Username)
	}
	switch {
	case f.OpenID != "" && f.AppID != "":
		add("id IN (SELECT user_id FROM wechat_identities WHERE appid = ? AND openid = ?)", f.AppID, f.OpenID)
	case f.OpenID != "":
		add("id IN (SELECT user_id FROM wechat_identities WHERE openid = ?)", f.OpenID)
	case f.AppID != "":
		add("id IN (SELECT user_id FROM wechat_identities WHERE appid = ?)", f.AppID)
	}
	if f.UnionID != "" {
		add("(unionid = ? OR id IN (SELECT user_id FROM wechat_identities WHERE unionid = ?))", f.UnionID, f.UnionID)
	}
	if f.Phone != "" {
		add("phone = ?", f.Phone)
	}
	if f.CountryCode != "" {
		add("phone_country_code = ? AND phone <> ''", f.CountryCode)
	}
	if f.After != "" {
		add("id > ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + userCols + ` FROM users`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)

	rows, err := t.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr("find users", "", err)
	}
	defer rows.Close()
	out := []*wxlogin.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, dbErr("find users", "", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("find users", "", err)
	}
	return out, nil
}

// PruneAuditEvents deletes the audit events with Time before before (a zero before is EINVALID)
// and returns how many, in batches of pruneBatch.
func (t *tx) PruneAuditEvents(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune audit events", `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE time < ? LIMIT ?)`, timeArg(before))
}

// PruneSessions deletes the sessions revoked before before or expiring before before, and (by ON
// DELETE CASCADE) their refresh tokens; it returns how many sessions, deleted in batches of
// pruneBatch. A zero before is EINVALID.
func (t *tx) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune sessions", `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE revoked_at < ?1 UNION SELECT id FROM sessions WHERE expires_at < ?1 LIMIT ?2)`,
		timeArg(before))
}

// pruneBatches runs the DELETE q (whose last parameter is the batch size) until a batch deletes
// fewer than pruneBatch rows, and returns the rows deleted in all.
func (t *tx) pruneBatches(ctx context.Context, op, q string, args ...any) (int64, error) {
	var total int64
	for {
		res, err := t.w.ExecContext(ctx, q, append(args, pruneBatch)...)
		if err != nil {
			return total, dbErr(op, "", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, dbErr(op, "", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
