package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// testQRLogins pins the QR login requests: create, find by id and by (app, scene), update, the
// unique scene per app, not_found, and pruning by expiry.
func testQRLogins(t *testing.T, s wxlogin.Store) {
	ctx := context.Background()
	q := &wxlogin.QRLogin{ID: "qrl_1", AppID: "wxa", Scene: "Scene0123456789", PollHash: "hash", Status: wxlogin.QRPending,
		IP: "203.0.113.7", UserAgent: "Mozilla/5.0", CreatedAt: at(0), ExpiresAt: at(2 * time.Minute)}
	must(t, s.CreateQRLogin(ctx, q), "create")
	got, err := s.QRLogin(ctx, "qrl_1")
	must(t, err, "get")
	same(t, "by id", got, q)
	got, err = s.QRLoginByScene(ctx, "wxa", "Scene0123456789")
	must(t, err, "by scene")
	same(t, "by scene", got, q)
	_, err = s.QRLoginByScene(ctx, "wxb", "Scene0123456789")
	wantCode(t, err, wxlogin.ENOTFOUND, "the scene at another app")
	_, err = s.QRLogin(ctx, "qrl_nope")
	wantCode(t, err, wxlogin.ENOTFOUND, "unknown id")

	dup := *q
	dup.ID = "qrl_2"
	wantCode(t, s.CreateQRLogin(ctx, &dup), wxlogin.ECONFLICT, "the same scene at the same app")
	dup.AppID = "wxb"
	must(t, s.CreateQRLogin(ctx, &dup), "the same scene at another app")
	again := *q
	again.Scene = "Other"
	wantCode(t, s.CreateQRLogin(ctx, &again), wxlogin.ECONFLICT, "a taken id")
	wantCode(t, s.CreateQRLogin(ctx, &wxlogin.QRLogin{ID: "qrl_3"}), wxlogin.EINVALID, "no app, scene or status")

	err = s.Update(ctx, func(tx wxlogin.Tx) error {
		q, err := tx.QRLogin(ctx, "qrl_1")
		if err != nil {
			return err
		}
		q.Status, q.UserID, q.ScannedAt = wxlogin.QRScanned, "usr_1", at(time.Minute)
		return tx.UpdateQRLogin(ctx, q)
	})
	must(t, err, "update")
	q.Status, q.UserID, q.ScannedAt = wxlogin.QRScanned, "usr_1", at(time.Minute)
	q.SessionID, q.DecidedAt = "ses_1", at(90*time.Second)
	q.Status = wxlogin.QRSpent
	must(t, s.UpdateQRLogin(ctx, q), "update outside Update")
	got, err = s.QRLogin(ctx, "qrl_1")
	must(t, err, "get after update")
	same(t, "after update", got, q)
	ghost := *q
	ghost.ID = "qrl_ghost"
	wantCode(t, s.UpdateQRLogin(ctx, &ghost), wxlogin.ENOTFOUND, "update of a missing request")

	n, err := s.PruneQRLogins(ctx, at(2*time.Minute))
	if err != nil || n != 0 {
		t.Fatalf("prune at the expiry: %d %v, want 0 (expired strictly before)", n, err)
	}
	n, err = s.PruneQRLogins(ctx, at(3*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("prune after the expiry: %d %v, want 2", n, err)
	}
	_, err = s.QRLogin(ctx, "qrl_1")
	wantCode(t, err, wxlogin.ENOTFOUND, "a pruned request")
	_, err = s.PruneQRLogins(ctx, time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "prune without a time")
}
