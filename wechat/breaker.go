package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Defaults of the resilience settings of Config.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 10 * time.Second
	DefaultMaxConcurrent   = 64
	DefaultMaxWait         = 5 * time.Second
)

// ErrCircuitOpen is the cause of the *TransportError of a call refused because the API's circuit
// breaker is open: WeChat failed too often in a row, and the call was not sent.
var ErrCircuitOpen = errors.New("circuit open: WeChat API failing, call not sent")

// ErrOverloaded is the cause of the *TransportError of a call refused because Config.MaxConcurrent
// calls were in flight for longer than the caller could wait; the call was not sent.
var ErrOverloaded = errors.New("too many concurrent WeChat calls, call not sent")

// Observer receives measurements of WeChat API calls; a nil Observer in Config observes nothing.
type Observer interface {
	// ObserveCall is called once per HTTP call to WeChat (not per fast-failed breaker call):
	// api is the path, e.g. "/sns/jscode2session"; outcome is the errcode as a decimal string ("0" on
	// success, "-1", "40029", ...) or "transport" (network error, timeout, unreadable body).
	ObserveCall(appid, api, outcome string, d time.Duration)
	// ObserveRejected is called when the breaker or the concurrency bound fails a call fast;
	// reason is "circuit_open" or "overloaded".
	ObserveRejected(appid, api, reason string)
	// ObserveBreaker is called on every breaker state change; state is "closed", "open" or "half_open".
	ObserveBreaker(appid, api, state string)
	// ObserveTokenRefresh is called after each access-token fetch from WeChat; ok is false on failure.
	ObserveTokenRefresh(appid string, ok bool)
}

type breakerState int

const (
	stateClosed breakerState = iota
	stateOpen
	stateHalfOpen
)

func (s breakerState) String() string {
	switch s {
	case stateOpen:
		return "open"
	case stateHalfOpen:
		return "half_open"
	}
	return "closed"
}

// breaker is the circuit breaker of one API of one client. Closed, it counts consecutive temporary
// failures and opens at threshold. Open, it refuses every call until cooldown has passed since it
// opened; then it is half-open and lets exactly one call through as a probe, whose success closes
// it and whose failure opens it again for another cooldown.
type breaker struct {
	api       string
	threshold int
	cooldown  time.Duration

	mu       sync.Mutex
	state    breakerState
	failures int       // consecutive temporary failures while closed
	openedAt time.Time // when it last opened
	probing  bool      // the half-open probe is in flight
}

// verdict is what a call's result tells the breaker about WeChat.
type verdict int

const (
	verdictUp      verdict = iota // WeChat answered (success or a business errcode)
	verdictDown                   // a temporary failure: transport error, timeout, -1, garbage
	verdictNeutral                // says nothing about WeChat (the caller gave up)
)

// judge returns the verdict of err, the result of one HTTP call made with ctx.
func judge(ctx context.Context, err error) verdict {
	var te *TransportError
	switch {
	case err == nil:
		return verdictUp
	case IsSystemBusy(err):
		return verdictDown
	case errors.As(err, &te):
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return verdictNeutral
		}
		return verdictDown
	case APICode(err) != 0:
		// 40029, 40163, 45011, …: WeChat is up and said no.
		return verdictUp
	}
	return verdictNeutral
}

// allow reports whether a call may be sent now and whether it is the half-open probe. It returns the
// state it moved to, if it changed, and when it refuses, how long until a call may be tried again.
func (b *breaker) allow(now time.Time) (ok, probe bool, changed *breakerState, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stateClosed:
		return true, false, nil, 0
	case stateOpen:
		if until := b.openedAt.Add(b.cooldown); now.Before(until) {
			return false, false, nil, until.Sub(now)
		}
		b.state, b.probing = stateHalfOpen, true
		s := b.state
		return true, true, &s, 0
	default: // half-open
		if b.probing {
			return false, false, nil, time.Second // the probe's answer is due within a call's timeout
		}
		b.probing = true
		return true, true, nil, 0
	}
}

