// Command bench measures wxlogin against a bare net/http baseline on the same machine, in one run,
// and prints a table of requests per second, p50/p99 latency and the ratio to the baseline.
//
//	go run ./bench                                   # every scenario, 10s each, 16 connections
//	go run ./bench -scenario 1,2 -duration 3s        # a short run of two scenarios
//	go run ./bench -scenario 7 -seed 1000000         # 1M users and sessions in the store
//
// Fairness: the baseline (this program re-executed with -baseline-server), the WeChat simulator
// (`wxlogin sim`) and wxlogin (`wxlogin serve`, built once with go build) are each a child process
// listening on loopback, and all of them are driven by the same closed-loop load generator in this
// process (N goroutines on keep-alive connections; every latency recorded). The baseline is
// measured first and last; ratios use the mean of the two. Everything shares the machine's cores
// with the load generator, as the issue prescribes.
//
// Scenarios: 1 GET /v1/me; 2 POST /v1/introspect; 3 the verify package's Go benchmarks (go test
// -bench, reported per core: not an HTTP load); 4 code login of a returning user; 5 code login of
// a new user; 6 refresh; 7 scenarios 1, 4 and 6 with -seed users and sessions in the store, a login
// run open-loop at 70% of the measured login peak (p99 target 25 ms), and the serve process's
// resident memory. wx.login codes are minted from the simulator before the timed phase.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// The app, introspection client and data key the children are configured with.
const (
	benchAppID        = "wxbench00000000001"
	benchAppSecret    = "benchsecret0123456789abcdef012345"
	benchPlatform     = "bench-platform"
	benchClientID     = "bench-service"
	benchClientSecret = "bench-service-introspection-secret"
)

type options struct {
	scenarios   map[int]bool
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	postgres    string
	redis       string
	seed        int
	rate        float64
	wrk         bool
	profile     string
	logLevel    string
	maxCodes    int
	keep        bool
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func run() error {
	var o options
	scen := flag.String("scenario", "all", `scenarios to run: "all" or a comma list of 1-7`)
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each scenario")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario")
	flag.IntVar(&o.concurrency, "concurrency", 16, "closed-loop workers (keep-alive connections)")
	flag.StringVar(&o.postgres, "postgres", os.Getenv("WXLOGIN_TEST_POSTGRES"), "PostgreSQL DSN: also run on PostgreSQL, in a schema of its own (default $WXLOGIN_TEST_POSTGRES)")
	flag.StringVar(&o.redis, "redis", os.Getenv("WXLOGIN_TEST_REDIS"), "Redis URL for the PostgreSQL runs, as several instances are deployed (default $WXLOGIN_TEST_REDIS; without it serve on PostgreSQL does not cache verified tokens)")
	flag.IntVar(&o.seed, "seed", 1_000_000, "users and sessions in the store for scenario 7")
	flag.Float64Var(&o.rate, "rate", 0, "requests a second: run the HTTP scenarios open-loop at this rate instead of closed-loop (scenario 7 always adds a login run at 70% of its peak)")
	flag.BoolVar(&o.wrk, "wrk", false, "drive the baseline and scenarios 1 and 2 with wrk when it is installed (the built-in generator otherwise)")
	flag.StringVar(&o.profile, "profile", "", "directory: also run the hot functions' Go benchmarks with -cpuprofile/-memprofile into it")
	flag.StringVar(&o.logLevel, "server-log-level", "info", "log_level of wxlogin serve (info, the production default, adds one access-log line per request; the baseline logs nothing)")
	flag.IntVar(&o.maxCodes, "max-codes", 200_000, "most wx.login codes pre-minted for one login run")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (databases, logs)")
	baseline := flag.Bool("baseline-server", false, "internal: serve the baseline and print its address")
	flag.Parse()
	if *baseline {
		return serveBaseline()
	}
	var err error
	if o.scenarios, err = parseScenarios(*scen); err != nil {
		return err
	}
	if o.concurrency < 1 || o.duration <= 0 {
		return fmt.Errorf("-concurrency and -duration must be positive")
	}
	if o.wrk {
		if _, err := exec.LookPath("wrk"); err != nil {
			fmt.Println("# wrk not installed: using the built-in generator")
			o.wrk = false
		}
	}
	ctx, stop := signalContext()
	defer stop()
	b := &bench{o: o, ctx: ctx}
	defer b.cleanup()
	return b.run()
}

