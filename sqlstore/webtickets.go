package sqlstore

import (
	"context"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The single-use tickets of the browser flows (wxlogin.WebTicket).

const webTicketCols = `hash, purpose, appid, data, created_at, expires_at`

func scanWebTicket(s scanner) (*wxlogin.WebTicket, error) {
	w := &wxlogin.WebTicket{}
	return w, s.Scan(&w.Hash, &w.Purpose, &w.AppID, &w.Data, timeCol{&w.CreatedAt}, timeCol{&w.ExpiresAt})
}

// CreateWebTicket stores w: EINVALID without a hash, a purpose or an expiry, ECONFLICT when the
// hash is taken.
func (t *Tx) CreateWebTicket(ctx context.Context, w *wxlogin.WebTicket) error {
	if w == nil || w.Hash == "" || w.Purpose == "" || w.ExpiresAt.IsZero() {
		return invalid(w == nil, "web ticket", "web ticket needs a hash, a purpose and an expiry")
	}
	return t.insert(ctx, "create web ticket", "", `INSERT INTO web_tickets (`+webTicketCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		w.Hash, w.Purpose, w.AppID, w.Data, t.d.Time(w.CreatedAt), t.d.Time(w.ExpiresAt))
}

// TakeWebTicket deletes the ticket (purpose, hash) and returns it unless it expired at now; ENOTFOUND
// when there is none or it expired. One statement deletes and returns it, so two takers never
// both get it.
func (t *Tx) TakeWebTicket(ctx context.Context, purpose, hash string, now time.Time) (*wxlogin.WebTicket, error) {
	w, err := scanWebTicket(t.w.QueryRowContext(ctx, t.d.Q(`DELETE FROM web_tickets WHERE hash = ? AND purpose = ?
		RETURNING `+webTicketCols), hash, purpose))
	if err != nil {
		return nil, t.notFound(err, "ticket not found", "take web ticket")
	}
	if !now.Before(w.ExpiresAt) {
		return nil, notFoundf("ticket not found")
	}
	return w, nil
}

// PruneWebTickets deletes the tickets expired before before and returns how many; EINVALID for a
// zero before.
func (t *Tx) PruneWebTickets(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune web tickets", `DELETE FROM web_tickets WHERE hash IN
		(SELECT hash FROM web_tickets WHERE expires_at < ? LIMIT ?)`, t.d.Time(before))
}
