package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

// Targets: ratios to the baseline, by scenario and backend ("" for any backend). Issue 21 set
// those of 1 (with the access log on: -server-log-level info, the default), 4 and 6; issue 8 that of 2.
var targets = map[int]map[string]float64{
	1: {"": 0.8},
	2: {"": 0.6},
	4: {"sqlite": 0.12},
	6: {"sqlite": 0.2, "postgres": 0.1},
}

// targetFor returns the target ratio of scenario n on backend be, if it has one.
func targetFor(n int, be string) (float64, bool) {
	if t, ok := targets[n][be]; ok {
		return t, true
	}
	t, ok := targets[n][""]
	return t, ok
}

var names = map[int]string{
	1: "1 GET /v1/me",
	2: "2 POST /v1/introspect",
	4: "4 login, returning user",
	5: "5 login, new user",
	6: "6 refresh",
}

func runID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// codesFor returns how many codes to pre-mint for a login run: enough for the run at up to half
// the baseline's rate (a login is far dearer than a bare request), within -max-codes.
func (b *bench) codesFor(baselineRPS float64) int {
	secs := (b.o.warmup + b.o.duration).Seconds()
	rate := baselineRPS * 0.5
	if b.o.rate > 0 {
		rate = b.o.rate
	}
	return max(1000, min(b.o.maxCodes, int(rate*secs*1.1)))
}

// tokens logs n fresh users in and returns their answers.
func (t *target) loginMany(prefix string, n, conc int) ([]*loginAnswer, error) {
	out := make([]*loginAnswer, n)
	err := parallel(n, conc, func(i int) error {
		a, err := t.login(fmt.Sprintf("%s%d", prefix, i))
		out[i] = a
		return err
	})
	return out, err
}

