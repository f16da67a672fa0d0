package sqlstore

import (
	"context"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The webhook outbox: events, their deliveries (one per event and endpoint) and the log of
// delivery attempts.

const eventCols = `seq, id, type, user_id, time, data`

func scanEvent(s scanner) (*wxlogin.Event, error) {
	e := &wxlogin.Event{}
	return e, s.Scan(&e.Seq, &e.ID, &e.Type, &e.UserID, timeCol{&e.Time}, &e.Data)
}

// AddEvent stores e (setting e.Seq) and a pending delivery of it, due at e.Time, to each of
// endpoints: EINVALID without an id or a type, ECONFLICT when the id is taken.
func (t *Tx) AddEvent(ctx context.Context, e *wxlogin.Event, endpoints []string) error {
	if e == nil || e.ID == "" || e.Type == "" {
		return invalid(e == nil, "event", "event needs an id and a type")
	}
	err := t.w.QueryRowContext(ctx, t.d.Q(`INSERT INTO events (id, type, user_id, time, data) VALUES (?, ?, ?, ?, ?)
		RETURNING seq`), e.ID, e.Type, e.UserID, t.d.Time(e.Time), e.Data).Scan(&e.Seq)
	if err != nil {
		return t.fail("add event", "", err)
	}
	for _, ep := range endpoints {
		err := t.insert(ctx, "add delivery", "event", `INSERT INTO webhook_deliveries (id, event_seq, endpoint, user_id,
			status, attempts, next_at, lease_owner, lease_until, last_status, last_error, created_at, delivered_at)
			VALUES (?, ?, ?, ?, ?, 0, ?, '', NULL, 0, '', ?, NULL)`,
			wxlogin.NewID("dlv"), e.Seq, ep, e.UserID, wxlogin.DeliveryPending, t.d.Time(e.Time), t.d.Time(e.Time))
		if err != nil {
			return err
		}
	}
	return nil
}

// Event returns the event with id, or ENOTFOUND.
func (t *Tx) Event(ctx context.Context, id string) (*wxlogin.Event, error) {
	return queryOne(ctx, t, "get event", "event", scanEvent, `SELECT `+eventCols+` FROM events WHERE id = ?`, id)
}

const deliveryCols = `d.id, e.id, d.event_seq, e.type, d.endpoint, d.user_id, d.status, d.attempts, d.next_at,
	d.lease_owner, d.lease_until, d.last_status, d.last_error, d.created_at, d.delivered_at`

const deliveryFrom = ` FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq`

func scanDelivery(s scanner) (*wxlogin.Delivery, error) {
	d := &wxlogin.Delivery{}
	return d, s.Scan(&d.ID, &d.EventID, &d.EventSeq, &d.EventType, &d.Endpoint, &d.UserID, &d.Status, &d.Attempts,
		timeCol{&d.NextAt}, &d.LeaseOwner, timeCol{&d.LeaseUntil}, &d.LastStatus, &d.LastError,
		timeCol{&d.CreatedAt}, timeCol{&d.DeliveredAt})
}

// LeaseDeliveries leases to owner until until at most limit pending deliveries due at now whose
// lease is free, each the first pending one of its (endpoint, user), and returns them in event
// order. Run it in a transaction (Update): the rows are read, then leased only if still free.
func (t *Tx) LeaseDeliveries(ctx context.Context, owner string, now, until time.Time, limit int) ([]*wxlogin.Delivery, error) {
	if owner == "" || limit < 1 {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "a lease needs an owner and a limit of at least 1")
	}
	due, err := queryAll(ctx, t, t.w, "find due deliveries", scanDelivery, `SELECT `+deliveryCols+deliveryFrom+`
		WHERE d.status = ? AND d.next_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint = d.endpoint AND p.user_id = d.user_id
			AND p.status = ? AND p.event_seq < d.event_seq)
		ORDER BY d.event_seq, d.endpoint LIMIT ?`,
		wxlogin.DeliveryPending, t.d.Time(now), t.d.Time(now), wxlogin.DeliveryPending, limit)
	if err != nil {
		return nil, err
	}
	out := due[:0]
	for _, d := range due {
		res, err := t.exec(ctx, "lease delivery", "", `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND status = ? AND (lease_until IS NULL OR lease_until <= ?)`,
			owner, t.d.Time(until), d.ID, wxlogin.DeliveryPending, t.d.Time(now))
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, t.fail("lease delivery", "", err)
		} else if n == 1 {
			d.LeaseOwner, d.LeaseUntil = owner, until
			out = append(out, d)
		}
	}
	return out, nil
}

