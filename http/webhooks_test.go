package http_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// withWebhooks routes every event but login.succeeded to endpoint "crm".
func withWebhooks(c *auth.Config, _ *wxhttp.Config) {
	c.Webhooks = []auth.WebhookRoute{{Endpoint: "crm", Wants: func(t string) bool { return t != "login.succeeded" }}}
}

type deliveryJSON struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventSeq  int64  `json:"event_seq"`
	EventType string `json:"event_type"`
	Endpoint  string `json:"endpoint"`
	UserID    string `json:"user_id"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
}

type deliveriesJSON struct {
	Deliveries []deliveryJSON `json:"deliveries"`
	NextCursor string         `json:"next_cursor"`
}

func TestAdminWebhookDeliveries(t *testing.T) {
	a := newAdminEnv(t, withWebhooks)
	amy := a.remember(a.login(appA, "amy"))
	bob := a.remember(a.login(appA, "bob"))
	a.adminJSON("POST", "/admin/v1/users/"+bob.User.ID+"/disable", 200, nil)

	var page deliveriesJSON
	a.adminJSON("GET", "/admin/v1/webhooks/deliveries", 200, &page)
	var types []string
	for _, d := range page.Deliveries {
		types = append(types, d.EventType+":"+d.UserID)
		if d.Endpoint != "crm" || d.Status != "pending" || d.Attempts != 0 || d.ID == "" || d.EventID == "" {
			t.Errorf("delivery %+v", d)
		}
	}
	want := []string{"user.disabled:" + bob.User.ID, "user.created:" + bob.User.ID, "user.created:" + amy.User.ID}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("deliveries %q, want %q", types, want)
	}

	// Paging and filters.
	a.adminJSON("GET", "/admin/v1/webhooks/deliveries?limit=2", 200, &page)
	if len(page.Deliveries) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %+v", page)
	}
	cursor := page.NextCursor
	page = deliveriesJSON{}
	a.adminJSON("GET", "/admin/v1/webhooks/deliveries?limit=2&cursor="+cursor, 200, &page)
	if len(page.Deliveries) != 1 || page.Deliveries[0].UserID != amy.User.ID || page.NextCursor != "" {
		t.Fatalf("second page: %+v", page)
	}
	a.adminJSON("GET", "/admin/v1/webhooks/deliveries?user_id="+amy.User.ID+"&status=pending", 200, &page)
	if len(page.Deliveries) != 1 || page.Deliveries[0].EventType != "user.created" {
		t.Fatalf("amy's: %+v", page)
	}
	for _, q := range []string{"status=lost", "cursor=x", "limit=0", "endpoint=crm&endpoint=x", "url=x"} {
		if r := a.adminDo("GET", "/admin/v1/webhooks/deliveries?"+q); r.Status != 400 {
			t.Errorf("?%s: %d %s, want 400", q, r.Status, r.Body)
		}
	}
	if len(a.events("admin.webhooks.read")) == 0 {
		t.Error("listing deliveries is not audited")
	}

	// One delivery, with its (no) attempts; a missing one is not_found.
	id := page.Deliveries[0].ID
	var one struct {
		Delivery deliveryJSON `json:"delivery"`
		Attempts []any        `json:"attempts"`
	}
	a.adminJSON("GET", "/admin/v1/webhooks/deliveries/"+id, 200, &one)
	if one.Delivery.ID != id || one.Attempts == nil || len(one.Attempts) != 0 {
		t.Fatalf("delivery: %+v", one)
	}
	a.adminJSON("GET", "/admin/v1/webhooks/deliveries/dlv_missing", 404, nil)

	// Redeliver one; replay a range.
	a.adminJSON("POST", "/admin/v1/webhooks/deliveries/"+id+"/redeliver", 204, nil)
	a.adminJSON("POST", "/admin/v1/webhooks/deliveries/dlv_missing/redeliver", 404, nil)
	if ev := a.lastEvent("webhook.redeliver"); ev == nil || ev.ActorID != "admin:ops" {
		t.Errorf("redelivery audit: %+v", ev)
	}
	r := a.do("POST", "/admin/v1/webhooks/replay", opsToken, map[string]any{"endpoint": "crm", "from_seq": 1})
	if r.Status != http.StatusOK || string(r.Body) != "{\"queued\":3}\n" {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	for _, body := range []map[string]any{{"from_seq": 0}, {"from_seq": 3, "to_seq": 2}, {"from_seq": 1, "extra": 1}} {
		if r := a.do("POST", "/admin/v1/webhooks/replay", opsToken, body); r.Status != 400 {
			t.Errorf("replay %v: %d %s, want 400", body, r.Status, r.Body)
		}
	}
	if r := a.do("POST", "/admin/v1/webhooks/replay", "", map[string]any{"from_seq": 1}); r.Status != 401 {
		t.Errorf("replay without a token: %d", r.Status)
	}
}
