package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkErr = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
)

// runWrk drives url with wrk (-c concurrency, --latency) for warm-up and then the measured
// duration, and returns what wrk reports: requests a second, p50 and p99 (no full latency list).
func (b *bench) runWrk(url, method, body string, headers map[string]string) *result {
	var lua strings.Builder
	fmt.Fprintf(&lua, "wrk.method = %q\n", method)
	if body != "" {
		fmt.Fprintf(&lua, "wrk.body = %q\n", body)
	}
	for k, v := range headers {
		fmt.Fprintf(&lua, "wrk.headers[%q] = %q\n", k, v)
	}
	script := filepath.Join(b.dir, "wrk.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		return &result{firstErr: err.Error(), errors: 1}
	}
	threads := strconv.Itoa(min(b.o.concurrency, numCPU()))
	conns := strconv.Itoa(b.o.concurrency)
	if b.o.warmup > 0 {
		exec.CommandContext(b.ctx, "wrk", "-t", threads, "-c", conns, "-d", seconds(b.o.warmup), "-s", script, url).Run()
	}
	out, err := exec.CommandContext(b.ctx, "wrk", "-t", threads, "-c", conns, "-d", seconds(b.o.duration), "--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		return &result{firstErr: fmt.Sprintf("wrk: %v: %s", err, out), errors: 1}
	}
	res := &result{elapsed: b.o.duration}
	if m := wrkRPS.FindSubmatch(out); m != nil {
		rps, _ := strconv.ParseFloat(string(m[1]), 64)
		res.requests = int(rps * b.o.duration.Seconds())
	}
	// Two latencies stand for the distribution: quantile() reads them back as p50 and p99.
	var p50, p99 time.Duration
	for _, m := range wrkPct.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
		if string(m[1]) == "50" {
			p50 = time.Duration(v * float64(unit))
		} else {
			p99 = time.Duration(v * float64(unit))
		}
	}
	res.lat = wrkLatencies(p50, p99)
	if m := wrkErr.FindSubmatch(out); m != nil {
		res.errors, _ = strconv.Atoi(string(m[1]))
		res.firstErr = "non-2xx answers (wrk)"
	}
	return res
}

// wrkLatencies returns 100 latencies whose 50th and 99th percentiles (see quantile) are p50 and p99.
func wrkLatencies(p50, p99 time.Duration) []time.Duration {
	out := make([]time.Duration, 100)
	for i := range out {
		out[i] = p50
		if i >= 50 {
			out[i] = p99
		}
	}
	return out
}

func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second).Seconds()))) + "s"
}