func parseScenarios(s string) (map[int]bool, error) {
	out := map[int]bool{}
	if s == "all" {
		for i := 1; i <= 7; i++ {
			out[i] = true
		}
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d", &n); err != nil || n < 1 || n > 7 {
			return nil, fmt.Errorf("-scenario: %q is not 1-7", f)
		}
		out[n] = true
	}
	return out, nil
}

// bench is one run.
type bench struct {
	o        options
	ctx      context.Context
	root     string
	dir      string
	bin      string
	dataKey  string
	baseline *proc
	sim      *proc
	schemas  []string // PostgreSQL schemas to drop
	rows     []*row
	empty    map[string]map[int]float64 // backend → scenario → rps on the empty store
	cleanups []func()
}

// row is one line of the table.
type row struct {
	scenario, backend string
	rps               float64
	p50, p99          time.Duration
	ratio             float64 // to the baseline; 0 = not applicable
	target            string
	ok                string
	note              string
	res               *result
	perOp             bool // p50 column holds ns/op of a Go benchmark
}

func (b *bench) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

func (b *bench) run() error {
	var err error
	if b.root, err = moduleRoot(); err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "wxlogin-bench-"); err != nil {
		return err
	}
	if b.o.keep {
		fmt.Println("# keeping", b.dir)
	} else {
		b.cleanups = append(b.cleanups, func() { os.RemoveAll(b.dir) })
	}
	b.empty = map[string]map[int]float64{}
	http := b.o.scenarios[1] || b.o.scenarios[2] || b.o.scenarios[4] || b.o.scenarios[5] || b.o.scenarios[6] || b.o.scenarios[7]
	fmt.Printf("# wxlogin bench: scenarios %v, %s each after %s warm-up, %d connections, seed %d, %d CPUs, server log level %s\n",
		keys(b.o.scenarios), b.o.duration, b.o.warmup, b.o.concurrency, b.o.seed, numCPU(), b.o.logLevel)

	var base1, base2 *result
	if http {
		fmt.Println("# building ./cmd/wxlogin")
		if b.bin, err = buildWxlogin(b.root, b.dir); err != nil {
			return err
		}
		key := make([]byte, 32)
		rand.Read(key)
		b.dataKey = "bench1:" + base64.StdEncoding.EncodeToString(key)
		self, err := os.Executable()
		if err != nil {
			return err
		}
		if b.baseline, err = startProc(b.ctx, "baseline", self, []string{"-baseline-server"}, os.Environ(), filepath.Join(b.dir, "baseline.log")); err != nil {
			return err
		}
		b.cleanups = append(b.cleanups, b.baseline.stop)
		base1 = b.measureBaseline("first")
		if b.sim, err = startProc(b.ctx, "sim", b.bin, []string{"sim", "--addr", "127.0.0.1:0", "--app", benchAppID + ":" + benchAppSecret + ":" + benchPlatform},
			os.Environ(), filepath.Join(b.dir, "sim.log")); err != nil {
			return err
		}
		b.cleanups = append(b.cleanups, b.sim.stop)

		backends := []string{"sqlite"}
		if b.o.postgres != "" {
			backends = append(backends, "postgres")
		}
		for _, be := range backends {
			if b.o.scenarios[1] || b.o.scenarios[2] || b.o.scenarios[4] || b.o.scenarios[5] || b.o.scenarios[6] {
				if err := b.emptyStore(be, base1.rps()); err != nil {
					return fmt.Errorf("%s: %w", be, err)
				}
			}
		}
		for _, be := range backends {
			if b.o.scenarios[7] {
				if err := b.seededStore(be, base1.rps()); err != nil {
					return fmt.Errorf("%s, scenario 7: %w", be, err)
				}
			}
		}
		b.sim.stop()
		base2 = b.measureBaseline("last")
		b.baseline.stop()
	}
	if b.o.scenarios[3] {
		if err := b.verifyBench(); err != nil {
			return err
		}
	}
	if b.o.profile != "" {
		if err := b.profiles(); err != nil {
			return err
		}
	}
	b.print(base1, base2)
	return nil
}

