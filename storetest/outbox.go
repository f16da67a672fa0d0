package storetest

// The webhook outbox's part of the suite:
//
//   - AddEvent stores an event (Seq increasing) with one pending delivery per endpoint, due at the
//     event's time; a taken id is ECONFLICT; Event reads it back, a missing one is ENOTFOUND.
//   - LeaseDeliveries hands out only due, unleased deliveries, each the first pending one of its
//     (endpoint, user) in event order; a lease excludes other owners until it runs out.
//   - FinishDelivery records the outcome and logs the attempt only for the lease's owner (else
//     ENOTFOUND); a delivered one lets the next of its line go.
//   - Redeliver makes one delivery (ENOTFOUND when missing) or a range pending again.
//   - DeliveryBacklog counts the pending deliveries.

import (
	"slices"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

func addEvent(t *testing.T, s wxlogin.Store, id, typ, user string, when time.Time, endpoints ...string) *wxlogin.Event {
	t.Helper()
	e := &wxlogin.Event{ID: id, Type: typ, UserID: user, Time: when, Data: `{"k":"v"}`}
	must(t, s.Update(t.Context(), func(tx wxlogin.Tx) error { return tx.AddEvent(t.Context(), e, endpoints) }), "AddEvent")
	return e
}

func lease(t *testing.T, s wxlogin.Store, owner string, now time.Time, limit int) []*wxlogin.Delivery {
	t.Helper()
	var got []*wxlogin.Delivery
	must(t, s.Update(t.Context(), func(tx wxlogin.Tx) error {
		var err error
		got, err = tx.LeaseDeliveries(t.Context(), owner, now, now.Add(time.Minute), limit)
		return err
	}), "LeaseDeliveries")
	return got
}

func deliveryKeys(ds []*wxlogin.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.EventID+"→"+d.Endpoint)
	}
	return out
}

// sameKeys fails t unless got equals want.
func sameKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: %q, want %q", what, got, want)
	}
}

func testOutboxEvents(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	e1 := addEvent(t, s, "evt_1", "user.created", "usr_1", t0, "a", "b")
	e2 := addEvent(t, s, "evt_2", "user.updated", "usr_1", at(time.Second), "a")
	if e1.Seq <= 0 || e2.Seq <= e1.Seq {
		t.Fatalf("Seq: %d then %d, want increasing", e1.Seq, e2.Seq)
	}
	got, err := s.Event(ctx, "evt_1")
	must(t, err, "Event")
	same(t, "Event", got, e1)
	_, err = s.Event(ctx, "evt_missing")
	wantCode(t, err, wxlogin.ENOTFOUND, "Event of a missing id")
	err = s.Update(ctx, func(tx wxlogin.Tx) error {
		return tx.AddEvent(ctx, &wxlogin.Event{ID: "evt_1", Type: "user.created"}, nil)
	})
	wantCode(t, err, wxlogin.ECONFLICT, "AddEvent of a taken id")
	err = s.Update(ctx, func(tx wxlogin.Tx) error { return tx.AddEvent(ctx, &wxlogin.Event{Type: "x"}, nil) })
	wantCode(t, err, wxlogin.EINVALID, "AddEvent without an id")

	ds, err := s.Deliveries(ctx, wxlogin.DeliveryFilter{})
	must(t, err, "Deliveries")
	sameKeys(t, "Deliveries, newest event first", deliveryKeys(ds), []string{"evt_2→a", "evt_1→a", "evt_1→b"})
	for _, d := range ds {
		if d.Status != wxlogin.DeliveryPending || d.Attempts != 0 || d.UserID != "usr_1" || d.ID == "" {
			t.Errorf("new delivery %+v, want pending with no attempt", d)
		}
	}
	ds, err = s.Deliveries(ctx, wxlogin.DeliveryFilter{Endpoint: "b"})
	must(t, err, "Deliveries by endpoint")
	sameKeys(t, "Deliveries of b", deliveryKeys(ds), []string{"evt_1→b"})
	ds, err = s.Deliveries(ctx, wxlogin.DeliveryFilter{EventID: "evt_2"})
	must(t, err, "Deliveries by event")
	sameKeys(t, "Deliveries of evt_2", deliveryKeys(ds), []string{"evt_2→a"})
	ds, err = s.Deliveries(ctx, wxlogin.DeliveryFilter{Before: e2.Seq, Limit: 1})
	must(t, err, "Deliveries before")
	sameKeys(t, "Deliveries before evt_2, limit 1", deliveryKeys(ds), []string{"evt_1→a"})

	b, err := s.DeliveryBacklog(ctx)
	must(t, err, "DeliveryBacklog")
	if b.Pending != 3 || !b.Oldest.Equal(t0) {
		t.Errorf("DeliveryBacklog = %+v, want 3 pending, oldest %v", b, t0)
	}
}