// emptyStore runs scenarios 1, 2, 4, 5, 6 against serve on a fresh database of backend be.
func (b *bench) emptyStore(be string, baselineRPS float64) error {
	db, err := b.database(be, "empty")
	if err != nil {
		return err
	}
	p, t, err := b.startServe(be+"-empty", db)
	if err != nil {
		return err
	}
	defer p.stop()
	id := runID()
	conc := b.o.concurrency
	b.empty[be] = map[int]float64{}
	record := func(n int, res *result) {
		b.add(names[n], be, n, res, baselineRPS)
		b.empty[be][n] = res.rps()
	}

	logins, err := t.loginMany("tok-"+id+"-", 4*conc, conc)
	if err != nil {
		return fmt.Errorf("setup logins: %w", err)
	}
	var access []string
	for _, l := range logins {
		access = append(access, l.AccessToken)
	}
	if b.o.scenarios[1] {
		fmt.Printf("# %s: scenario 1\n", be)
		if b.o.wrk {
			record(1, b.runWrk(t.base+"/v1/me", "GET", "", map[string]string{"Authorization": "Bearer " + access[0]}))
		} else {
			record(1, b.drive(t.meOp(access), true))
		}
	}
	if b.o.scenarios[2] {
		fmt.Printf("# %s: scenario 2\n", be)
		if b.o.wrk {
			record(2, b.runWrk(t.base+"/v1/introspect", "POST", "token="+access[0], map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Authorization": basicAuth(benchClientID, benchClientSecret)}))
		} else {
			record(2, b.drive(t.introspectOp(access), true))
		}
	}
	if b.o.scenarios[4] {
		fmt.Printf("# %s: scenario 4 (registering users, minting codes)\n", be)
		n := b.codesFor(baselineRPS)
		users := make([]string, max(200, n/40)) // ≤ 40 codes a user: far below 100 code2Session calls a minute
		for i := range users {
			users[i] = fmt.Sprintf("ret-%s-%d", id, i)
		}
		if err := parallel(len(users), conc, func(i int) error { _, err := t.login(users[i]); return err }); err != nil {
			return fmt.Errorf("registering returning users: %w", err)
		}
		pool, err := t.mintCodes(users, n, conc)
		if err != nil {
			return fmt.Errorf("minting codes: %w", err)
		}
		serve0, _ := p.cpuTime()
		sim0, _ := b.sim.cpuTime()
		res := b.drive(t.loginOp(pool, false), true)
		serve1, err1 := p.cpuTime()
		sim1, err2 := b.sim.cpuTime()
		record(4, res)
		if err1 == nil && err2 == nil {
			// The simulator's code2Session answers run on the same cores: say how much of the
			// servers' CPU (warm-up included, same mix) they took, so the ratio is read honestly.
			r := b.rows[len(b.rows)-1]
			serveCPU, simCPU := serve1-serve0, sim1-sim0
			share := fmt.Sprintf("CPU: serve %s, WeChat simulator %s (%.0f%% of the two)", serveCPU.Round(10*time.Millisecond),
				simCPU.Round(10*time.Millisecond), 100*float64(simCPU)/float64(max(1, serveCPU+simCPU)))
			r.note = strings.TrimPrefix(r.note+"; "+share, "; ")
		}
	}
	if b.o.scenarios[5] {
		fmt.Printf("# %s: scenario 5 (minting codes)\n", be)
		n := b.codesFor(baselineRPS)
		users := make([]string, n)
		for i := range users {
			users[i] = fmt.Sprintf("new-%s-%d", id, i)
		}
		pool, err := t.mintCodes(users, n, conc)
		if err != nil {
			return fmt.Errorf("minting codes: %w", err)
		}
		record(5, b.drive(t.loginOp(pool, true), true))
	}
	if b.o.scenarios[6] {
		fmt.Printf("# %s: scenario 6\n", be)
		chains, err := t.loginMany("chain-"+id+"-", conc, conc)
		if err != nil {
			return fmt.Errorf("setup logins: %w", err)
		}
		refresh := make([]string, conc)
		for i, l := range chains {
			refresh[i] = l.RefreshToken
		}
		record(6, closedLoop(b.ctx, conc, b.o.warmup, b.o.duration, t.refreshOp(refresh)))
	}
	return nil
}

// seededStore is scenario 7 on backend be: seed, serve, then 1, 4 and 6 again, a login run at 70%
// of the measured login peak, and the serve process's memory.
func (b *bench) seededStore(be string, baselineRPS float64) error {
	db, err := b.database(be, "seeded")
	if err != nil {
		return err
	}
	samplesPath := filepath.Join(b.dir, "samples-"+be+".tsv")
	nSamples := max(4*b.o.concurrency, min(b.o.seed, 2000))
	fmt.Printf("# %s: scenario 7: seeding %d users and %d sessions\n", be, b.o.seed, b.o.seed)
	seed := exec.CommandContext(b.ctx, b.bin, "seed", "--users", strconv.Itoa(b.o.seed), "--samples", strconv.Itoa(nSamples), "--out", samplesPath)
	seed.Env = append(os.Environ(), "WXLOGIN_DATABASE="+db, "WXLOGIN_APPS="+benchAppID+":"+benchAppSecret+":"+benchPlatform,
		"WXLOGIN_DATA_KEYS="+b.dataKey)
	seed.Stderr = os.Stderr
	began := time.Now()
	out, err := seed.Output()
	if err != nil {
		return fmt.Errorf("wxlogin seed: %w", err)
	}
	fmt.Printf("# %s: %s", be, out)
	seedTook := time.Since(began)
	samples, err := readSamples(samplesPath)
	if err != nil {
		return err
	}
	if len(samples) < b.o.concurrency {
		return fmt.Errorf("only %d sample sessions for %d workers: raise -seed", len(samples), b.o.concurrency)
	}

	p, t, err := b.startServe(be+"-seeded", db)
	if err != nil {
		return err
	}
	defer p.stop()
	conc := b.o.concurrency
	compare := func(n int, res *result) {
		r := b.add("7 seeded: "+names[n][2:], be, 0, res, baselineRPS)
		if e := b.empty[be][n]; e > 0 {
			ratio := res.rps() / e
			r.target = "≥0.85 of empty"
			r.ok = okString(ratio >= 0.85)
			r.note = fmt.Sprintf("%.2f of empty", ratio)
		}
	}

	// 1 again: the sample sessions' access tokens.
	var access []string
	for _, s := range samples {
		access = append(access, s.access)
	}
	fmt.Printf("# %s: scenario 7/1\n", be)
	compare(1, b.drive(t.meOp(access), true))

	// 4 again: returning seeded users picked across the whole store.
	fmt.Printf("# %s: scenario 7/4 (minting codes)\n", be)
	pick := func(n int) []string {
		users := make([]string, n)
		for i := range users {
			users[i] = fmt.Sprintf("bench-%07d", mrand.IntN(b.o.seed))
		}
		return users
	}
	n := b.codesFor(baselineRPS)
	pool, err := t.mintCodes(pick(max(200, n/40)), n, conc)
	if err != nil {
		return fmt.Errorf("minting codes: %w", err)
	}
	res4 := closedLoop(b.ctx, conc, b.o.warmup, b.o.duration, t.loginOp(pool, false))
	compare(4, res4)

	// 6 again: chains starting at seeded refresh tokens.
	fmt.Printf("# %s: scenario 7/6\n", be)
	chains := make([]string, conc)
	for i := range chains {
		chains[i] = samples[len(samples)-1-i].refresh
	}
	compare(6, closedLoop(b.ctx, conc, b.o.warmup, b.o.duration, t.refreshOp(chains)))

	// Logins at 70% of the peak just measured, open loop: p99 ≤ 25 ms.
	if peak := res4.rps(); peak > 0 {
		rate := 0.7 * peak
		fmt.Printf("# %s: scenario 7 login at 70%% of peak (%.0f/s, open loop)\n", be, rate)
		secs := (b.o.warmup + b.o.duration).Seconds()
		m := min(b.o.maxCodes, int(rate*secs*1.1)+100)
		pool, err := t.mintCodes(pick(max(200, m/40)), m, conc)
		if err != nil {
			return fmt.Errorf("minting codes: %w", err)
		}
		res := openLoop(b.ctx, rate, 64*conc, b.o.warmup, b.o.duration, t.loginOp(pool, false))
		r := b.add(fmt.Sprintf("7 seeded: login at 70%% (%.0f/s)", rate), be, 0, res, baselineRPS)
		r.target = "p99≤25ms"
		r.ok = okString(res.quantile(.99) <= 25*time.Millisecond && res.dropped == 0)
		if res.dropped > 0 {
			r.note = fmt.Sprintf("%d not sent (all slots busy)", res.dropped)
		}
	}

	rss, peak, err := p.memory()
	if err != nil {
		return err
	}
	r := &row{scenario: "7 seeded: serve memory", backend: be, target: "≤250MB", ok: okString(rss <= 250<<20),
		note: fmt.Sprintf("VmRSS %d MB (peak %d MB), %d users+sessions; seeding took %s", rss>>20, peak>>20, b.o.seed, seedTook.Round(time.Second))}
	b.rows = append(b.rows, r)
	return nil
}

type sample struct{ user, session, userID, refresh, access string }

func readSamples(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("%s: bad line", path)
		}
		out = append(out, sample{f[0], f[1], f[2], f[3], f[4]})
	}
	return out, sc.Err()
}

