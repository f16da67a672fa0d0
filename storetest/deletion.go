package storetest

// Account deletion's part of the suite:
//
//   - ScheduleDeletion needs the user (ENOTFOUND), replaces an earlier schedule; DueDeletions lists
//     the due ones soonest first; a deleted user's schedule goes with it.
//   - ForgetUser deletes the user with all that is its, rewrites its audit events to the pseudonym
//     (subject and actor) with IP, user agent and detail cleared, leaves others' events alone, and
//     clears the data of its outbox events; ENOTFOUND without the user.

import (
	"slices"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

func testDeletionSchedule(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	for _, id := range []string{"usr_1", "usr_2", "usr_3"} {
		must(t, s.CreateUser(ctx, newUser(id)), "CreateUser")
	}
	schedule := func(id string, due time.Time) error {
		return s.Update(ctx, func(tx wxlogin.Tx) error { return tx.ScheduleDeletion(ctx, id, due) })
	}
	wantCode(t, schedule("usr_missing", t0), wxlogin.ENOTFOUND, "ScheduleDeletion of a missing user")
	must(t, schedule("usr_1", at(3*time.Hour)), "ScheduleDeletion")
	must(t, schedule("usr_2", at(time.Hour)), "ScheduleDeletion")
	must(t, schedule("usr_1", at(2*time.Hour)), "ScheduleDeletion again")
	must(t, schedule("usr_3", at(time.Hour)), "ScheduleDeletion")
	must(t, s.DeleteUser(ctx, "usr_3"), "DeleteUser")
	for _, c := range []struct {
		now  time.Time
		want []string
	}{{t0, []string{}}, {at(time.Hour), []string{"usr_2"}}, {at(2 * time.Hour), []string{"usr_2", "usr_1"}}} {
		got, err := s.DueDeletions(ctx, c.now, 10)
		must(t, err, "DueDeletions")
		if !slices.Equal(got, c.want) {
			t.Errorf("DueDeletions(%v) = %q, want %q", c.now, got, c.want)
		}
	}
}

func testForgetUser(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	p := createPerson(t, s, "1")
	must(t, s.CreateUser(ctx, newUser("usr_other")), "CreateUser")
	var mine, theirs, acted wxlogin.AuditEvent
	mine = wxlogin.AuditEvent{Time: t0, Type: "identity.bind", UserID: p.user.ID, ActorID: p.user.ID, IP: "10.0.0.1", UserAgent: "ua", Detail: `{"openid":"o"}`}
	theirs = wxlogin.AuditEvent{Time: t0, Type: "login.success", UserID: "usr_other", ActorID: "usr_other", IP: "10.0.0.2", Detail: `{"k":"v"}`}
	acted = wxlogin.AuditEvent{Time: t0, Type: "user.merge", UserID: "usr_other", ActorID: p.user.ID, IP: "10.0.0.3", Detail: `{"x":"y"}`}
	for _, e := range []*wxlogin.AuditEvent{&mine, &theirs, &acted} {
		must(t, s.AddAuditEvent(ctx, e), "AddAuditEvent")
	}
	ev := &wxlogin.Event{ID: "evt_1", Type: "identity.bound", UserID: p.user.ID, Time: t0, Data: `{"openid":"o"}`}
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error { return tx.AddEvent(ctx, ev, []string{"a"}) }), "AddEvent")
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error { return tx.ScheduleDeletion(ctx, p.user.ID, t0) }), "ScheduleDeletion")

	must(t, s.Update(ctx, func(tx wxlogin.Tx) error { return tx.ForgetUser(ctx, p.user.ID, "del_1") }), "ForgetUser")
	checkPerson(t, s, p, false)
	err := s.Update(ctx, func(tx wxlogin.Tx) error { return tx.ForgetUser(ctx, p.user.ID, "del_1") })
	wantCode(t, err, wxlogin.ENOTFOUND, "ForgetUser of a forgotten user")
	if due, _ := s.DueDeletions(ctx, at(time.Hour), 10); len(due) != 0 {
		t.Errorf("a forgotten user's deletion is still scheduled: %q", due)
	}
	all, err := s.AuditEvents(ctx, wxlogin.AuditFilter{})
	must(t, err, "AuditEvents")
	got := map[int64]*wxlogin.AuditEvent{}
	for _, e := range all {
		got[e.ID] = e
	}
	if e := got[mine.ID]; e.UserID != "del_1" || e.ActorID != p.user.ID && e.ActorID != "del_1" || e.IP != "" || e.UserAgent != "" || e.Detail != "{}" {
		t.Errorf("the user's own event after ForgetUser: %+v", e)
	}
	if e := got[mine.ID]; e.ActorID != "del_1" {
		t.Errorf("the user's own event keeps its actor: %+v", e)
	}
	if e := got[theirs.ID]; e.UserID != "usr_other" || e.IP != "10.0.0.2" || e.Detail != `{"k":"v"}` {
		t.Errorf("another user's event changed: %+v", e)
	}
	if e := got[acted.ID]; e.UserID != "usr_other" || e.ActorID != "del_1" || e.IP != "" || e.Detail != "{}" {
		t.Errorf("an event the user acted in: %+v", e)
	}
	if e, err := s.Event(ctx, "evt_1"); err != nil || e.Data != "{}" {
		t.Errorf("the user's outbox event: %+v, %v", e, err)
	}
}
