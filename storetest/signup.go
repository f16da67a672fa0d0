package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// testLinkTokens pins the link tokens of refused sign-ups: stored and read back whole, found only
// by hash, deleted once (ENOTFOUND after), unique by hash, and pruned once expired when another
// is created — inside transactions as alone.
func testLinkTokens(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	l := &wxlogin.LinkToken{Hash: "h1", AppID: "wx_a", OpenID: "o1", UnionID: "u1", SessionKey: []byte("sealed"),
		CreatedAt: t0, ExpiresAt: at(10 * time.Minute)}
	must(t, s.CreateLinkToken(ctx, l), "CreateLinkToken")
	got, err := s.LinkToken(ctx, "h1")
	must(t, err, "LinkToken")
	same(t, "link token", got, l)
	wantCode(t, s.CreateLinkToken(ctx, l), wxlogin.ECONFLICT, "CreateLinkToken of a taken hash")
	wantCode(t, s.CreateLinkToken(ctx, &wxlogin.LinkToken{AppID: "wx_a", ExpiresAt: t0}), wxlogin.EINVALID, "CreateLinkToken without a hash")
	wantCode(t, s.CreateLinkToken(ctx, nil), wxlogin.EINVALID, "CreateLinkToken(nil)")
	_, err = s.LinkToken(ctx, "h2")
	wantCode(t, err, wxlogin.ENOTFOUND, "LinkToken of an unknown hash")

	// Spent once: the second delete of a racing pair finds nothing.
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
		if _, err := tx.LinkToken(ctx, "h1"); err != nil {
			return err
		}
		return tx.DeleteLinkToken(ctx, "h1")
	}), "spend in a transaction")
	wantCode(t, s.DeleteLinkToken(ctx, "h1"), wxlogin.ENOTFOUND, "DeleteLinkToken twice")
	_, err = s.LinkToken(ctx, "h1")
	wantCode(t, err, wxlogin.ENOTFOUND, "LinkToken after its delete")

	// An expired token goes when a later one is created; a live one stays.
	must(t, s.CreateLinkToken(ctx, &wxlogin.LinkToken{Hash: "old", AppID: "wx_a", OpenID: "o2", CreatedAt: t0, ExpiresAt: at(time.Minute)}), "create old")
	must(t, s.CreateLinkToken(ctx, &wxlogin.LinkToken{Hash: "live", AppID: "wx_a", OpenID: "o3", CreatedAt: t0, ExpiresAt: at(time.Hour)}), "create live")
	must(t, s.CreateLinkToken(ctx, &wxlogin.LinkToken{Hash: "new", AppID: "wx_a", OpenID: "o4", CreatedAt: at(2 * time.Minute), ExpiresAt: at(12 * time.Minute)}), "create new")
	_, err = s.LinkToken(ctx, "old")
	wantCode(t, err, wxlogin.ENOTFOUND, "an expired link token after a later create")
	if _, err := s.LinkToken(ctx, "live"); err != nil {
		t.Errorf("a live link token was pruned: %v", err)
	}
	// A rolled-back spend leaves the token.
	_ = s.Update(ctx, func(tx wxlogin.Tx) error {
		if err := tx.DeleteLinkToken(ctx, "live"); err != nil {
			return err
		}
		return wxlogin.Errorf(wxlogin.ECONFLICT, "roll back")
	})
	if _, err := s.LinkToken(ctx, "live"); err != nil {
		t.Errorf("a rolled-back delete removed the link token: %v", err)
	}
}

// testAvatars pins avatars: stored and read back byte for byte, an id stored again keeps the
// first bytes without error, unknown ids are ENOTFOUND, and empty ones EINVALID.
func testAvatars(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	data := []byte("\x89PNG\r\n\x1a\n\x00binary\xff")
	a := &wxlogin.Avatar{ID: "abc.png", ContentType: "image/png", Data: data, CreatedAt: t0}
	must(t, s.PutAvatar(ctx, a), "PutAvatar")
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
		return tx.PutAvatar(ctx, &wxlogin.Avatar{ID: "abc.png", ContentType: "image/png", Data: []byte("other"), CreatedAt: at(time.Hour)})
	}), "PutAvatar of a stored id")
	got, err := s.Avatar(ctx, "abc.png")
	must(t, err, "Avatar")
	if !bytes.Equal(got.Data, data) || got.ContentType != "image/png" || !got.CreatedAt.Equal(t0) || got.ID != "abc.png" {
		t.Errorf("Avatar: %+v", got)
	}
	_, err = s.Avatar(ctx, "nope.png")
	wantCode(t, err, wxlogin.ENOTFOUND, "Avatar of an unknown id")
	wantCode(t, s.PutAvatar(ctx, &wxlogin.Avatar{ID: "x.png", ContentType: "image/png"}), wxlogin.EINVALID, "PutAvatar without data")
	wantCode(t, s.PutAvatar(ctx, nil), wxlogin.EINVALID, "PutAvatar(nil)")
}
