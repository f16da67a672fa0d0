package wxlogin

import (
	"context"
	"time"
)

// QR login statuses (QRLogin.Status). A request starts pending; one user scans it (scanned); that
// user confirms or denies it. A confirmed request is spent once the website collected its login.
// "expired" is never stored: a request past ExpiresAt that was not decided answers it.
const (
	QRPending   = "pending"
	QRScanned   = "scanned"
	QRConfirmed = "confirmed"
	QRDenied    = "denied"
	QRExpired   = "expired"
	QRSpent     = "spent" // stored only: the website took its login; the request answers nothing more
)

// QRLogin is a website's request to log in by scanning a mini-program code (docs/wechat-api.md §10):
// the website shows the code of Scene, the person scans it in the mini program of AppID, and the
// user who scanned it confirms or denies. PollHash is the SHA-256 (hex) of the website's poll
// token: only its holder learns the result.
type QRLogin struct {
	ID        string // "qrl_…"
	AppID     string
	Scene     string // random; unique among the requests of AppID
	PollHash  string
	Status    string
	IP        string // the requester (the website's browser), as the server saw it
	UserAgent string
	UserID    string // who scanned it ("" while pending)
	SessionID string // the website's new session, set when the login was collected
	CreatedAt time.Time
	ExpiresAt time.Time
	ScannedAt time.Time
	DecidedAt time.Time // confirmed or denied
}

// Expired reports whether q can no longer be scanned or decided at now: it is past ExpiresAt and
// not confirmed, denied or spent.
func (q *QRLogin) Expired(now time.Time) bool {
	return !now.Before(q.ExpiresAt) && (q.Status == QRPending || q.Status == QRScanned)
}

// Notifier wakes waiters on a key (a QR login's id) when something changed, across the instances
// sharing a store (package redis) or in one process (auth.NewMemoryNotifier). A notification carries
// no data: a woken waiter re-reads the store. Implementations must be safe for concurrent use.
type Notifier interface {
	// Subscribe returns a channel that receives a value (without blocking the notifier; extra
	// notifications while one is pending are dropped) each time key is notified, until cancel is
	// called. Subscribe before reading the state that a notification would change.
	Subscribe(key string) (ch <-chan struct{}, cancel func())
	// Notify wakes every subscriber of key, on every instance. Errors: the transport's.
	Notify(ctx context.Context, key string) error
}

// QRLogins are the store's QR login requests (part of Tx).
type QRLogins interface {
	// CreateQRLogin stores q. Errors: ECONFLICT (the id, or the scene at its app, is taken).
	CreateQRLogin(ctx context.Context, q *QRLogin) error
	// QRLogin returns the request id. Errors: ENOTFOUND.
	QRLogin(ctx context.Context, id string) (*QRLogin, error)
	// QRLoginByScene returns the request of scene at appid. Errors: ENOTFOUND.
	QRLoginByScene(ctx context.Context, appid, scene string) (*QRLogin, error)
	// UpdateQRLogin stores q's status, user, session and times. Errors: ENOTFOUND.
	UpdateQRLogin(ctx context.Context, q *QRLogin) error
	// PruneQRLogins deletes the requests that expired before before and returns how many.
	PruneQRLogins(ctx context.Context, before time.Time) (int64, error)
}
