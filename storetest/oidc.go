package storetest

// The OpenID Connect provider's rows:
//
//   - an auth request round-trips every field (lists, times in UTC, the bool), by id and by code
//     hash; "" finds no request by code; a taken id or code hash is ECONFLICT; updating a missing
//     request is ENOTFOUND;
//   - DeleteOIDCAuthRequestsBefore deletes exactly the requests expired before the cutoff whose
//     codes (if any) expired too;
//   - a grant round-trips, needs its session (ENOTFOUND), is one per session (ECONFLICT), dies
//     with its session, and DeleteOIDCGrantsBefore deletes exactly those expired before the cutoff;
//   - the methods work inside Update and roll back with it.

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

func testOIDCAuthRequests(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	r := &wxlogin.OIDCAuthRequest{ID: "oar_1", ClientID: "web", RedirectURI: "https://rp.example.com/cb",
		Scopes: []string{"openid", "profile", "offline_access"}, State: "st", Nonce: "no", ResponseMode: "form_post",
		CodeChallenge: "chal", CodeChallengeMethod: "S256", CreatedAt: t0.In(zone(t)), ExpiresAt: at(15 * time.Minute)}
	must(t, s.CreateOIDCAuthRequest(ctx, r), "CreateOIDCAuthRequest")
	got, err := s.OIDCAuthRequest(ctx, "oar_1")
	must(t, err, "OIDCAuthRequest")
	want := *r
	want.CreatedAt = t0
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("OIDCAuthRequest:\n got %+v\nwant %+v", got, &want)
	}
	wantCode(t, s.CreateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{ID: "oar_1"}), wxlogin.ECONFLICT, "CreateOIDCAuthRequest with a taken id")
	wantCode(t, s.CreateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{}), wxlogin.EINVALID, "CreateOIDCAuthRequest without an id")
	_, err = s.OIDCAuthRequest(ctx, "oar_missing")
	wantCode(t, err, wxlogin.ENOTFOUND, "OIDCAuthRequest of a missing id")
	_, err = s.OIDCAuthRequestByCode(ctx, "")
	wantCode(t, err, wxlogin.ENOTFOUND, "OIDCAuthRequestByCode of \"\"")

	// Logged in, coded, redeemed, reused, attached.
	got.UserID, got.AMR, got.AuthTime, got.Browser, got.IP, got.UserAgent = "usr_1", []string{"pwd", "mfa"}, at(time.Minute), "b", "10.0.0.1", "ua"
	got.CodeHash, got.CodeExpiresAt, got.CodeUsedAt, got.CodeReused, got.SessionID = "hash-1", at(2*time.Minute), at(90*time.Second), true, "ses_1"
	must(t, s.UpdateOIDCAuthRequest(ctx, got), "UpdateOIDCAuthRequest")
	byCode, err := s.OIDCAuthRequestByCode(ctx, "hash-1")
	must(t, err, "OIDCAuthRequestByCode")
	if !reflect.DeepEqual(byCode, got) {
		t.Errorf("OIDCAuthRequestByCode:\n got %+v\nwant %+v", byCode, got)
	}
	wantCode(t, s.UpdateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{ID: "oar_missing"}), wxlogin.ENOTFOUND, "UpdateOIDCAuthRequest of a missing id")

	// Many requests without a code; a code hash belongs to one.
	must(t, s.CreateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{ID: "oar_2", CreatedAt: t0, ExpiresAt: at(time.Minute)}), "CreateOIDCAuthRequest oar_2")
	must(t, s.CreateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{ID: "oar_3", CreatedAt: t0, ExpiresAt: at(time.Minute)}), "CreateOIDCAuthRequest oar_3")
	r2, _ := s.OIDCAuthRequest(ctx, "oar_2")
	r2.CodeHash = "hash-1"
	wantCode(t, s.UpdateOIDCAuthRequest(ctx, r2), wxlogin.ECONFLICT, "UpdateOIDCAuthRequest with another request's code hash")
	wantCode(t, s.CreateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{ID: "oar_4", CodeHash: "hash-1"}), wxlogin.ECONFLICT, "CreateOIDCAuthRequest with a taken code hash")

	// Pruning: requests expired before the cutoff whose codes expired too.
	cutoff := at(5 * time.Minute)
	specs := []struct {
		id            string
		expires, code time.Time
		gone          bool
	}{
		{"oar_p_open", at(10 * time.Minute), time.Time{}, false},
		{"oar_p_expired", at(time.Minute), time.Time{}, true},
		{"oar_p_at_cutoff", cutoff, time.Time{}, false},
		{"oar_p_code_alive", at(time.Minute), at(6 * time.Minute), false},
		{"oar_p_code_dead", at(time.Minute), at(2 * time.Minute), true},
	}
	for _, sp := range specs {
		x := &wxlogin.OIDCAuthRequest{ID: sp.id, CreatedAt: t0, ExpiresAt: sp.expires, CodeExpiresAt: sp.code}
		if !sp.code.IsZero() {
			x.CodeHash = "hash-" + sp.id
		}
		must(t, s.CreateOIDCAuthRequest(ctx, x), "CreateOIDCAuthRequest "+sp.id)
	}
	_, err = s.DeleteOIDCAuthRequestsBefore(ctx, time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "DeleteOIDCAuthRequestsBefore with a zero time")
	n, err := s.DeleteOIDCAuthRequestsBefore(ctx, cutoff.In(zone(t)))
	must(t, err, "DeleteOIDCAuthRequestsBefore")
	// oar_2 and oar_3 (expired at 1m) go too; oar_1 expires at 15m.
	if n != 4 {
		t.Errorf("DeleteOIDCAuthRequestsBefore: %d deleted, want 4", n)
	}
	if _, err := s.OIDCAuthRequest(ctx, "oar_1"); err != nil {
		t.Errorf("oar_1 was pruned before it expired: %v", err)
	}
	for _, sp := range specs {
		_, err := s.OIDCAuthRequest(ctx, sp.id)
		if gone := wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND; gone != sp.gone {
			t.Errorf("%s: gone %v, want %v (%v)", sp.id, gone, sp.gone, err)
		}
	}
}

