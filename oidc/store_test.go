package oidc_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	wxoidc "github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/sqlite"
)

// The provider's Store steps behave alike in memory and over wxlogin's SQL store (oidc.NewStore).
func TestStores(t *testing.T) {
	stores := map[string]func(t *testing.T) wxoidc.Store{
		"memory": func(*testing.T) wxoidc.Store { return wxoidc.NewMemoryStore() },
		"sqlite": func(t *testing.T) wxoidc.Store {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			if err := st.CreateUser(ctx, &wxlogin.User{ID: "usr_1", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateSession(ctx, &wxlogin.Session{ID: "ses_1", UserID: "usr_1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			return wxoidc.NewStore(st)
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) { testStore(t, newStore(t)) })
	}
}

func testStore(t *testing.T, s wxoidc.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	code := func(err error) string { return wxlogin.ErrorCode(err) }
	r := &wxoidc.AuthRequest{ID: "oar_1", ClientID: "web", RedirectURI: "https://rp/cb", Scopes: []string{"openid"},
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := s.CreateAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAuthRequest(ctx, r); code(err) != wxlogin.ECONFLICT {
		t.Fatalf("duplicate request: %v", err)
	}
	if _, err := s.AuthRequest(ctx, "oar_missing"); code(err) != wxlogin.ENOTFOUND {
		t.Fatalf("missing request: %v", err)
	}
	if err := s.CompleteAuthRequest(ctx, "oar_missing", wxoidc.Login{}); code(err) != wxlogin.ENOTFOUND {
		t.Fatalf("complete a missing request: %v", err)
	}
	login := wxoidc.Login{UserID: "usr_1", AMR: []string{"pwd"}, AuthTime: now, Browser: "b", IP: "10.0.0.1", UserAgent: "ua"}
	if err := s.CompleteAuthRequest(ctx, "oar_1", login); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthRequest(ctx, "oar_1")
	if err != nil || got.UserID != "usr_1" || len(got.AMR) != 1 || got.AMR[0] != "pwd" || !got.AuthTime.Equal(now) || got.Browser != "b" {
		t.Fatalf("completed request %+v, %v", got, err)
	}
	if err := s.IssueCode(ctx, "oar_1", "hash-1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.IssueCode(ctx, "oar_1", "hash-2", now.Add(time.Minute)); code(err) != wxlogin.ECONFLICT {
		t.Fatalf("a second code: %v", err)
	}
	if err := s.CompleteAuthRequest(ctx, "oar_1", login); code(err) != wxlogin.ECONFLICT {
		t.Fatalf("complete a coded request: %v", err)
	}
	if _, err := s.RedeemCode(ctx, "hash-missing", now); code(err) != wxlogin.ENOTFOUND {
		t.Fatalf("redeem an unknown code: %v", err)
	}

	// Concurrent redemptions of one code: exactly one sees it unused.
	var first atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before, err := s.RedeemCode(ctx, "hash-1", now)
			if err != nil {
				t.Error(err)
				return
			}
			if before.CodeUsedAt.IsZero() {
				first.Add(1)
			}
		}()
	}
	wg.Wait()
	if first.Load() != 1 {
		t.Fatalf("%d redemptions saw the code unused, want 1", first.Load())
	}
	after, err := s.AttachSession(ctx, "oar_1", "ses_1")
	if err != nil || after.SessionID != "ses_1" || !after.CodeReused {
		t.Fatalf("attach after reuse: %+v, %v", after, err)
	}

	g := &wxoidc.Grant{SessionID: "ses_1", ClientID: "web", UserID: "usr_1", Scopes: []string{"openid", "phone"}, AMR: []string{"pwd"},
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGrant(ctx, g); code(err) != wxlogin.ECONFLICT {
		t.Fatalf("a second grant: %v", err)
	}
	if gg, err := s.Grant(ctx, "ses_1"); err != nil || gg.ClientID != "web" || len(gg.Scopes) != 2 {
		t.Fatalf("grant %+v, %v", gg, err)
	}
	if n, err := s.DeleteAuthRequestsBefore(ctx, now.Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("prune requests: %d, %v", n, err)
	}
	if n, err := s.DeleteGrantsBefore(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune grants: %d, %v", n, err)
	}
}
