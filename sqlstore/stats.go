package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// bucketOf returns the SQL expression of the time bucket col falls in: floor(unix time / bucket),
// computed the same way on both encodings (INTEGER unix nanoseconds, or a timestamp), and the
// bucket in seconds. EINVALID unless bucket is a positive whole number of seconds.
func (d *Dialect) bucketOf(col string, bucket time.Duration) (string, int64, error) {
	if bucket < time.Second || bucket%time.Second != 0 {
		return "", 0, wxlogin.Errorf(wxlogin.EINVALID, "the bucket must be a positive whole number of seconds")
	}
	secs := int64(bucket / time.Second)
	if d.UnixNanos {
		n := strconv.FormatInt(bucket.Nanoseconds(), 10)
		// SQLite's integer division truncates toward zero: before 1970 it needs one bucket less.
		return "(CASE WHEN " + col + " >= 0 THEN " + col + " / " + n + " ELSE (" + col + " + 1) / " + n + " - 1 END)", secs, nil
	}
	return "CAST(floor(extract(epoch FROM " + col + ") / " + strconv.FormatInt(secs, 10) + ") AS bigint)", secs, nil
}

// LoginCounts returns the login.success audit events at or after since counted by (bucket,
// method, app), ordered by Start, Method, AppID (byte order); EINVALID for a bad bucket or a since
// out of range.
func (t *Tx) LoginCounts(ctx context.Context, since time.Time, bucket time.Duration) ([]wxlogin.LoginCount, error) {
	b, secs, err := t.d.bucketOf("time", bucket)
	if err != nil {
		return nil, err
	}
	var w where
	w.add("type = 'login.success' AND time IS NOT NULL")
	if !since.IsZero() {
		w.add("time >= ?", t.d.Time(since))
	}
	q := `SELECT ` + b + `, COALESCE(` + t.d.JSONText("detail", "method") + `, ''), app_id, COUNT(*)
		FROM audit_events WHERE ` + w.join() + ` GROUP BY 1, 2, 3`
	out, err := queryAll(ctx, t, t.r, "count logins", func(s scanner) (wxlogin.LoginCount, error) {
		var c wxlogin.LoginCount
		var n int64
		err := s.Scan(&n, &c.Method, &c.AppID, &c.Count)
		c.Start = time.Unix(n*secs, 0).UTC()
		return c, err
	}, q, w.args...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b wxlogin.LoginCount) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Method, b.Method), cmp.Compare(a.AppID, b.AppID))
	})
	return out, nil
}

// NewUserCounts returns the users created at or after since counted by bucket, oldest first;
// EINVALID for a bad bucket or a since out of range.
func (t *Tx) NewUserCounts(ctx context.Context, since time.Time, bucket time.Duration) ([]wxlogin.TimeCount, error) {
	b, secs, err := t.d.bucketOf("created_at", bucket)
	if err != nil {
		return nil, err
	}
	var w where
	w.add("created_at IS NOT NULL")
	if !since.IsZero() {
		w.add("created_at >= ?", t.d.Time(since))
	}
	q := `SELECT ` + b + `, COUNT(*) FROM users WHERE ` + w.join() + ` GROUP BY 1 ORDER BY 1`
	return queryAll(ctx, t, t.r, "count new users", func(s scanner) (wxlogin.TimeCount, error) {
		var c wxlogin.TimeCount
		var n int64
		err := s.Scan(&n, &c.Count)
		c.Start = time.Unix(n*secs, 0).UTC()
		return c, err
	}, q, w.args...)
}

// ActiveSessionCount returns how many sessions are neither revoked nor expired at now; EINVALID
// for a zero now.
func (t *Tx) ActiveSessionCount(ctx context.Context, now time.Time) (int64, error) {
	if now.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "the time is required")
	}
	var n int64
	err := t.r.QueryRowContext(ctx, t.d.Q(`SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?`),
		t.d.Time(now)).Scan(&n)
	return n, t.fail("count active sessions", "", err)
}

// join returns w's conditions joined by AND.
func (w *where) join() string { return strings.Join(w.conds, " AND ") }
