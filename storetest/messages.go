package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// testConflictMessages pins the message of each unique rule and missing parent: both stores name
// what broke in the same words, and never echo a value (an id, unionid, phone number or hash).
func testConflictMessages(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	setup := []error{
		s.CreateUser(ctx, &wxlogin.User{ID: "usr_1", UnionID: "union-SECRETISH", Phone: "5551234", PhoneCountryCode: "1"}),
		s.CreateUser(ctx, &wxlogin.User{ID: "usr_2"}),
		s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_1", Username: "alice"}),
		s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "o1", UserID: "usr_1"}),
		s.CreateSession(ctx, &wxlogin.Session{ID: "ses_1", UserID: "usr_1"}),
		s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h1", SessionID: "ses_1"}),
		s.CreateSigningKey(ctx, &wxlogin.SigningKey{ID: "key_1"}),
	}
	must(t, errors.Join(setup...), "setup")
	tests := []struct {
		err       error
		code, msg string
	}{
		{s.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}), wxlogin.ECONFLICT, "user already exists"},
		{s.CreateUser(ctx, &wxlogin.User{ID: "usr_3", UnionID: "union-SECRETISH"}), wxlogin.ECONFLICT, "unionid already belongs to another user"},
		{s.UpdateUser(ctx, &wxlogin.User{ID: "usr_2", UnionID: "union-SECRETISH"}), wxlogin.ECONFLICT, "unionid already belongs to another user"},
		{s.UpdateUser(ctx, &wxlogin.User{ID: "usr_2", Phone: "5551234", PhoneCountryCode: "1"}), wxlogin.ECONFLICT, "phone number already belongs to another user"},
		{s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_2", Username: "alice"}), wxlogin.ECONFLICT, "username is taken"},
		{s.CreateAccount(ctx, &wxlogin.Account{UserID: "usr_1", Username: "bob"}), wxlogin.ECONFLICT, "user already has an account"},
		{s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "o1", UserID: "usr_2"}), wxlogin.ECONFLICT, "identity already exists"},
		{s.CreateSession(ctx, &wxlogin.Session{ID: "ses_1", UserID: "usr_2"}), wxlogin.ECONFLICT, "session already exists"},
		{s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h1", SessionID: "ses_1"}), wxlogin.ECONFLICT, "refresh token already exists"},
		{s.CreateSigningKey(ctx, &wxlogin.SigningKey{ID: "key_1"}), wxlogin.ECONFLICT, "signing key already exists"},
		{s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "o2", UserID: "usr_9"}), wxlogin.ENOTFOUND, "user not found"},
		{s.UpdateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "o1", UserID: "usr_9"}), wxlogin.ENOTFOUND, "user not found"},
		{s.CreateSession(ctx, &wxlogin.Session{ID: "ses_2", UserID: "usr_9"}), wxlogin.ENOTFOUND, "user not found"},
		{s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "hash-SECRETISH", SessionID: "ses_9"}), wxlogin.ENOTFOUND, "session not found"},
	}
	for i, tc := range tests {
		if code, msg := wxlogin.ErrorCode(tc.err), wxlogin.ErrorMessage(tc.err); code != tc.code || msg != tc.msg {
			t.Errorf("#%d: %q %q (%v), want %q %q", i, code, msg, tc.err, tc.code, tc.msg)
		}
		for _, v := range []string{"SECRETISH", "5551234", "usr_9", "ses_9"} {
			if tc.err != nil && strings.Contains(tc.err.Error(), v) {
				t.Errorf("#%d: error %q holds the value %q", i, tc.err, v)
			}
		}
	}
}

// testOrderingOfZeroTimes checks that rows without a creation time sort as the oldest: first in
// IdentitiesByUser and SigningKeys, last in SessionsByUser (newest first).
func testOrderingOfZeroTimes(t *testing.T, s wxlogin.Store) {
	ctx := t.Context()
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	errs := []error{
		s.CreateUser(ctx, &wxlogin.User{ID: "usr_1"}),
		s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: "o1", UserID: "usr_1", CreatedAt: t1}),
		s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_b", OpenID: "o1", UserID: "usr_1"}),
		s.CreateSession(ctx, &wxlogin.Session{ID: "ses_new", UserID: "usr_1", CreatedAt: t1}),
		s.CreateSession(ctx, &wxlogin.Session{ID: "ses_old", UserID: "usr_1"}),
		s.CreateSigningKey(ctx, &wxlogin.SigningKey{ID: "key_new", CreatedAt: t1}),
		s.CreateSigningKey(ctx, &wxlogin.SigningKey{ID: "key_old"}),
	}
	must(t, errors.Join(errs...), "setup")
	ids, err := s.IdentitiesByUser(ctx, "usr_1")
	if err != nil || len(ids) != 2 || ids[0].AppID != "wx_b" {
		t.Errorf("IdentitiesByUser: %v, %v; want wx_b (no CreatedAt) first", ids, err)
	}
	ss, err := s.SessionsByUser(ctx, "usr_1")
	if err != nil || len(ss) != 2 || ss[0].ID != "ses_new" {
		t.Errorf("SessionsByUser: %v, %v; want ses_new first", ss, err)
	}
	ks, err := s.SigningKeys(ctx)
	if err != nil || len(ks) != 2 || ks[0].ID != "key_old" {
		t.Errorf("SigningKeys: %v, %v; want key_old first", ks, err)
	}
}
