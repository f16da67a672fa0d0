package auth

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// newOutboxEnv is newRuleEnv with a deletion grace period and webhook routes: "all" (no filter: every type but
// login.succeeded), "logins" (only login.succeeded) and "deletions" (user.deleted, user.merged).
func newOutboxEnv(t *testing.T, grace time.Duration, apps ...*fakeWeChat) *ruleEnv {
	t.Helper()
	return newOutboxEnvAt(t, filepath.Join(t.TempDir(), "db.sqlite"), grace, apps...)
}

// newOutboxEnvAt is newOutboxEnv with its SQLite database at path.
func newOutboxEnvAt(t *testing.T, path string, grace time.Duration, apps ...*fakeWeChat) *ruleEnv {
	t.Helper()
	e, c := openRuleEnv(t, path)
	for _, a := range apps {
		e.apps[a.appid] = a
		c.Apps = append(c.Apps, AppClient{App: wxlogin.App{ID: a.appid}, WeChat: a})
	}
	only := func(types ...string) func(string) bool {
		return func(t string) bool { return slices.Contains(types, t) }
	}
	c.DeletionGrace = grace
	c.Webhooks = []WebhookRoute{
		{Endpoint: "all", Wants: func(t string) bool { return t != "login.succeeded" }},
		{Endpoint: "logins", Wants: only("login.succeeded")},
		{Endpoint: "deletions", Wants: only("user.deleted", "user.merged")},
	}
	e.serve(t, c)
	return e
}

// outbox returns "type@endpoint" of every delivery, oldest event first, then by endpoint.
func outbox(t *testing.T, s wxlogin.Store) []string {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), wxlogin.DeliveryFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ds, func(a, b *wxlogin.Delivery) int {
		if a.EventSeq != b.EventSeq {
			return int(a.EventSeq - b.EventSeq)
		}
		return strings.Compare(a.Endpoint, b.Endpoint)
	})
	out := []string{}
	for _, d := range ds {
		out = append(out, d.EventType+"@"+d.Endpoint)
	}
	return out
}

func TestOutboxWritesTheEventsOfCommittedChanges(t *testing.T) {
	ctx := context.Background()
	e := newOutboxEnv(t, 0, newFakeWeChat("wxa", true), newFakeWeChat("wxc", false))
	want := []string{}
	check := func(step string, more ...string) {
		t.Helper()
		want = append(want, more...)
		if got := outbox(t, e.store); !slices.Equal(got, want) {
			t.Fatalf("%s: outbox\n got %q\nwant %q", step, got, want)
		}
	}

	first, err := e.wechat("wxa", "amy", "")
	if err != nil {
		t.Fatal(err)
	}
	check("first login", "user.created@all", "login.succeeded@logins")
	if _, err := e.wechat("wxa", "amy", ""); err != nil {
		t.Fatal(err)
	}
	check("second login", "login.succeeded@logins")

	// A refused change rolls back, and its event with it.
	e.signUp(t, "bob")
	check("sign-up", "user.created@all")
	if _, err := e.wechat("wxc", "bob", "bob"); err != nil {
		t.Fatal(err)
	}
	check("bind on login", "identity.bound@all", "login.succeeded@logins")
	e.signUp(t, "gus")
	check("sign-up", "user.created@all")
	if _, err := e.wechat("wxc", "bob", "gus"); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
		t.Fatalf("taking bob's identity for gus: %v", err)
	}
	check("refused bind (nothing written)")

	// A merge: the bare WeChat user joins the account.
	e.wechat("wxc", "cat", "")
	check("bare user", "user.created@all", "login.succeeded@logins")
	e.signUp(t, "cat")
	check("sign-up", "user.created@all")
	if _, err := e.wechat("wxc", "cat", "cat"); err != nil {
		t.Fatal(err)
	}
	check("merge", "user.merged@all", "user.merged@deletions", "login.succeeded@logins")

	p := e.principal(t, first)
	if err := e.svc.Logout(ctx, p, Meta{}); err != nil {
		t.Fatal(err)
	}
	check("logout", "session.revoked@all")
	if _, err := e.svc.SetUserDisabled(ctx, Admin{Name: "ops"}, first.User.ID, true); err != nil {
		t.Fatal(err)
	}
	check("disable", "user.disabled@all")

	// The event carries the audit facts, the subject and a fresh id.
	ds, _ := e.store.Deliveries(ctx, wxlogin.DeliveryFilter{Endpoint: "all", Limit: 1})
	ev, err := e.store.Event(ctx, ds[0].EventID)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &data); err != nil || ev.UserID != first.User.ID || data["actor"] != "admin:ops" ||
		data["audit_type"] != "user.disable" || ev.Type != "user.disabled" || !ev.Time.Equal(e.clock()) {
		t.Fatalf("event %+v, data %v (%v)", ev, data, err)
	}
}