// release gives the probe slot back when the probe was not sent after all.
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateHalfOpen {
		b.probing = false
	}
}

// record applies the verdict of a sent call and returns the state it moved to, if it changed. Only
// the probe moves a breaker out of half-open; results of calls sent before the breaker opened do not
// change an open breaker.
func (b *breaker) record(now time.Time, probe bool, v verdict) (changed *breakerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := b.state
	switch {
	case probe && b.state == stateHalfOpen:
		b.probing = false
		switch v {
		case verdictUp:
			b.state, b.failures = stateClosed, 0
		case verdictDown:
			b.state, b.openedAt = stateOpen, now
		}
	case b.state == stateClosed:
		switch v {
		case verdictUp:
			b.failures = 0
		case verdictDown:
			b.failures++
			if b.failures >= b.threshold {
				b.state, b.openedAt, b.failures = stateOpen, now, 0
			}
		}
	}
	if b.state == from {
		return nil
	}
	s := b.state
	return &s
}

// admit lets a call to api proceed, or fails it fast with a *TransportError of ErrCircuitOpen or
// ErrOverloaded. On success the caller must call done with the call's result.
func (c *Client) admit(ctx context.Context, api string) (done func(error), err error) {
	b := c.breakers[api]
	probe := false
	if b != nil {
		var ok bool
		var changed *breakerState
		var wait time.Duration
		ok, probe, changed, wait = b.allow(c.now())
		c.breakerChanged(ctx, b, changed)
		if !ok {
			c.rejected(ctx, api, "circuit_open")
			return nil, &TransportError{API: api, Err: ErrCircuitOpen, RetryAfter: wait}
		}
	}
	if err := c.acquire(ctx); err != nil {
		if b != nil {
			b.release(probe)
		}
		c.rejected(ctx, api, "overloaded")
		return nil, &TransportError{API: api, Err: err}
	}
	return func(err error) {
		c.releaseSlot()
		if b != nil {
			c.breakerChanged(ctx, b, b.record(c.now(), probe, judge(ctx, err)))
		}
	}, nil
}

// acquire takes one of the MaxConcurrent slots, waiting at most until ctx ends or MaxWait passes.
// The error wraps ErrOverloaded (and ctx's error when ctx ended).
func (c *Client) acquire(ctx context.Context) error {
	if c.sem == nil {
		return nil
	}
	select {
	case c.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(c.maxWait)
	defer t.Stop()
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrOverloaded, ctx.Err())
	case <-t.C:
		return ErrOverloaded
	}
}

func (c *Client) releaseSlot() {
	if c.sem != nil {
		<-c.sem
	}
}

func (c *Client) breakerChanged(ctx context.Context, b *breaker, s *breakerState) {
	if s == nil {
		return
	}
	level := slog.LevelInfo
	if *s == stateOpen {
		level = slog.LevelWarn
	}
	c.log.LogAttrs(ctx, level, "wechat circuit breaker "+s.String(), slog.String("appid", c.appid), slog.String("api", b.api))
	if c.obs != nil {
		c.obs.ObserveBreaker(c.appid, b.api, s.String())
	}
}

func (c *Client) rejected(ctx context.Context, api, reason string) {
	c.log.LogAttrs(ctx, slog.LevelDebug, "wechat call refused", slog.String("api", api), slog.String("reason", reason))
	if c.obs != nil {
		c.obs.ObserveRejected(c.appid, api, reason)
	}
}

// observeCall reports one HTTP call to the Observer.
func (c *Client) observeCall(api string, err error, d time.Duration) {
	if c.obs == nil {
		return
	}
	outcome := "0"
	if code := APICode(err); code != 0 {
		outcome = strconv.Itoa(code)
	} else if err != nil {
		outcome = "transport"
	}
	c.obs.ObserveCall(c.appid, api, outcome, d)
}
