package sqlstore

import (
	"context"
	"time"

	"github.com/wxlogin/wxlogin"
)

// pruneBatch is how many rows one DELETE of a prune removes: on a Store (outside Update) each
// batch is its own short transaction, so a large prune never holds the writer or locks for long.
const pruneBatch = 5000

// Users returns the users f selects, ordered by ID (in the column's collation, the same order
// After compares in, so the cursor is stable): every non-empty field of f must match (see
// wxlogin.UserFilter), After keeps IDs above it, and at most Limit users come back (100 when
// Limit <= 0).
func (t *Tx) Users(ctx context.Context, f wxlogin.UserFilter) ([]*wxlogin.User, error) {
	var w where
	if f.ID != "" {
		w.add("id = ?", f.ID)
	}
	if f.Username != "" {
		w.add("id IN (SELECT user_id FROM accounts WHERE username = ?)", f.Username)
	}
	switch {
	case f.OpenID != "" && f.AppID != "":
		w.add("id IN (SELECT user_id FROM wechat_identities WHERE appid = ? AND openid = ?)", f.AppID, f.OpenID)
	case f.OpenID != "":
		w.add("id IN (SELECT user_id FROM wechat_identities WHERE openid = ?)", f.OpenID)
	case f.AppID != "":
		w.add("id IN (SELECT user_id FROM wechat_identities WHERE appid = ?)", f.AppID)
	}
	if f.UnionID != "" {
		w.add("(unionid = ? OR id IN (SELECT user_id FROM wechat_identities WHERE unionid = ?))", f.UnionID, f.UnionID)
	}
	if f.Phone != "" {
		w.add("phone = ?", f.Phone)
	}
	if f.CountryCode != "" {
		w.add("phone_country_code = ? AND phone <> ''", f.CountryCode)
	}
	if f.After != "" {
		w.add("id > ?", f.After)
	}
	q, args := w.query(`SELECT `+userCols+` FROM users`, `ORDER BY id`, f.Limit)
	return queryAll(ctx, t, t.r, "find users", scanUser, q, args...)
}

// PruneAuditEvents deletes the audit events before before and returns how many; EINVALID for zero.
func (t *Tx) PruneAuditEvents(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune audit events", `DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE time < ? LIMIT ?)`, t.d.Time(before))
}

// PruneSessions deletes the sessions revoked or expiring before before, with (ON DELETE CASCADE)
// their refresh tokens, and returns how many sessions; EINVALID for a zero before.
func (t *Tx) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune sessions", `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE revoked_at < ? UNION SELECT id FROM sessions WHERE expires_at < ? LIMIT ?)`,
		t.d.Time(before), t.d.Time(before))
}

// pruneBatches runs the DELETE q (whose last parameter is the batch size) until a batch deletes
// fewer than pruneBatch rows, and returns the rows deleted in all.
func (t *Tx) pruneBatches(ctx context.Context, op, q string, args ...any) (int64, error) {
	var total int64
	for {
		res, err := t.exec(ctx, op, "", q, append(args, pruneBatch)...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, t.fail(op, "", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
