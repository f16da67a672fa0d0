package auth

import (
	"context"

	"github.com/wxlogin/wxlogin"
)

// The outbox's Tx methods in TestEveryWriteInvalidates: the outbox is never cached.
func init() {
	for _, m := range []string{"Event", "Deliveries", "DeliveryAttempts", "DeliveryBacklog", "DueDeletions"} {
		txReads[m] = true
	}
	addEvent := func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.AddEvent(ctx, &wxlogin.Event{ID: wxlogin.NewID("evt"), Type: "user.updated", UserID: f.u, Time: f.now}, []string{"e"})
	}
	txWrites["AddEvent"] = txWrite{do: addEvent, why: "events and deliveries are never cached"}
	txWrites["LeaseDeliveries"] = txWrite{do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		if err := addEvent(ctx, tx, f); err != nil {
			return err
		}
		_, err := tx.LeaseDeliveries(ctx, "w", f.now, f.now.Add(1e9), 1)
		return err
	}, why: "a lease changes only the delivery"}
	txWrites["FinishDelivery"] = txWrite{do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		if err := addEvent(ctx, tx, f); err != nil {
			return err
		}
		ds, err := tx.LeaseDeliveries(ctx, "w", f.now, f.now.Add(1e9), 1)
		if err != nil {
			return err
		}
		d := ds[0]
		d.Status, d.Attempts, d.DeliveredAt = wxlogin.DeliveryDelivered, 1, f.now
		return tx.FinishDelivery(ctx, "w", d, &wxlogin.DeliveryAttempt{Time: f.now, StatusCode: 200})
	}, why: "a delivery's outcome changes only the delivery"}
	txWrites["ScheduleDeletion"] = txWrite{do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.ScheduleDeletion(ctx, f.u, f.now)
	}, why: "a schedule changes nothing cached until the deletion (ForgetUser) runs"}
	txWrites["ForgetUser"] = txWrite{do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		return tx.ForgetUser(ctx, f.u, "del_x")
	}, touches: func(f *cacheFixture) []string { return []string{keyUser + f.u, keySession + f.s} }}
	txWrites["Redeliver"] = txWrite{do: func(ctx context.Context, tx wxlogin.Tx, f *cacheFixture) error {
		if err := addEvent(ctx, tx, f); err != nil {
			return err
		}
		_, err := tx.Redeliver(ctx, wxlogin.Redelivery{FromSeq: 1}, f.now)
		return err
	}, why: "a redelivery changes only deliveries"}
}
