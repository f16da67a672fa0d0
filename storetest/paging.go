package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// testIdentitiesAfter pages through every identity with IdentitiesAfter, in (appid, openid) order,
// from the store and inside a transaction.
func testIdentitiesAfter(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	empty, err := s.IdentitiesAfter(ctx, "", "", 10)
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("IdentitiesAfter on an empty store: %v, %v; want an empty slice, nil", empty, err)
	}
	createUser(t, s, "usr_1")
	createUser(t, s, "usr_2")
	// Stored out of order; the wanted order is by appid, then openid.
	var want []*wxlogin.Identity
	for _, app := range []string{"wxapp2", "wxapp1", "wxapp3"} {
		for _, n := range []int{3, 1, 2} {
			i := &wxlogin.Identity{AppID: app, OpenID: fmt.Sprintf("openid%d", n), UserID: "usr_1",
				SessionKey: []byte("sealed " + app + fmt.Sprint(n)), SessionKeyUpdatedAt: at(time.Duration(n) * time.Second),
				CreatedAt: t0, UpdatedAt: at(time.Minute)}
			if app == "wxapp3" {
				i.UserID = "usr_2"
			}
			must(t, s.CreateIdentity(ctx, i), "CreateIdentity")
		}
	}
	for _, app := range []string{"wxapp1", "wxapp2", "wxapp3"} {
		for n := 1; n <= 3; n++ {
			i, err := s.Identity(ctx, app, fmt.Sprintf("openid%d", n))
			must(t, err, "Identity")
			want = append(want, i)
		}
	}

	for _, limit := range []int{1, 2, 4, 9, 100} {
		var got []*wxlogin.Identity
		appid, openid := "", ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, err := s.IdentitiesAfter(ctx, appid, openid, limit)
			must(t, err, "IdentitiesAfter")
			if len(page) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			appid, openid = page[len(page)-1].AppID, page[len(page)-1].OpenID
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: %d identities, want %d", limit, len(got), len(want))
		}
		for k := range want {
			same(t, fmt.Sprintf("limit %d: identity %d", limit, k), got[k], want[k])
		}
	}

	// The cursor need not be a stored identity: an openid between two, or an appid with none.
	page, err := s.IdentitiesAfter(ctx, "wxapp1", "openid1x", 2)
	must(t, err, "IdentitiesAfter a missing openid")
	if len(page) != 2 || page[0].OpenID != "openid2" || page[1].OpenID != "openid3" || page[1].AppID != "wxapp1" {
		t.Errorf("after wxapp1/openid1x: %d identities, want wxapp1/openid2, wxapp1/openid3", len(page))
	}
	page, err = s.IdentitiesAfter(ctx, "wxapp2z", "", 5)
	must(t, err, "IdentitiesAfter a missing appid")
	if len(page) != 3 || page[0].AppID != "wxapp3" || page[0].OpenID != "openid1" {
		t.Errorf("after wxapp2z: %d identities, want the 3 of wxapp3", len(page))
	}
	page, err = s.IdentitiesAfter(ctx, "wxapp3", "openid3", 5)
	if err != nil || page == nil || len(page) != 0 {
		t.Errorf("after the last identity: %d, %v; want an empty slice, nil", len(page), err)
	}
	_, err = s.IdentitiesAfter(ctx, "", "", 0)
	wantCode(t, err, wxlogin.EINVALID, "IdentitiesAfter with limit 0")

	// Inside a transaction, it sees the transaction's own writes.
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
		if err := tx.DeleteIdentity(ctx, "wxapp1", "openid1"); err != nil {
			return err
		}
		page, err := tx.IdentitiesAfter(ctx, "", "", 1)
		if err != nil {
			return err
		}
		if len(page) != 1 || page[0].AppID != "wxapp1" || page[0].OpenID != "openid2" {
			t.Errorf("in a transaction after a delete: %d identities, want wxapp1/openid2 first", len(page))
		}
		return nil
	}), "Update")
}
