package auth

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	_ "modernc.org/sqlite"
)

// personalIn returns, for each table of the SQLite store, the rows holding any of needles.
func personalIn(t *testing.T, path string, needles []string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("only tables %q", tables)
	}
	var found []string
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			row := fmt.Sprint(vals...)
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					row += " " + cols[i] + "=" + string(b)
				}
			}
			for _, n := range needles {
				if strings.Contains(row, n) {
					found = append(found, table+": "+n)
				}
			}
		}
		rows.Close()
	}
	return found
}

func TestDeleteMeRemovesEveryPersonalDatum(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	e := newOutboxEnvAt(t, path, 0, newFakeWeChat("wxa", true), newFakeWeChat("wxb", true))
	e.signUp(t, "amy")
	l, err := e.wechat("wxa", "amy", "amy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.wechat("wxb", "amy", ""); err != nil {
		t.Fatal(err)
	}
	u, _ := e.store.User(ctx, l.User.ID)
	u.Nickname, u.AvatarURL, u.Phone, u.PhoneCountryCode, u.PhoneVerifiedAt = "Amy Nick", "https://img.example/amy.png", "13912345678", "86", e.clock()
	if err := e.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	other, _ := e.wechat("wxa", "zed", "") // someone else, untouched
	p := e.principal(t, l)
	meta := Meta{IP: "10.7.7.7", UserAgent: "deleting-agent"}

	for _, c := range []struct {
		proof DeletionProof
		code  string
	}{
		{DeletionProof{}, wxlogin.EINVALID},
		{DeletionProof{Password: "wrong password!"}, wxlogin.ECREDENTIALS},
		{DeletionProof{Code: e.apps["wxa"].login("zed")}, wxlogin.ECREDENTIALS},
	} {
		if _, err := e.svc.DeleteMe(ctx, p, c.proof, meta); wxlogin.ErrorCode(err) != c.code {
			t.Fatalf("DeleteMe with %+v: %v, want %s", c.proof, err, c.code)
		}
	}
	if !e.exists(t, l.User.ID) {
		t.Fatal("a refused deletion deleted")
	}

	d, err := e.svc.DeleteMe(ctx, p, DeletionProof{Code: e.apps["wxa"].login("amy")}, meta)
	if err != nil || !d.Deleted {
		t.Fatalf("DeleteMe: %+v, %v", d, err)
	}
	if _, err := e.svc.Authenticate(ctx, l.AccessToken.Reveal()); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
		t.Fatalf("the deleted user's token: %v", err)
	}
	needles := []string{"o-wxa-amy", "o-wxb-amy", "u-amy", "Amy Nick", "amy.png", "13912345678", "\"amy\"", " amy ",
		l.Session.ID, "10.7.7.7", "deleting-agent", "10.9.9.9"}
	if found := personalIn(t, path, needles); len(found) > 0 {
		t.Fatalf("personal data left after the deletion: %q", found)
	}
	// The user id itself remains only where it names the deletion: the audit event user.delete
	// and the outbox's events (user.deleted tells business systems whom to forget).
	found := personalIn(t, path, []string{l.User.ID})
	for _, f := range found {
		if !strings.HasPrefix(f, "audit_events:") && !strings.HasPrefix(f, "events:") && !strings.HasPrefix(f, "webhook_deliveries:") {
			t.Errorf("the deleted id remains in %s", f)
		}
	}
	events, _ := e.store.AuditEvents(ctx, wxlogin.AuditFilter{UserID: l.User.ID})
	if len(events) != 1 || events[0].Type != "user.delete" || !strings.Contains(events[0].Detail, Pseudonym(l.User.ID)) {
		t.Errorf("audit events under the deleted id: %+v", events)
	}
	if pseud, _ := e.store.AuditEvents(ctx, wxlogin.AuditFilter{UserID: Pseudonym(l.User.ID)}); len(pseud) < 3 {
		t.Errorf("the user's history is not kept under its pseudonym: %d events", len(pseud))
	}
	if !slices.Contains(outbox(t, e.store), "user.deleted@deletions") {
		t.Errorf("no user.deleted event: %q", outbox(t, e.store))
	}
	if _, err := e.svc.Authenticate(ctx, other.AccessToken.Reveal()); err != nil {
		t.Errorf("another user's session: %v", err)
	}
}

func TestDeleteMeAfterTheGracePeriod(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, 24*time.Hour, newFakeWeChat("wxa", false))
	l, _ := e.wechat("wxa", "bea", "")
	d, err := e.svc.DeleteMe(ctx, e.principal(t, l), DeletionProof{Code: e.apps["wxa"].login("bea")}, Meta{})
	if err != nil || d.Deleted || !d.DeleteAt.Equal(e.clock().Add(24*time.Hour)) {
		t.Fatalf("DeleteMe: %+v, %v", d, err)
	}
	if _, err := e.svc.Authenticate(ctx, l.AccessToken.Reveal()); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
		t.Fatalf("sessions did not end at once: %v", err)
	}
	e.advance(23 * time.Hour)
	if n, err := e.svc.RunDeletions(ctx); n != 0 || err != nil || !e.exists(t, l.User.ID) {
		t.Fatalf("before the end of the grace period: %d, %v", n, err)
	}
	e.advance(2 * time.Hour)
	if n, err := e.svc.RunDeletions(ctx); n != 1 || err != nil || e.exists(t, l.User.ID) {
		t.Fatalf("after the grace period: %d, %v", n, err)
	}
	if e.userOf(t, "wxa", "bea") != "" {
		t.Fatal("the identity survived")
	}
}

func TestAdminDeleteUser(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, 7*24*time.Hour, newFakeWeChat("wxa", false))
	l, _ := e.wechat("wxa", "cy", "")
	if err := e.svc.DeleteUser(ctx, Admin{Name: "ops"}, l.User.ID); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, l.User.ID) {
		t.Fatal("an operator's deletion waited")
	}
	if err := e.svc.DeleteUser(ctx, Admin{Name: "ops"}, l.User.ID); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Fatalf("deleting again: %v", err)
	}
}