func okString(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// add appends a row for scenario n (0: target set by the caller) and returns it.
func (b *bench) add(name, backend string, n int, res *result, baselineRPS float64) *row {
	r := &row{scenario: name, backend: backend, rps: res.rps(), p50: res.quantile(.5), p99: res.quantile(.99), res: res, target: "-"}
	if baselineRPS > 0 {
		r.ratio = res.rps() / baselineRPS
	}
	if t, ok := targetFor(n, backend); ok {
		r.target = fmt.Sprintf("≥%.2f", t)
		r.ok = okString(r.ratio >= t)
	}
	var notes []string
	if res.errors > 0 {
		notes = append(notes, fmt.Sprintf("%d errors, first: %s", res.errors, res.firstErr))
	}
	if res.short != "" {
		notes = append(notes, res.short)
	}
	r.note = strings.Join(notes, "; ")
	b.rows = append(b.rows, r)
	fmt.Printf("#   %.0f req/s, p50 %s, p99 %s %s\n", r.rps, fmtDur(r.p50), fmtDur(r.p99), r.note)
	return r
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+(\d+) B/op\s+(\d+) allocs/op)?`)

// verifyBench is scenario 3: the verify package's Go benchmarks, run with go test from here.
func (b *bench) verifyBench() error {
	fmt.Println("# scenario 3: go test -bench BenchmarkVerify -benchmem ./verify/")
	cmd := exec.CommandContext(b.ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkVerify", "-benchmem", "-benchtime", "1s", "-count", "1", "./verify/")
	cmd.Dir = b.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -bench ./verify/: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, _ := strconv.ParseFloat(m[2], 64)
		name := strings.TrimPrefix(m[1], "BenchmarkVerify")
		r := &row{scenario: "3 verify " + name + " (Go bench)", backend: "go test", rps: 1e9 / ns,
			p50: time.Duration(math.Round(ns)), perOp: true, target: "-"}
		if m[3] != "" {
			r.note = fmt.Sprintf("%s ns/op, %s B/op, %s allocs/op", m[2], m[3], m[4])
		}
		b.rows = append(b.rows, r)
	}
	return nil
}

// profiles runs the hot functions' benchmarks with CPU and memory profiles into -profile.
func (b *bench) profiles() error {
	if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
		return err
	}
	// The hot functions: verifying and signing tokens (ES256 and EdDSA), sealing, the login and
	// refresh transactions (SQLite; PostgreSQL too when WXLOGIN_TEST_POSTGRES is set), authenticate,
	// the access-log line.
	for _, pkg := range []string{"verify", "token", "keyring", "sqlite", "postgres", "auth", "http"} {
		cpu, mem := filepath.Join(b.o.profile, pkg+".cpu.pprof"), filepath.Join(b.o.profile, pkg+".mem.pprof")
		cpu, _ = filepath.Abs(cpu)
		mem, _ = filepath.Abs(mem)
		cmd := exec.CommandContext(b.ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "1s",
			"-cpuprofile", cpu, "-memprofile", mem, "-o", filepath.Join(b.dir, pkg+".test"), "./"+pkg+"/")
		cmd.Dir = b.root
		out, err := cmd.CombinedOutput()
		fmt.Printf("# profile %s:\n%s", pkg, out)
		if err != nil {
			return fmt.Errorf("go test -bench ./%s/: %w", pkg, err)
		}
		fmt.Printf("#   go tool pprof -top %s   /   go tool pprof -sample_index=alloc_space -top %s\n", cpu, mem)
	}
	return nil
}

// print writes the table.
func (b *bench) print(base1, base2 *result) {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tbackend\trps\tp50\tp99\tratio\ttarget\tok?\tnote")
	if base1 != nil && base2 != nil {
		mean := (base1.rps() + base2.rps()) / 2
		for _, x := range []struct {
			name string
			r    *result
		}{{"baseline (first)", base1}, {"baseline (last)", base2}} {
			fmt.Fprintf(w, "%s\tnet/http\t%.0f\t%s\t%s\t%.2f\t-\t\t\n", x.name, x.r.rps(), fmtDur(x.r.quantile(.5)), fmtDur(x.r.quantile(.99)), x.r.rps()/mean)
		}
		fmt.Fprintf(w, "baseline (mean)\tnet/http\t%.0f\t\t\t1.00\t-\t\tratios below use this\n", mean)
		// Ratios against the mean of both baseline runs (the rows were computed with the first).
		for _, r := range b.rows {
			if r.res != nil && mean > 0 {
				r.ratio = r.rps / mean
				if t, ok := targetOf(r.target); ok && strings.HasPrefix(r.target, "≥0.") && !strings.Contains(r.target, "empty") {
					r.ok = okString(r.ratio >= t)
				}
			} else if r.perOp && mean > 0 {
				r.ratio = r.rps / mean
			}
		}
	}
	for _, r := range b.rows {
		rps, p50, p99, ratio := "-", "-", "-", "-"
		if r.rps > 0 {
			rps = fmt.Sprintf("%.0f", r.rps)
		}
		if r.perOp {
			rps += "/s" // one goroutine, unless the benchmark's name says Parallel
			p50 = fmtDur(r.p50)
		} else if r.res != nil {
			p50, p99 = fmtDur(r.p50), fmtDur(r.p99)
		}
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.scenario, r.backend, rps, p50, p99, ratio, r.target, r.ok, r.note)
	}
	w.Flush()
	b.printTargets()
}

// printTargets writes one line per target (path, store, ratio, target, met or not), "not run"
// for a target whose scenario or backend this run left out.
func (b *bench) printTargets() {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "target: path	store	ratio	target	met?")
	for _, n := range []int{1, 2, 4, 6} {
		for _, be := range []string{"sqlite", "postgres"} {
			t, ok := targetFor(n, be)
			if _, own := targets[n][be]; !ok || !own && be == "postgres" && b.o.postgres == "" {
				continue // an any-store target is listed for the stores this run measured
			}
			ratio, met := "not run", "-"
			for _, r := range b.rows {
				if r.scenario == names[n] && r.backend == be && r.ratio > 0 {
					ratio, met = fmt.Sprintf("%.2f", r.ratio), okString(r.ratio >= t)
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t≥%.2f\t%s\n", names[n][2:], be, ratio, t, met)
		}
	}
	w.Flush()
}

func targetOf(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimPrefix(s, "≥"), 64)
	return f, err == nil
}