func testOIDCGrants(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	must(t, s.Update(ctx, func(tx wxlogin.Tx) error {
		createUser(t, tx, "usr_1")
		for _, id := range []string{"ses_1", "ses_2", "ses_3"} {
			createSession(t, tx, id, "usr_1", t0)
		}
		return nil
	}), "Update")
	g := &wxlogin.OIDCGrant{SessionID: "ses_1", ClientID: "web", UserID: "usr_1", Scopes: []string{"openid", "phone"},
		AMR: []string{"pwd"}, AuthTime: t0.In(zone(t)), CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, s.CreateOIDCGrant(ctx, g), "CreateOIDCGrant")
	got, err := s.OIDCGrant(ctx, "ses_1")
	must(t, err, "OIDCGrant")
	want := *g
	want.AuthTime = t0
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("OIDCGrant:\n got %+v\nwant %+v", got, &want)
	}
	wantCode(t, s.CreateOIDCGrant(ctx, &wxlogin.OIDCGrant{SessionID: "ses_1"}), wxlogin.ECONFLICT, "a second grant of a session")
	wantCode(t, s.CreateOIDCGrant(ctx, &wxlogin.OIDCGrant{SessionID: "ses_missing"}), wxlogin.ENOTFOUND, "a grant without its session")
	wantCode(t, s.CreateOIDCGrant(ctx, &wxlogin.OIDCGrant{}), wxlogin.EINVALID, "a grant without a session id")
	_, err = s.OIDCGrant(ctx, "ses_2")
	wantCode(t, err, wxlogin.ENOTFOUND, "OIDCGrant of a session without one")

	must(t, s.CreateOIDCGrant(ctx, &wxlogin.OIDCGrant{SessionID: "ses_2", CreatedAt: t0, ExpiresAt: at(time.Minute)}), "CreateOIDCGrant ses_2")
	must(t, s.CreateOIDCGrant(ctx, &wxlogin.OIDCGrant{SessionID: "ses_3", CreatedAt: t0, ExpiresAt: at(3 * time.Minute)}), "CreateOIDCGrant ses_3")
	_, err = s.DeleteOIDCGrantsBefore(ctx, time.Time{})
	wantCode(t, err, wxlogin.EINVALID, "DeleteOIDCGrantsBefore with a zero time")
	n, err := s.DeleteOIDCGrantsBefore(ctx, at(2*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteOIDCGrantsBefore: %d, %v; want 1", n, err)
	}
	if _, err := s.OIDCGrant(ctx, "ses_2"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("expired grant kept: %v", err)
	}
	// A grant dies with its session (here: with its user's).
	must(t, s.DeleteUser(ctx, "usr_1"), "DeleteUser")
	for _, id := range []string{"ses_1", "ses_3"} {
		if _, err := s.OIDCGrant(ctx, id); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			t.Errorf("grant of %s outlived its session: %v", id, err)
		}
	}
}

func testOIDCInUpdate(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	errRollback := errors.New("roll back")
	err := s.Update(ctx, func(tx wxlogin.Tx) error {
		must(t, tx.CreateOIDCAuthRequest(ctx, &wxlogin.OIDCAuthRequest{ID: "oar_tx", CreatedAt: t0, ExpiresAt: at(time.Minute)}), "tx.CreateOIDCAuthRequest")
		r, err := tx.OIDCAuthRequest(ctx, "oar_tx")
		must(t, err, "tx.OIDCAuthRequest")
		r.CodeHash = "hash-tx"
		must(t, tx.UpdateOIDCAuthRequest(ctx, r), "tx.UpdateOIDCAuthRequest")
		if _, err := tx.OIDCAuthRequestByCode(ctx, "hash-tx"); err != nil {
			t.Errorf("tx.OIDCAuthRequestByCode: %v", err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v", err)
	}
	if _, err := s.OIDCAuthRequest(ctx, "oar_tx"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("a rolled-back auth request was kept: %v", err)
	}
}
