package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one load run measured.
type result struct {
	requests int           // measured requests that succeeded
	errors   int           // measured requests that failed (transport error or unexpected status)
	dropped  int           // open loop: requests not sent because every slot was busy
	elapsed  time.Duration // the measured phase
	lat      []time.Duration
	firstErr string
	short    string // why the run ended early ("" when it ran its full duration)
}

func (r *result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// quantile returns the q-quantile of the recorded latencies (nearest rank).
func (r *result) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(q*float64(len(r.lat))+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// op is one request of a scenario, by worker w; it returns an error when the answer is not the
// expected one. errExhausted ends the run early (pre-minted codes ran out).
type op func(ctx context.Context, w int) error

var errExhausted = fmt.Errorf("pre-minted inputs exhausted")

// recorder collects latencies from many goroutines.
type recorder struct {
	mu       sync.Mutex
	lat      []time.Duration
	ok, bad  int
	firstErr string
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	if err == nil {
		r.ok++
		r.lat = append(r.lat, d)
	} else {
		r.bad++
		if r.firstErr == "" {
			r.firstErr = err.Error()
		}
	}
	r.mu.Unlock()
}

// closedLoop runs conc workers, each sending its next request as soon as the previous answer is
// in, for warmup (not recorded) and then dur (recorded).
func closedLoop(ctx context.Context, conc int, warmup, dur time.Duration, do op) *result {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		exhausted atomic.Bool
		rec       = &recorder{}
		wg        sync.WaitGroup
	)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				err := do(ctx, w)
				if err == errExhausted {
					exhausted.Store(true)
					stop.Store(true)
					return
				}
				if measuring.Load() && !stop.Load() {
					rec.add(time.Since(t0), err)
				}
			}
		}()
	}
	sleepCtx(ctx, warmup)
	measuring.Store(true)
	start := time.Now()
	deadline := start.Add(dur)
	for time.Now().Before(deadline) && !exhausted.Load() && ctx.Err() == nil {
		sleepCtx(ctx, min(50*time.Millisecond, time.Until(deadline)))
	}
	stop.Store(true)
	elapsed := time.Since(start)
	wg.Wait()
	res := rec.result(elapsed)
	if exhausted.Load() {
		res.short = "inputs exhausted after " + elapsed.Round(time.Millisecond).String()
	}
	return res
}

// openLoop sends rate requests a second on a fixed schedule, whatever the answers do, with up to
// maxInFlight outstanding (a request due while all are busy is dropped and counted). Latency is
// measured from when the request was due, so a stalled server is not hidden (no coordinated
// omission).
func openLoop(ctx context.Context, rate float64, maxInFlight int, warmup, dur time.Duration, do op) *result {
	var (
		rec       = &recorder{}
		wg        sync.WaitGroup
		dropped   int
		slots     = make(chan struct{}, maxInFlight)
		exhausted atomic.Bool
		worker    atomic.Int64
	)
	interval := time.Duration(float64(time.Second) / rate)
	begin := time.Now()
	measureFrom := begin.Add(warmup)
	end := measureFrom.Add(dur)
	for i := 0; ; i++ {
		due := begin.Add(time.Duration(i) * interval)
		if !due.Before(end) || exhausted.Load() || ctx.Err() != nil {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		measured := !due.Before(measureFrom)
		select {
		case slots <- struct{}{}:
		default:
			if measured {
				dropped++
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := do(ctx, int(worker.Add(1)))
			if err == errExhausted {
				exhausted.Store(true)
				return
			}
			if measured {
				rec.add(time.Since(due), err)
			}
		}()
	}
	wg.Wait()
	elapsed := min(time.Since(measureFrom), dur)
	res := rec.result(elapsed)
	res.dropped = dropped
	if exhausted.Load() {
		res.short = "inputs exhausted"
	}
	return res
}

func (r *recorder) result(elapsed time.Duration) *result {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(r.lat)
	return &result{requests: r.ok, errors: r.bad, elapsed: elapsed, lat: r.lat, firstErr: r.firstErr}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// newClient returns a keep-alive client with enough idle connections for conc workers.
func newClient(conc int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        4 * conc,
			MaxIdleConnsPerHost: 4 * conc,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// send does req and returns the body when the status is want.
func send(c *http.Client, req *http.Request, want int) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		if len(body) > 200 {
			body = body[:200]
		}
		return nil, fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return body, nil
}
