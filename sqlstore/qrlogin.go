package sqlstore

import (
	"context"
	"time"

	"github.com/wxlogin/wxlogin"
)

const qrLoginCols = `id, app_id, scene, poll_hash, status, ip, user_agent, user_id, session_id, created_at, expires_at,
	scanned_at, decided_at`

func scanQRLogin(s scanner) (*wxlogin.QRLogin, error) {
	q := &wxlogin.QRLogin{}
	return q, s.Scan(&q.ID, &q.AppID, &q.Scene, &q.PollHash, &q.Status, &q.IP, &q.UserAgent, &q.UserID, &q.SessionID,
		timeCol{&q.CreatedAt}, timeCol{&q.ExpiresAt}, timeCol{&q.ScannedAt}, timeCol{&q.DecidedAt})
}

// CreateQRLogin stores q: EINVALID without an id, app, scene or status, ECONFLICT when the id or
// the scene at its app is taken.
func (t *Tx) CreateQRLogin(ctx context.Context, q *wxlogin.QRLogin) error {
	if q == nil || q.ID == "" || q.AppID == "" || q.Scene == "" || q.Status == "" {
		return invalid(q == nil, "QR login", "QR login id, app, scene and status are required")
	}
	return t.insert(ctx, "create QR login", "", `INSERT INTO qr_logins (`+qrLoginCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		q.ID, q.AppID, q.Scene, q.PollHash, q.Status, q.IP, q.UserAgent, q.UserID, q.SessionID,
		t.d.Time(q.CreatedAt), t.d.Time(q.ExpiresAt), t.d.Time(q.ScannedAt), t.d.Time(q.DecidedAt))
}

// QRLogin returns the QR login request id, or ENOTFOUND.
func (t *Tx) QRLogin(ctx context.Context, id string) (*wxlogin.QRLogin, error) {
	return queryOne(ctx, t, "get QR login", "QR login", scanQRLogin, `SELECT `+qrLoginCols+` FROM qr_logins WHERE id = ?`, id)
}

// QRLoginByScene returns the QR login request of scene at appid, or ENOTFOUND.
func (t *Tx) QRLoginByScene(ctx context.Context, appid, scene string) (*wxlogin.QRLogin, error) {
	return queryOne(ctx, t, "get QR login by scene", "QR login", scanQRLogin,
		`SELECT `+qrLoginCols+` FROM qr_logins WHERE app_id = ? AND scene = ?`, appid, scene)
}

// UpdateQRLogin overwrites the status, user, session and times of the request q.ID (its app, scene,
// poll hash and requester never change): ENOTFOUND when there is none.
func (t *Tx) UpdateQRLogin(ctx context.Context, q *wxlogin.QRLogin) error {
	if q == nil {
		return errNil("QR login")
	}
	return t.execOne(ctx, "update QR login", "", "QR login", `UPDATE qr_logins SET status = ?, user_id = ?, session_id = ?,
		expires_at = ?, scanned_at = ?, decided_at = ? WHERE id = ?`,
		q.Status, q.UserID, q.SessionID, t.d.Time(q.ExpiresAt), t.d.Time(q.ScannedAt), t.d.Time(q.DecidedAt), q.ID)
}

// PruneQRLogins deletes the QR login requests that expired before before and returns how many;
// EINVALID for a zero before.
func (t *Tx) PruneQRLogins(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune QR logins", `DELETE FROM qr_logins WHERE id IN
		(SELECT id FROM qr_logins WHERE expires_at < ? LIMIT ?)`, t.d.Time(before))
}