func testOutboxLeases(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	addEvent(t, s, "evt_1", "user.created", "usr_1", t0, "a", "b")
	addEvent(t, s, "evt_2", "user.updated", "usr_1", at(time.Second), "a")
	addEvent(t, s, "evt_3", "user.created", "usr_2", at(2*time.Second), "a")
	addEvent(t, s, "evt_4", "user.created", "usr_3", at(time.Hour), "a") // not due yet

	now := at(time.Minute)
	got := lease(t, s, "w1", now, 10)
	sameKeys(t, "first lease: the head of each line", deliveryKeys(got), []string{"evt_1→a", "evt_1→b", "evt_3→a"})
	if len(got) > 0 && (got[0].LeaseOwner != "w1" || !got[0].LeaseUntil.Equal(now.Add(time.Minute))) {
		t.Errorf("leased delivery %+v, want owner w1 until %v", got[0], now.Add(time.Minute))
	}
	sameKeys(t, "another owner while leased", deliveryKeys(lease(t, s, "w2", now, 10)), []string{})

	// w2 may not finish w1's delivery.
	d := got[0]
	d.Status, d.Attempts, d.LastStatus, d.DeliveredAt = wxlogin.DeliveryDelivered, 1, 200, now
	a := &wxlogin.DeliveryAttempt{Time: now, StatusCode: 200, Duration: 15 * time.Millisecond}
	err := s.Update(ctx, func(tx wxlogin.Tx) error { return tx.FinishDelivery(ctx, "w2", d, a) })
	wantCode(t, err, wxlogin.ENOTFOUND, "FinishDelivery by another owner")
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error { return tx.FinishDelivery(ctx, "w1", d, a) }), "FinishDelivery")
	if a.ID == 0 {
		t.Error("FinishDelivery did not set the attempt's id")
	}
	atts, err := s.DeliveryAttempts(ctx, d.ID)
	must(t, err, "DeliveryAttempts")
	if len(atts) != 1 || atts[0].StatusCode != 200 || atts[0].Duration != 15*time.Millisecond || !atts[0].Time.Equal(now) {
		t.Errorf("DeliveryAttempts = %+v, want the one attempt", atts)
	}

	// evt_1→a is delivered: evt_2→a is next in usr_1's line at a.
	sameKeys(t, "after delivery, the next of the line", deliveryKeys(lease(t, s, "w2", now, 10)), []string{"evt_2→a"})

	// A failed attempt keeps the line: evt_1→b is retried at NextAt.
	d = got[1]
	d.Attempts, d.LastStatus, d.LastError, d.NextAt = 1, 500, "status 500", now.Add(10*time.Second)
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
		return tx.FinishDelivery(ctx, "w1", d, &wxlogin.DeliveryAttempt{Time: now, StatusCode: 500, Error: "status 500"})
	}), "FinishDelivery (failed)")
	sameKeys(t, "before NextAt", deliveryKeys(lease(t, s, "w3", now.Add(5*time.Second), 10)), []string{})
	// After w1's lease on evt_3→a ran out, anyone may take it; evt_1→b is due again.
	sameKeys(t, "after NextAt and the lease's end", deliveryKeys(lease(t, s, "w3", now.Add(2*time.Minute), 10)),
		[]string{"evt_1→b", "evt_2→a", "evt_3→a"})

	b, err := s.DeliveryBacklog(ctx)
	must(t, err, "DeliveryBacklog")
	if b.Pending != 4 {
		t.Errorf("DeliveryBacklog.Pending = %d, want 4", b.Pending)
	}
}

func testOutboxRedeliver(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	var es []*wxlogin.Event
	for k, id := range []string{"evt_1", "evt_2", "evt_3"} {
		es = append(es, addEvent(t, s, id, "user.created", "usr_"+id, at(time.Duration(k)*time.Second), "a", "b"))
	}
	now := at(time.Minute)
	for _, d := range lease(t, s, "w1", now, 10) {
		d.Status, d.Attempts, d.DeliveredAt = wxlogin.DeliveryDelivered, 1, now
		must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
			return tx.FinishDelivery(ctx, "w1", d, &wxlogin.DeliveryAttempt{Time: now, StatusCode: 204})
		}), "FinishDelivery")
	}
	_, err := s.Redeliver(ctx, wxlogin.Redelivery{DeliveryID: "dlv_missing"}, now)
	wantCode(t, err, wxlogin.ENOTFOUND, "Redeliver of a missing delivery")

	ds, err := s.Deliveries(ctx, wxlogin.DeliveryFilter{EventID: "evt_1", Endpoint: "a"})
	must(t, err, "Deliveries")
	n, err := s.Redeliver(ctx, wxlogin.Redelivery{DeliveryID: ds[0].ID}, now)
	must(t, err, "Redeliver one")
	if n != 1 {
		t.Errorf("Redeliver one = %d", n)
	}
	sameKeys(t, "after redelivering one", deliveryKeys(lease(t, s, "w1", now, 10)), []string{"evt_1→a"})

	n, err = s.Redeliver(ctx, wxlogin.Redelivery{Endpoint: "b", FromSeq: es[1].Seq, ToSeq: es[2].Seq}, now)
	must(t, err, "Redeliver a range")
	if n != 2 {
		t.Errorf("Redeliver a range = %d, want 2", n)
	}
	sameKeys(t, "after replaying a range", deliveryKeys(lease(t, s, "w2", now.Add(2*time.Minute), 10)),
		[]string{"evt_1→a", "evt_2→b", "evt_3→b"})
	ds, err = s.Deliveries(ctx, wxlogin.DeliveryFilter{EventID: "evt_2", Endpoint: "b"})
	must(t, err, "Deliveries")
	if ds[0].Status != wxlogin.DeliveryPending || ds[0].Attempts != 0 || !ds[0].DeliveredAt.IsZero() {
		t.Errorf("replayed delivery %+v, want pending with no attempt", ds[0])
	}
}
