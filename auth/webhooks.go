package auth

import (
	"context"
	"strconv"

	"github.com/wxlogin/wxlogin"
)

// Webhooks is the operators' side of the outbox (auth/outbox.go): the delivery log, redelivering
// one delivery and replaying a range of events. Every action is audited (admin.webhooks.read,
// webhook.redeliver, webhook.replay).
type Webhooks struct{ *core }

// DeliveryPage is one page of deliveries, newest event first; Next is the cursor (an event seq) of
// the next page (0 on the last).
type DeliveryPage struct {
	Deliveries []*wxlogin.Delivery
	Next       int64
}

// Deliveries returns a page of the deliveries f selects (f.Limit 0: DefaultAdminPage; f.Before the
// previous page's Next). Errors: EINVALID (limit out of range, unknown status).
func (w *Webhooks) Deliveries(ctx context.Context, a Admin, f wxlogin.DeliveryFilter) (*DeliveryPage, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	switch f.Status {
	case "", wxlogin.DeliveryPending, wxlogin.DeliveryDelivered, wxlogin.DeliveryFailed:
	default:
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "status must be pending, delivered or failed")
	}
	f.Limit = limit + 1
	ds, err := w.store.Deliveries(ctx, f)
	if err != nil {
		return nil, err
	}
	page := &DeliveryPage{Deliveries: ds}
	if len(ds) > limit {
		page.Deliveries = ds[:limit]
		page.Next = ds[limit-1].EventSeq
	}
	w.audit(ctx, a.origin().event("admin.webhooks.read", f.UserID, detail("results", strconv.Itoa(len(page.Deliveries)))))
	return page, nil
}

// Delivery returns the delivery id with its logged attempts, oldest first. Errors: ENOTFOUND.
func (w *Webhooks) Delivery(ctx context.Context, a Admin, id string) (*wxlogin.Delivery, []*wxlogin.DeliveryAttempt, error) {
	var d *wxlogin.Delivery
	ds, err := w.store.Deliveries(ctx, wxlogin.DeliveryFilter{DeliveryID: id, Limit: 1})
	if err != nil {
		return nil, nil, err
	}
	if len(ds) == 0 {
		return nil, nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "delivery not found")
	}
	d = ds[0]
	atts, err := w.store.DeliveryAttempts(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	w.audit(ctx, a.origin().event("admin.webhooks.read", d.UserID, detail("delivery", id)))
	return d, atts, nil
}

// Redeliver sends the delivery id again, whatever its status. Errors: ENOTFOUND.
func (w *Webhooks) Redeliver(ctx context.Context, a Admin, id string) error {
	return w.store.Update(ctx, func(tx wxlogin.Tx) error {
		if _, err := tx.Redeliver(ctx, wxlogin.Redelivery{DeliveryID: id}, w.now()); err != nil {
			return err
		}
		e := a.origin().event("webhook.redeliver", "", detail("delivery", id))
		e.Time = w.now()
		return tx.AddAuditEvent(ctx, e)
	})
}

// Replay sends again the events with Seq in [from, to] (to 0: no upper bound) to endpoint ("" :
// every endpoint), and returns how many deliveries it queued. Errors: EINVALID (from < 1 or to < from).
func (w *Webhooks) Replay(ctx context.Context, a Admin, endpoint string, from, to int64) (int64, error) {
	if from < 1 || to != 0 && to < from {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "from_seq must be at least 1 and to_seq, when given, at least from_seq")
	}
	var n int64
	err := w.store.Update(ctx, func(tx wxlogin.Tx) error {
		var err error
		n, err = tx.Redeliver(ctx, wxlogin.Redelivery{Endpoint: endpoint, FromSeq: from, ToSeq: to}, w.now())
		if err != nil {
			return err
		}
		e := a.origin().event("webhook.replay", "", detail("endpoint", endpoint, "from_seq", strconv.FormatInt(from, 10),
			"to_seq", strconv.FormatInt(to, 10), "deliveries", strconv.FormatInt(n, 10)))
		e.Time = w.now()
		return tx.AddAuditEvent(ctx, e)
	})
	return n, err
}
