package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseScenarios(t *testing.T) {
	all, err := parseScenarios("all")
	if err != nil || len(all) != 7 {
		t.Fatalf("all: %v %v", all, err)
	}
	some, err := parseScenarios("1, 7")
	if err != nil || len(some) != 2 || !some[1] || !some[7] {
		t.Fatalf("1,7: %v %v", some, err)
	}
	for _, bad := range []string{"0", "8", "x", ""} {
		if _, err := parseScenarios(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestQuantile(t *testing.T) {
	r := &result{}
	for i := 1; i <= 100; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	if r.quantile(.5) != 50*time.Millisecond || r.quantile(.99) != 99*time.Millisecond || r.quantile(1) != 100*time.Millisecond {
		t.Fatalf("p50 %v p99 %v p100 %v", r.quantile(.5), r.quantile(.99), r.quantile(1))
	}
	if (&result{}).quantile(.5) != 0 {
		t.Fatal("empty result has a quantile")
	}
	wl := &result{lat: wrkLatencies(time.Millisecond, 9*time.Millisecond)}
	if wl.quantile(.5) != time.Millisecond || wl.quantile(.99) != 9*time.Millisecond {
		t.Fatal("wrk latencies do not read back")
	}
}

func TestLoadGenerators(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(baselineBody)
	}))
	defer srv.Close()
	c := newClient(4)
	ctx := context.Background()

	res := closedLoop(ctx, 4, 20*time.Millisecond, 100*time.Millisecond, baselineOp(c, srv.URL))
	if res.requests == 0 || res.errors != 0 || len(res.lat) != res.requests || int64(res.requests) > hits.Load() {
		t.Fatalf("closed loop: %+v (hits %d)", res, hits.Load())
	}

	// Open loop: at most rate × duration requests are measured (the schedule, not the server, sets it).
	res = openLoop(ctx, 200, 8, 0, 200*time.Millisecond, baselineOp(c, srv.URL))
	if res.requests == 0 || res.requests+res.dropped > 41 || res.errors != 0 {
		t.Fatalf("open loop: %d requests, %d dropped, %d errors", res.requests, res.dropped, res.errors)
	}

	// A failing op is counted as an error; an exhausted pool ends the run early.
	pool := &codePool{codes: []string{"a", "b"}}
	res = closedLoop(ctx, 2, 0, time.Minute, func(ctx context.Context, w int) error {
		if _, ok := pool.take(); !ok {
			return errExhausted
		}
		return nil
	})
	if res.short == "" {
		t.Fatal("an exhausted pool did not end the run")
	}
}