// measureBaseline runs the load against the baseline server.
func (b *bench) measureBaseline(which string) *result {
	var res *result
	if b.o.wrk {
		res = b.runWrk(b.baseline.base+"/", "GET", "", nil)
	} else {
		c := newClient(b.o.concurrency)
		res = b.drive(baselineOp(c, b.baseline.base), false)
	}
	fmt.Printf("# baseline (%s): %.0f req/s, p50 %s, p99 %s\n", which, res.rps(), fmtDur(res.quantile(.5)), fmtDur(res.quantile(.99)))
	return res
}

// drive runs op closed-loop (or open-loop at -rate, when set and the op allows it).
func (b *bench) drive(do op, openOK bool) *result {
	if b.o.rate > 0 && openOK {
		return openLoop(b.ctx, b.o.rate, 64*b.o.concurrency, b.o.warmup, b.o.duration, do)
	}
	return closedLoop(b.ctx, b.o.concurrency, b.o.warmup, b.o.duration, do)
}

// startServe starts `wxlogin serve` on database and returns it with a target for it.
func (b *bench) startServe(name, database string) (*proc, *target, error) {
	env := append(os.Environ(),
		"WXLOGIN_ADDR=127.0.0.1:0",
		"WXLOGIN_DATABASE="+database,
		"WXLOGIN_APPS="+benchAppID+":"+benchAppSecret+":"+benchPlatform,
		"WXLOGIN_DATA_KEYS="+b.dataKey,
		"WXLOGIN_WECHAT_BASE_URL="+b.sim.base,
		"WXLOGIN_INTROSPECTION_CLIENTS="+benchClientID+":"+benchClientSecret,
		"WXLOGIN_LOG_LEVEL="+b.o.logLevel,
	)
	// All load comes from one loopback address: the per-IP and per-identity limits, which guard a
	// public deployment against abuse, would measure themselves instead of wxlogin.
	if strings.HasPrefix(database, "postgres") && b.o.redis != "" {
		// PostgreSQL is the several-instances deployment, which shares state (and the invalidations
		// of cached tokens) through Redis.
		env = append(env, "WXLOGIN_REDIS_URL="+b.o.redis, "WXLOGIN_REDIS_PREFIX=wxlogin-bench-"+name+"-"+filepath.Base(b.dir)+":")
	}
	for _, limit := range []string{"LOGIN_IP", "LOGIN_IDENTITY", "PASSWORD_IP", "PASSWORD_IDENTITY",
		"REFRESH_IP", "REFRESH_IDENTITY", "PHONE_IP", "PHONE_IDENTITY"} {
		env = append(env, "WXLOGIN_RATE_LIMIT_"+limit+"=off")
	}
	p, err := startProc(b.ctx, "serve-"+name, b.bin, []string{"serve"}, env, filepath.Join(b.dir, "serve-"+name+".log"))
	if err != nil {
		return nil, nil, err
	}
	return p, &target{base: p.base, sim: b.sim.base, client: newClient(b.o.concurrency)}, nil
}

// database returns a fresh database URL for backend be.
func (b *bench) database(be, name string) (string, error) {
	if be == "sqlite" {
		return "sqlite:" + filepath.Join(b.dir, name+".db"), nil
	}
	conn, err := pgx.Connect(b.ctx, b.o.postgres)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	suffix := make([]byte, 6)
	rand.Read(suffix)
	schema := "wxl_bench_" + name + "_" + hex.EncodeToString(suffix)
	if _, err := conn.Exec(b.ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", err
	}
	b.cleanups = append(b.cleanups, func() {
		c, err := pgx.Connect(context.Background(), b.o.postgres)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(b.o.postgres, "?") {
		sep = "&"
	}
	return b.o.postgres + sep + "search_path=" + schema, nil
}

func keys(m map[int]bool) []int {
	var out []int
	for i := 1; i <= 7; i++ {
		if m[i] {
			out = append(out, i)
		}
	}
	return out
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
}
