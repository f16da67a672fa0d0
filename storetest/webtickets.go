package storetest

import (
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// testWebTickets: a ticket round-trips, is taken once (by purpose and hash), is refused once
// expired, and pruning deletes only the expired.
func testWebTickets(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	w := &wxlogin.WebTicket{Hash: "h1", Purpose: "wechat_state", AppID: "wx_o", Data: `{"a":1}`, CreatedAt: t0, ExpiresAt: at(time.Minute)}
	must(t, s.CreateWebTicket(ctx, w), "CreateWebTicket")
	wantCode(t, s.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: "h1", Purpose: "login_code", ExpiresAt: at(time.Minute)}),
		wxlogin.ECONFLICT, "CreateWebTicket with a taken hash")
	wantCode(t, s.CreateWebTicket(ctx, &wxlogin.WebTicket{Purpose: "login_code", ExpiresAt: at(time.Minute)}), wxlogin.EINVALID, "no hash")
	wantCode(t, s.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: "h9", ExpiresAt: at(time.Minute)}), wxlogin.EINVALID, "no purpose")
	wantCode(t, s.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: "h9", Purpose: "p"}), wxlogin.EINVALID, "no expiry")

	_, err := s.TakeWebTicket(ctx, "login_code", "h1", t0)
	wantCode(t, err, wxlogin.ENOTFOUND, "TakeWebTicket with another purpose")
	got, err := s.TakeWebTicket(ctx, "wechat_state", "h1", t0)
	must(t, err, "TakeWebTicket")
	same(t, "TakeWebTicket", got, w)
	_, err = s.TakeWebTicket(ctx, "wechat_state", "h1", t0)
	wantCode(t, err, wxlogin.ENOTFOUND, "TakeWebTicket a second time")

	must(t, s.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: "h2", Purpose: "login_code", ExpiresAt: at(time.Minute)}), "CreateWebTicket h2")
	_, err = s.TakeWebTicket(ctx, "login_code", "h2", at(time.Minute))
	wantCode(t, err, wxlogin.ENOTFOUND, "TakeWebTicket at its expiry")
	_, err = s.TakeWebTicket(ctx, "login_code", "h2", t0)
	wantCode(t, err, wxlogin.ENOTFOUND, "TakeWebTicket after an expired take")

	must(t, s.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: "old", Purpose: "p", ExpiresAt: at(time.Second)}), "old")
	must(t, s.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: "new", Purpose: "p", ExpiresAt: at(time.Hour)}), "new")
	var n int64
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error { n, err = tx.PruneWebTickets(ctx, at(time.Minute)); return err }), "PruneWebTickets")
	if n != 1 {
		t.Errorf("PruneWebTickets deleted %d, want 1", n)
	}
	if _, err := s.TakeWebTicket(ctx, "p", "new", t0); err != nil {
		t.Errorf("the live ticket was pruned: %v", err)
	}
	_, err = s.PruneWebTickets(ctx, time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "PruneWebTickets with a zero time")
}

// testIdentityKind: an identity keeps its app's kind through create and update.
func testIdentityKind(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	createUser(t, s, "usr_1")
	i := &wxlogin.Identity{AppID: "wx_w", OpenID: "o1", UserID: "usr_1", Kind: wxlogin.KindWebsite, CreatedAt: t0}
	must(t, s.CreateIdentity(ctx, i), "CreateIdentity")
	got, err := s.Identity(ctx, "wx_w", "o1")
	must(t, err, "Identity")
	same(t, "Identity", got, i)
	i.Kind = wxlogin.KindOfficialAccount
	must(t, s.UpdateIdentity(ctx, i), "UpdateIdentity")
	list, err := s.IdentitiesByUser(ctx, "usr_1")
	if err != nil || len(list) != 1 || list[0].Kind != wxlogin.KindOfficialAccount {
		t.Errorf("IdentitiesByUser: %v, %v", list, err)
	}
}