// FinishDelivery stores the outcome of attempt a of d, frees the lease owner holds and logs a:
// ENOTFOUND when owner does not hold d's lease.
func (t *Tx) FinishDelivery(ctx context.Context, owner string, d *wxlogin.Delivery, a *wxlogin.DeliveryAttempt) error {
	if d == nil || a == nil {
		return errNil("delivery")
	}
	err := t.execOne(ctx, "finish delivery", "", "leased delivery", `UPDATE webhook_deliveries SET status = ?, attempts = ?,
		next_at = ?, last_status = ?, last_error = ?, delivered_at = ?, lease_owner = '', lease_until = NULL
		WHERE id = ? AND lease_owner = ?`,
		d.Status, d.Attempts, t.d.Time(d.NextAt), d.LastStatus, d.LastError, t.d.Time(d.DeliveredAt), d.ID, owner)
	if err != nil {
		return err
	}
	d.LeaseOwner, d.LeaseUntil = "", time.Time{}
	a.DeliveryID = d.ID
	return t.w.QueryRowContext(ctx, t.d.Q(`INSERT INTO webhook_attempts (delivery_id, time, status_code, error, duration_ms)
		VALUES (?, ?, ?, ?, ?) RETURNING id`), d.ID, t.d.Time(a.Time), a.StatusCode, a.Error, a.Duration.Milliseconds()).Scan(&a.ID)
}

// Deliveries returns the deliveries f selects, newest event first (100 when f.Limit <= 0).
func (t *Tx) Deliveries(ctx context.Context, f wxlogin.DeliveryFilter) ([]*wxlogin.Delivery, error) {
	var w where
	if f.DeliveryID != "" {
		w.add("d.id = ?", f.DeliveryID)
	}
	if f.Endpoint != "" {
		w.add("d.endpoint = ?", f.Endpoint)
	}
	if f.Status != "" {
		w.add("d.status = ?", f.Status)
	}
	if f.EventID != "" {
		w.add("e.id = ?", f.EventID)
	}
	if f.UserID != "" {
		w.add("d.user_id = ?", f.UserID)
	}
	if f.Before > 0 {
		w.add("d.event_seq < ?", f.Before)
	}
	q, args := w.query(`SELECT `+deliveryCols+deliveryFrom, `ORDER BY d.event_seq DESC, d.endpoint`, f.Limit)
	return queryAll(ctx, t, t.r, "list deliveries", scanDelivery, q, args...)
}

func scanAttempt(s scanner) (*wxlogin.DeliveryAttempt, error) {
	a := &wxlogin.DeliveryAttempt{}
	var ms int64
	err := s.Scan(&a.ID, &a.DeliveryID, timeCol{&a.Time}, &a.StatusCode, &a.Error, &ms)
	a.Duration = time.Duration(ms) * time.Millisecond
	return a, err
}

// DeliveryAttempts returns the logged attempts of the delivery, oldest first (or none).
func (t *Tx) DeliveryAttempts(ctx context.Context, deliveryID string) ([]*wxlogin.DeliveryAttempt, error) {
	return queryAll(ctx, t, t.r, "list delivery attempts", scanAttempt, `SELECT id, delivery_id, time, status_code, error,
		duration_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY id`, deliveryID)
}

// Redeliver makes the deliveries r selects pending, due at now, with no attempt counted, and
// returns how many: ENOTFOUND when r.DeliveryID names none.
func (t *Tx) Redeliver(ctx context.Context, r wxlogin.Redelivery, now time.Time) (int64, error) {
	set := `UPDATE webhook_deliveries SET status = ?, attempts = 0, next_at = ?, last_error = '', delivered_at = NULL WHERE `
	if r.DeliveryID != "" {
		if err := t.execOne(ctx, "redeliver", "", "delivery", set+`id = ?`, wxlogin.DeliveryPending, t.d.Time(now), r.DeliveryID); err != nil {
			return 0, err
		}
		return 1, nil
	}
	var w where
	w.add("event_seq >= ?", r.FromSeq)
	if r.ToSeq > 0 {
		w.add("event_seq <= ?", r.ToSeq)
	}
	if r.Endpoint != "" {
		w.add("endpoint = ?", r.Endpoint)
	}
	q := set
	for i, c := range w.conds {
		if i > 0 {
			q += " AND "
		}
		q += c
	}
	res, err := t.exec(ctx, "replay deliveries", "", q, append([]any{wxlogin.DeliveryPending, t.d.Time(now)}, w.args...)...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, t.fail("replay deliveries", "", err)
}

// DeliveryBacklog returns the number of pending deliveries and the oldest one's creation time.
func (t *Tx) DeliveryBacklog(ctx context.Context) (wxlogin.DeliveryBacklog, error) {
	var b wxlogin.DeliveryBacklog
	err := t.r.QueryRowContext(ctx, t.d.Q(`SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = ?`),
		wxlogin.DeliveryPending).Scan(&b.Pending, timeCol{&b.Oldest})
	return b, t.fail("delivery backlog", "", err)
}
