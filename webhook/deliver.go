package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Endpoint is one business system receiving events: its name (as deliveries record it), URL,
// secret and the event types it wants (none: every type but the opt-in login.succeeded).
type Endpoint struct {
	Name   string
	URL    string
	Secret wxlogin.Secret
	Events []string
}

// OptIn lists the event types an endpoint receives only when it names them.
var OptIn = map[string]bool{"login.succeeded": true}

// Wants reports whether e receives events of type typ.
func (e Endpoint) Wants(typ string) bool {
	if len(e.Events) == 0 {
		return !OptIn[typ]
	}
	for _, t := range e.Events {
		if t == typ || t == "*" && !OptIn[typ] {
			return true
		}
	}
	return false
}

// Observer counts what the deliverer does (metrics.Metrics implements it; nil: nothing).
type Observer interface {
	WebhookAttempt(endpoint string, ok bool)
	WebhookBacklog(pending int64, oldest time.Duration)
}

// Config configures a Deliverer.
type Config struct {
	Store     wxlogin.Store
	Endpoints []Endpoint
	// Timeout bounds one delivery (default 10 s). Client, when set, should have the same timeout.
	Timeout time.Duration
	Client  *http.Client // default: Timeout, no redirects followed
	// RetryWindow is how long failed deliveries are retried, from their event's time (default 24 h).
	RetryWindow time.Duration
	// MinBackoff is the wait after a first failed attempt, doubled after each next one up to an
	// hour (default 10 s).
	MinBackoff time.Duration
	// Lease is how long a worker holds a delivery it sends (default 2×Timeout + 1 s): a worker that
	// dies mid-delivery delays its deliveries by at most that much.
	Lease time.Duration
	// Poll is how often the outbox is checked when idle (default 1 s).
	Poll time.Duration
	// Batch bounds the deliveries leased at once (default 32).
	Batch    int
	Owner    string // this instance's name in leases (default a random id)
	Observer Observer
	Now      func() time.Time
	Logger   *slog.Logger
}

// Deliverer sends the outbox's deliveries.
type Deliverer struct {
	cfg       Config
	endpoints map[string]Endpoint
	wake      chan struct{}
}

// New returns a Deliverer. Errors: no store, an endpoint without a name, URL or secret, a name used twice.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil {
		return nil, errors.New("webhook: Store is required")
	}
	d := &Deliverer{endpoints: map[string]Endpoint{}, wake: make(chan struct{}, 1)}
	for _, e := range cfg.Endpoints {
		if e.Name == "" || e.URL == "" || e.Secret == "" {
			return nil, errors.New("webhook: every endpoint needs a name, a URL and a secret")
		}
		if _, dup := d.endpoints[e.Name]; dup {
			return nil, fmt.Errorf("webhook: endpoint %q configured twice", e.Name)
		}
		d.endpoints[e.Name] = e
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.RetryWindow <= 0 {
		cfg.RetryWindow = 24 * time.Hour
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 10 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2*cfg.Timeout + time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.Owner == "" {
		cfg.Owner = wxlogin.NewID("wkr")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d.cfg = cfg
	return d, nil
}

// Wake makes a running Run look at the outbox now (after a redelivery, say).
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, and returns nil then.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.ErrorContext(ctx, "webhook deliveries", "err", err)
		}
		if n == d.cfg.Batch && err == nil {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// RunOnce leases the deliveries due now, sends them (concurrently; one at a time per endpoint and
// user, as leased) and records each attempt. It returns how many it leased.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	if d.cfg.Observer != nil {
		if b, err := d.cfg.Store.DeliveryBacklog(ctx); err == nil {
			var age time.Duration
			if !b.Oldest.IsZero() {
				age = d.cfg.Now().Sub(b.Oldest)
			}
			d.cfg.Observer.WebhookBacklog(b.Pending, age)
		}
	}
	now := d.cfg.Now()
	var leased []*wxlogin.Delivery
	err := d.cfg.Store.Update(ctx, func(tx wxlogin.Tx) error {
		var err error
		leased, err = tx.LeaseDeliveries(ctx, d.cfg.Owner, now, now.Add(d.cfg.Lease), d.cfg.Batch)
		return err
	})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, dl := range leased {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, dl)
		}()
	}
	wg.Wait()
	return len(leased), nil
}

// body is what a delivery POSTs: the event.
type body struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	UserID    string          `json:"user_id"`
	Data      json.RawMessage `json:"data"`
}

// Body returns the JSON a delivery of e carries.
func Body(e *wxlogin.Event) ([]byte, error) {
	data := json.RawMessage(e.Data)
	if !json.Valid(data) {
		data = json.RawMessage("{}")
	}
	return json.Marshal(body{ID: e.ID, Type: e.Type, CreatedAt: e.Time.UTC(), UserID: e.UserID, Data: data})
}

// deliver sends dl once and records the attempt.
func (d *Deliverer) deliver(ctx context.Context, dl *wxlogin.Delivery) {
	start := d.cfg.Now()
	status, sendErr := d.send(ctx, dl)
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and another worker (or this one, restarted) sends it
	}
	end := d.cfg.Now()
	a := &wxlogin.DeliveryAttempt{DeliveryID: dl.ID, Time: start, StatusCode: status, Duration: end.Sub(start)}
	dl.Attempts++
	dl.LastStatus = status
	ok := sendErr == nil
	if ok {
		dl.Status, dl.DeliveredAt, dl.LastError = wxlogin.DeliveryDelivered, end, ""
	} else {
		a.Error, dl.LastError = sendErr.Error(), sendErr.Error()
		dl.NextAt = end.Add(Backoff(d.cfg.MinBackoff, dl.Attempts))
		if dl.NextAt.Sub(dl.CreatedAt) > d.cfg.RetryWindow {
			dl.Status = wxlogin.DeliveryFailed
		}
	}
	if d.cfg.Observer != nil {
		d.cfg.Observer.WebhookAttempt(dl.Endpoint, ok)
	}
	err := d.cfg.Store.Update(context.WithoutCancel(ctx), func(tx wxlogin.Tx) error {
		return tx.FinishDelivery(ctx, d.cfg.Owner, dl, a)
	})
	if err != nil {
		d.cfg.Logger.ErrorContext(ctx, "webhook delivery not recorded", "delivery", dl.ID, "err", err)
	}
}

// send POSTs dl's event and returns the HTTP status (0 without an answer) and, unless 2xx, why not.
// Its errors never carry the URL's query or the secret.
func (d *Deliverer) send(ctx context.Context, dl *wxlogin.Delivery) (int, error) {
	ep, ok := d.endpoints[dl.Endpoint]
	if !ok {
		return 0, errors.New("endpoint no longer configured")
	}
	ev, err := d.cfg.Store.Event(ctx, dl.EventID)
	if err != nil {
		return 0, errors.New("event not readable")
	}
	b, err := Body(ev)
	if err != nil {
		return 0, errors.New("event not encodable")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(b))
	if err != nil {
		return 0, errors.New("bad endpoint URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wxlogin-webhook/1")
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderSignature, Sign(ep.Secret.Reveal(), d.cfg.Now(), b))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return 0, errors.New("timeout")
		}
		return 0, errors.New("no answer (connection failed)")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, errors.New("status " + strconv.Itoa(resp.StatusCode))
	}
	return resp.StatusCode, nil
}

// Backoff returns the wait after the attempts-th failed attempt: base doubling to at most an
// hour, with up to 10% jitter.
func Backoff(base time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return d + time.Duration(rand.Int64N(int64(d/10)+1))
}
