package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/webhook"
)

const secret = "whsec_test_0123456789"

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openStore(t *testing.T) wxlogin.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func addEvent(t *testing.T, st wxlogin.Store, typ, user string, at time.Time, endpoints ...string) *wxlogin.Event {
	t.Helper()
	e := &wxlogin.Event{ID: wxlogin.NewID("evt"), Type: typ, UserID: user, Time: at, Data: `{"n":1}`}
	if err := st.Update(context.Background(), func(tx wxlogin.Tx) error { return tx.AddEvent(context.Background(), e, endpoints) }); err != nil {
		t.Fatal(err)
	}
	return e
}

// receiver records the events it accepts, after checking their signature; fail decides, per
// event id and attempt (1, 2, …), the status to answer instead of 204.
type receiver struct {
	t     *testing.T
	clock *clock
	fail  func(id string, attempt int) int

	mu       sync.Mutex
	tries    map[string]int
	accepted []map[string]any
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := webhook.Verify(secret, req.Header.Get(webhook.HeaderSignature), body, r.clock.Now(), 0); err != nil {
		r.t.Errorf("delivery with a bad signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body %s: %v", body, err)
	}
	for _, k := range []string{"id", "type", "created_at", "user_id", "data"} {
		if _, ok := ev[k]; !ok {
			r.t.Errorf("body %s lacks %s", body, k)
		}
	}
	if ev["id"] != req.Header.Get(webhook.HeaderEventID) {
		r.t.Errorf("Wxlogin-Event-Id %q, body id %v", req.Header.Get(webhook.HeaderEventID), ev["id"])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := ev["id"].(string)
	r.tries[id]++
	if r.fail != nil {
		if status := r.fail(id, r.tries[id]); status != 0 {
			w.WriteHeader(status)
			return
		}
	}
	r.accepted = append(r.accepted, ev)
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.accepted {
		out = append(out, ev["id"].(string))
	}
	return out
}

// drain runs the deliverer until nothing is pending, advancing the clock past backoffs.
func drain(t *testing.T, d *webhook.Deliverer, st wxlogin.Store, c *clock) {
	t.Helper()
	for range 200 {
		if _, err := d.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		b, err := st.DeliveryBacklog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if b.Pending == 0 {
			return
		}
		c.advance(time.Minute)
	}
	t.Fatal("deliveries still pending after 200 rounds")
}

func TestDeliveriesArriveSignedInOrderPerUserDespiteFailures(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)}
	var failing string
	rcv := &receiver{t: t, clock: c, tries: map[string]int{}, fail: func(id string, attempt int) int {
		if id == failing && attempt <= 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	var u1, u2 []string
	for k := range 3 {
		u1 = append(u1, addEvent(t, st, "user.updated", "usr_1", c.Now(), "a").ID)
		u2 = append(u2, addEvent(t, st, "user.updated", "usr_2", c.Now(), "a").ID)
		_ = k
	}
	failing = u1[0] // usr_1's first event fails twice: its later events must wait for it
	d, err := webhook.New(webhook.Config{Store: st, Endpoints: []webhook.Endpoint{{Name: "a", URL: srv.URL, Secret: secret}}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, d, st, c)

	got := rcv.ids()
	var got1, got2 []string
	for _, id := range got {
		if slices.Contains(u1, id) {
			got1 = append(got1, id)
		} else {
			got2 = append(got2, id)
		}
	}
	if !slices.Equal(got1, u1) || !slices.Equal(got2, u2) || len(got) != 6 {
		t.Fatalf("accepted %q; usr_1's in order %q, usr_2's %q", got, u1, u2)
	}
	if rcv.tries[failing] != 3 {
		t.Fatalf("the failing event was tried %d times, want 3", rcv.tries[failing])
	}
	ds, err := st.Deliveries(context.Background(), wxlogin.DeliveryFilter{EventID: failing})
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	atts, err := st.DeliveryAttempts(context.Background(), ds[0].ID)
	if err != nil || len(atts) != 3 || atts[0].StatusCode != 503 || atts[0].Error == "" || atts[2].StatusCode != 204 || atts[2].Error != "" {
		t.Fatalf("attempts %+v (%v)", atts, err)
	}
	if ds[0].Status != wxlogin.DeliveryDelivered || ds[0].Attempts != 3 {
		t.Fatalf("delivery %+v", ds[0])
	}
}

func TestAFailingEndpointIsGivenUpAfterTheRetryWindow(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)}
	down := true
	var mu sync.Mutex
	rcv := &receiver{t: t, clock: c, tries: map[string]int{}, fail: func(string, int) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusInternalServerError
		}
		return 0
	}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	first := addEvent(t, st, "user.created", "usr_1", c.Now(), "a")
	d, err := webhook.New(webhook.Config{Store: st, Endpoints: []webhook.Endpoint{{Name: "a", URL: srv.URL, Secret: secret}},
		Now: c.Now, RetryWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, d, st, c)
	ds, _ := st.Deliveries(context.Background(), wxlogin.DeliveryFilter{EventID: first.ID})
	if ds[0].Status != wxlogin.DeliveryFailed || ds[0].Attempts < 5 || ds[0].LastStatus != 500 {
		t.Fatalf("after the window: %+v", ds[0])
	}
	if n := rcv.tries[first.ID]; n != ds[0].Attempts {
		t.Fatalf("tried %d times, %d attempts recorded", n, ds[0].Attempts)
	}
	// The user's next event is not blocked by the failed one; a redelivery sends it again.
	mu.Lock()
	down = false
	mu.Unlock()
	next := addEvent(t, st, "user.updated", "usr_1", c.Now(), "a")
	drain(t, d, st, c)
	if got := rcv.ids(); !slices.Equal(got, []string{next.ID}) {
		t.Fatalf("accepted %q, want the next event", got)
	}
	if _, err := st.Redeliver(context.Background(), wxlogin.Redelivery{DeliveryID: ds[0].ID}, c.Now()); err != nil {
		t.Fatal(err)
	}
	drain(t, d, st, c)
	if got := rcv.ids(); !slices.Equal(got, []string{next.ID, first.ID}) {
		t.Fatalf("accepted %q after the redelivery", got)
	}
}

func TestUnreachableEndpointIsRetried(t *testing.T) {
	st := openStore(t)
	c := &clock{now: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	ev := addEvent(t, st, "user.created", "usr_1", c.Now(), "a")
	d, err := webhook.New(webhook.Config{Store: st, Endpoints: []webhook.Endpoint{{Name: "a", URL: url, Secret: secret}}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	ds, _ := st.Deliveries(context.Background(), wxlogin.DeliveryFilter{EventID: ev.ID})
	if ds[0].Status != wxlogin.DeliveryPending || ds[0].Attempts != 1 || ds[0].LastStatus != 0 || ds[0].LastError == "" ||
		!ds[0].NextAt.After(c.Now()) {
		t.Fatalf("after a refused connection: %+v", ds[0])
	}
	if n, _ := d.RunOnce(context.Background()); n != 0 {
		t.Fatalf("retried before its backoff: %d", n)
	}
}
