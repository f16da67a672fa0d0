package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// recorder is an Observer that records every event as a line.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, a...))
}

func (r *recorder) ObserveCall(appid, api, outcome string, d time.Duration) {
	if d < 0 {
		outcome += " (negative duration)"
	}
	r.add("call %s %s %s", appid, api, outcome)
}
func (r *recorder) ObserveRejected(appid, api, reason string) {
	r.add("rejected %s %s %s", appid, api, reason)
}
func (r *recorder) ObserveBreaker(appid, api, state string) {
	r.add("breaker %s %s %s", appid, api, state)
}
func (r *recorder) ObserveTokenRefresh(appid string, ok bool) {
	r.add("token %s %v", appid, ok)
}

// take returns the events recorded since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

func (r *recorder) expect(t *testing.T, want ...string) {
	t.Helper()
	got := r.take()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("observed:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

const (
	testAppID  = "wxd2a1b3c4e5f60718"
	c2s        = "/sns/jscode2session"
	c2sOK      = `{"openid":"oVBkZ0aYgDMDIywRdgPW8-joxXc4","session_key":"tiihtNczf5v6AKRyjwEUhQ=="}`
	busyAnswer = `{"errcode":-1,"errmsg":"system error"}`
)

func code2session(c *wechat.Client) error {
	_, err := c.Code2Session(context.Background(), "023MVZhy15eDoa0Et4iy1SLVhy1MVZhS")
	return err
}

func advance(c *clock, d time.Duration) { c.Set(c.Now().Add(d)) }

func TestBreakerOpensFailsFastProbesAndCloses(t *testing.T) {
	s := newScripted(t)
	var answer atomic.Value
	answer.Store(busyAnswer)
	hold := make(chan struct{}) // while non-nil and open, the handler waits on it
	var holding atomic.Bool
	s.handle(c2s, func(w http.ResponseWriter, r *http.Request) {
		if holding.Load() {
			<-hold
		}
		io.WriteString(w, answer.Load().(string))
	})
	clk := &clock{now: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}
	obs := &recorder{}
	c := s.client(wechat.Config{Now: clk.Now, Observer: obs, BreakerFailures: 3, BreakerCooldown: 10 * time.Second})

	for i := range 3 {
		if err := code2session(c); !wechat.IsSystemBusy(err) {
			t.Fatalf("call %d: %v, want -1", i, err)
		}
	}
	obs.expect(t, "call "+testAppID+" "+c2s+" -1", "call "+testAppID+" "+c2s+" -1", "call "+testAppID+" "+c2s+" -1",
		"breaker "+testAppID+" "+c2s+" open")

	// Open: calls fail fast, temporary, and never reach WeChat.
	answer.Store(c2sOK)
	for range 5 {
		err := code2session(c)
		if !wechat.IsTemporary(err) || !errors.Is(err, wechat.ErrCircuitOpen) {
			t.Fatalf("while open: %v, want a temporary ErrCircuitOpen", err)
		}
	}
	if n := s.count(c2s); n != 3 {
		t.Fatalf("WeChat called %d times, want 3: an open breaker sent calls", n)
	}
	advance(clk, 9*time.Second)
	if err := code2session(c); !errors.Is(err, wechat.ErrCircuitOpen) {
		t.Fatalf("before the cool-down: %v", err)
	}
	r := "rejected " + testAppID + " " + c2s + " circuit_open"
	obs.expect(t, r, r, r, r, r, r)

	// Half-open: exactly one probe goes through; the others fail fast while it is in flight.
	advance(clk, time.Second)
	answer.Store(busyAnswer)
	holding.Store(true)
	probe := make(chan error)
	go func() { probe <- code2session(c) }()
	for s.count(c2s) != 4 {
		time.Sleep(time.Millisecond)
	}
	if err := code2session(c); !errors.Is(err, wechat.ErrCircuitOpen) {
		t.Fatalf("second call while the probe is in flight: %v", err)
	}
	close(hold)
	if err := <-probe; !wechat.IsSystemBusy(err) {
		t.Fatalf("probe: %v", err)
	}
	holding.Store(false)
	// The failed probe opens it again for a whole cool-down.
	if err := code2session(c); !errors.Is(err, wechat.ErrCircuitOpen) {
		t.Fatalf("after a failed probe: %v", err)
	}
	obs.expect(t, "breaker "+testAppID+" "+c2s+" half_open", r, "call "+testAppID+" "+c2s+" -1",
		"breaker "+testAppID+" "+c2s+" open", r)

	// A successful probe closes it; calls flow again.
	advance(clk, 10*time.Second)
	answer.Store(c2sOK)
	for i := range 4 {
		if err := code2session(c); err != nil {
			t.Fatalf("call %d after recovery: %v", i, err)
		}
	}
	if n := s.count(c2s); n != 8 {
		t.Errorf("WeChat called %d times, want 8", n)
	}
	ok := "call " + testAppID + " " + c2s + " 0"
	obs.expect(t, "breaker "+testAppID+" "+c2s+" half_open", ok, "breaker "+testAppID+" "+c2s+" closed", ok, ok, ok)
}

func TestBreakerCountsOnlyTemporaryFailures(t *testing.T) {
	s := newScripted(t)
	var answer atomic.Value
	s.handle(c2s, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, answer.Load().(string)) })
	obs := &recorder{}
	c := s.client(wechat.Config{Observer: obs, BreakerFailures: 3})
	// Business errors mean WeChat is up: 20 in a row open nothing.
	for _, code := range []int{40029, 40163, 45011, 40226} {
		answer.Store(fmt.Sprintf(`{"errcode":%d,"errmsg":"x"}`, code))
		for range 5 {
			if err := code2session(c); wechat.APICode(err) != code {
				t.Fatalf("got %v, want errcode %d", err, code)
			}
		}
	}
	// A business answer between failures resets the count.
	for _, a := range []string{busyAnswer, busyAnswer, `{"errcode":40029,"errmsg":"invalid code"}`, busyAnswer, busyAnswer, c2sOK, busyAnswer, busyAnswer} {
		answer.Store(a)
		code2session(c)
	}
	if n := s.count(c2s); n != 28 {
		t.Fatalf("WeChat called %d times, want 28", n)
	}
	for _, e := range obs.take() {
		if strings.HasPrefix(e, "breaker") || strings.HasPrefix(e, "rejected") {
			t.Errorf("breaker moved on business errors: %s", e)
		}
	}
	answer.Store(busyAnswer)
	code2session(c) // the third consecutive failure
	if err := code2session(c); !errors.Is(err, wechat.ErrCircuitOpen) {
		t.Errorf("after 3 consecutive -1: %v, want the breaker open", err)
	}
}

func TestBreakerOpensOnEveryTransportFault(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"garbage": serveRaw(200, "text/html", "<html>502 Bad Gateway</html>"),
		"reset": func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		},
		"timeout":  func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		"http 502": serveRaw(502, "text/plain", ""),
	} {
		t.Run(name, func(t *testing.T) {
			s := newScripted(t)
			s.handle(c2s, h)
			c := s.client(wechat.Config{BreakerFailures: 2, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
			for range 2 {
				if err := code2session(c); !wechat.IsTemporary(err) || errors.Is(err, wechat.ErrCircuitOpen) {
					t.Fatalf("got %v, want a temporary failure from WeChat", err)
				}
			}
			if err := code2session(c); !errors.Is(err, wechat.ErrCircuitOpen) {
				t.Fatalf("got %v, want the breaker open", err)
			}
			if n := s.count(c2s); n != 2 {
				t.Errorf("WeChat called %d times, want 2", n)
			}
		})
	}
}

func TestBreakerPerAPI(t *testing.T) {
	s := newScripted(t)
	s.handle(c2s, serveRaw(200, "application/json", busyAnswer))
	s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
	s.handle("/wxa/checksession", serveRaw(200, "application/json", `{"errcode":0,"errmsg":"ok"}`))
	c := s.client(wechat.Config{BreakerFailures: 1})
	code2session(c)
	if err := code2session(c); !errors.Is(err, wechat.ErrCircuitOpen) {
		t.Fatalf("code2Session: %v, want the breaker open", err)
	}
	if err := c.CheckSessionKey(context.Background(), "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg=="); err != nil {
		t.Errorf("checksession refused while only code2Session's breaker is open: %v", err)
	}
	// Another client of the same app has breakers of its own.
	other := s.client(wechat.Config{BreakerFailures: 1})
	if err := code2session(other); !wechat.IsSystemBusy(err) {
		t.Errorf("another client: %v, want WeChat's -1", err)
	}
}

func TestBreakerIgnoresCallersGivingUp(t *testing.T) {
	s := newScripted(t)
	arrived := make(chan struct{}, 3)
	s.handle(c2s, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	c := s.client(wechat.Config{BreakerFailures: 1})
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { // the caller gives up once WeChat has the call (not before: then it was never made)
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
			}
			cancel()
		}()
		if _, err := c.Code2Session(ctx, "code-code-code"); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	}
	if n := s.count(c2s); n != 3 {
		t.Errorf("WeChat called %d times, want 3: callers cancelling must not open the breaker", n)
	}
}

func TestBreakerDisabled(t *testing.T) {
	s := newScripted(t)
	s.handle(c2s, serveRaw(200, "application/json", busyAnswer))
	c := s.client(wechat.Config{BreakerFailures: -1})
	for range 20 {
		if err := code2session(c); !wechat.IsSystemBusy(err) {
			t.Fatalf("got %v", err)
		}
	}
}

func TestDefaultBreaker(t *testing.T) {
	s := newScripted(t)
	s.handle(c2s, serveRaw(200, "application/json", busyAnswer))
	clk := &clock{now: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}
	c := s.client(wechat.Config{Now: clk.Now})
	for range 10 {
		code2session(c)
	}
	if n := s.count(c2s); n != wechat.DefaultBreakerFailures {
		t.Errorf("WeChat called %d times, want %d", n, wechat.DefaultBreakerFailures)
	}
	advance(clk, wechat.DefaultBreakerCooldown-time.Millisecond)
	code2session(c)
	advance(clk, time.Millisecond)
	code2session(c)
	if n := s.count(c2s); n != wechat.DefaultBreakerFailures+1 {
		t.Errorf("WeChat called %d times, want one probe after the default cool-down", n)
	}
}

func TestConcurrencyBound(t *testing.T) {
	s := newScripted(t)
	release := make(chan struct{})
	var inflight, peak atomic.Int64
	s.handle(c2s, func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inflight.Add(-1)
		io.WriteString(w, c2sOK)
	})
	obs := &recorder{}
	c := s.client(wechat.Config{MaxConcurrent: 3, MaxWait: time.Minute, Observer: obs})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() { errs <- code2session(c) })
	}
	for s.count(c2s) < 3 {
		time.Sleep(time.Millisecond)
	}
	// The bound is full: a caller with a deadline gets a temporary error when it passes.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	_, err := c.Code2Session(ctx, "code-code-code")
	cancel()
	if !wechat.IsTemporary(err) || !errors.Is(err, wechat.ErrOverloaded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting caller: %v, want a temporary ErrOverloaded", err)
	}
	// So does a caller without a deadline after MaxWait.
	short := s.client(wechat.Config{MaxConcurrent: 1, MaxWait: 20 * time.Millisecond})
	go code2session(short)
	for s.count(c2s) < 4 {
		time.Sleep(time.Millisecond)
	}
	if err := code2session(short); !errors.Is(err, wechat.ErrOverloaded) {
		t.Fatalf("caller past MaxWait: %v, want ErrOverloaded", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("queued caller: %v", err)
		}
	}
	if p := peak.Load(); p != 3+1 { // 3 of c and 1 of short
		t.Errorf("peak concurrency at WeChat %d, want 4", p)
	}
	if n := s.count(c2s); n != 11 {
		t.Errorf("WeChat called %d times, want 11 (refused calls are not sent)", n)
	}
	rejected := 0
	for _, e := range obs.take() {
		if e == "rejected "+testAppID+" "+c2s+" overloaded" {
			rejected++
		}
	}
	if rejected != 1 {
		t.Errorf("%d overloaded rejections observed, want 1", rejected)
	}
}

// TestCode2SessionNeverReplayed breaks the connection after WeChat has read a code2Session request
// on a reused keep-alive connection: the case in which net/http resends idempotent requests.
func TestCode2SessionNeverReplayed(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/warm" || r.URL.Path == "/cgi-bin/stable_token" {
			io.WriteString(w, `{"access_token":"tok","expires_in":7200}`)
			return
		}
		if r.ContentLength != 0 || len(r.TransferEncoding) != 0 {
			t.Errorf("%s %s sent with a body (length %d, %v)", r.Method, r.URL.Path, r.ContentLength, r.TransferEncoding)
		}
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // read the request, then the connection dies
	}))
	defer srv.Close()
	count := func(path string) int { mu.Lock(); defer mu.Unlock(); return calls[path] }
	hc := &http.Client{Transport: &http.Transport{}}
	c := wechat.NewClient(wechat.Config{BaseURL: srv.URL, AppID: testAppID, Secret: "appsecret-for-tests", HTTPClient: hc, BreakerFailures: -1})

	// The control: net/http does resend a plain GET in this situation.
	resp, err := hc.Get(srv.URL + "/warm")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp, err := hc.Get(srv.URL + "/plain"); err == nil {
		resp.Body.Close()
	}
	if n := count("/plain"); n != 2 {
		t.Logf("net/http sent a broken plain GET %d times (this Go no longer resends it)", n)
	}

	for _, api := range []string{c2s, "/wxa/resetusersessionkey"} {
		for range 3 {
			if _, err := c.FetchStableToken(context.Background(), false); err != nil { // a reused connection
				t.Fatal(err)
			}
			var err error
			if api == c2s {
				err = code2session(c)
			} else {
				_, err = c.ResetUserSessionKey(context.Background(), "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg==")
			}
			if !wechat.IsTemporary(err) {
				t.Fatalf("%s: %v, want a transport error", api, err)
			}
		}
		if n := count(api); n != 3 {
			t.Errorf("%s sent %d times for 3 calls: the request was replayed", api, n)
		}
	}
}

// TestNoRetryOfCode2SessionOnSimulatorFaults drives the simulator's faults: code2Session and
// getPhoneNumber are sent exactly once per call whatever happens.
func TestNoRetryOfCode2SessionOnSimulatorFaults(t *testing.T) {
	b, sim := newSimBackend(t)
	for _, f := range []wechatsim.Fault{
		{Path: "*", Reset: true},
		{Path: "*", Garbage: true},
		{Path: "*", Errcode: -1},
		{Path: "*", Errcode: 45011},
		{Path: "*", LatencyMS: 300},
	} {
		c := wechat.NewClient(wechat.Config{BaseURL: b.baseURL, AppID: b.plain.id, Secret: b.plain.secret, BreakerFailures: -1,
			HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
		if _, err := c.AccessToken(context.Background()); err != nil { // warm: a token and a kept-alive connection
			t.Fatal(err)
		}
		code := b.login(t, b.plain.id, "alice")
		phone := b.phoneCode(t, b.plain.id, "alice", "")
		before, beforePhone := sim.Calls(c2s), sim.Calls("/wxa/business/getuserphonenumber")
		if err := sim.SetFault(f); err != nil {
			t.Fatal(err)
		}
		_, err := c.Code2Session(context.Background(), code)
		_, perr := c.GetPhoneNumber(context.Background(), phone, "")
		sim.ClearFaults()
		if !wechat.IsTemporary(err) || !wechat.IsTemporary(perr) {
			t.Fatalf("fault %+v: %v / %v, want temporary errors", f, err, perr)
		}
		if n := sim.Calls(c2s) - before; n != 1 {
			t.Errorf("fault %+v: code2Session sent %d times, want 1", f, n)
		}
		if n := sim.Calls("/wxa/business/getuserphonenumber") - beforePhone; n != 1 {
			t.Errorf("fault %+v: getPhoneNumber sent %d times, want 1", f, n)
		}
	}
}

func TestReadOnlyCallsRetryOnce(t *testing.T) {
	ctx := context.Background()
	const openid, key = "oVBkZ0aYgDMDIywRdgPW8-joxXc4", "xLZ2TFyWlXSH9j7KmL4vDg=="
	ok := serveRaw(200, "application/json", `{"errcode":0,"errmsg":"ok","unionid":"oUnion"}`)
	garbage := serveRaw(200, "text/html", "<html></html>")
	busy := serveRaw(200, "application/json", busyAnswer)
	quota := serveRaw(200, "application/json", `{"errcode":45011,"errmsg":"quota"}`)
	calls := map[string]func(*wechat.Client) error{
		"/wxa/checksession": func(c *wechat.Client) error { return c.CheckSessionKey(ctx, openid, key) },
		"/wxa/getpaidunionid": func(c *wechat.Client) error {
			_, err := c.GetPaidUnionID(ctx, openid, "4200001234202411210000000001")
			return err
		},
	}
	for api, f := range calls {
		for _, tc := range []struct {
			name      string
			h         http.HandlerFunc
			wantCalls int
			wantErr   bool
		}{
			{"garbage then ok", sequence(garbage, ok), 2, false},
			{"busy then ok", sequence(busy, ok), 2, false},
			{"busy twice", busy, 2, true},
			{"45011", quota, 1, true},
		} {
			t.Run(api+"/"+tc.name, func(t *testing.T) {
				s := newScripted(t)
				s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
				s.handle(api, tc.h)
				err := f(s.client(wechat.Config{}))
				if (err != nil) != tc.wantErr {
					t.Errorf("err = %v", err)
				}
				if n := s.count(api); n != tc.wantCalls {
					t.Errorf("sent %d times, want %d", n, tc.wantCalls)
				}
			})
		}
		t.Run(api+"/breaker open", func(t *testing.T) {
			s := newScripted(t)
			s.handle("/cgi-bin/stable_token", tokenIssuer(0, 7200))
			s.handle(api, busy)
			c := s.client(wechat.Config{BreakerFailures: 1})
			if err := f(c); !errors.Is(err, wechat.ErrCircuitOpen) {
				t.Errorf("err = %v, want the retry refused by the breaker", err)
			}
			if n := s.count(api); n != 1 {
				t.Errorf("sent %d times, want 1", n)
			}
		})
	}
}

// TestAccessTokenCacheDownNoStampede: with the shared cache down, 50 concurrent callers make one
// fetch, later callers none until the token nears its expiry, then one more.
func TestAccessTokenCacheDownNoStampede(t *testing.T) {
	s := newScripted(t)
	s.handle("/cgi-bin/stable_token", tokenIssuer(20*time.Millisecond, 7200))
	clk := &clock{now: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}
	obs := &recorder{}
	c := s.client(wechat.Config{Tokens: brokenCache{}, Now: clk.Now, Observer: obs})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if tok, err := c.AccessToken(context.Background()); err != nil || tok != "tok_1" {
				t.Errorf("AccessToken = %q, %v", tok.Reveal(), err)
			}
		})
	}
	wg.Wait()
	if n := s.count("/cgi-bin/stable_token"); n != 1 {
		t.Fatalf("stable_token fetched %d times by 50 callers, want 1", n)
	}
	// Every minute until 9 minutes are left.
	for clk.Now().Before(time.Date(2026, 11, 21, 9, 51, 0, 0, time.UTC)) {
		advance(clk, time.Minute)
		if tok, err := c.AccessToken(context.Background()); err != nil || tok != "tok_1" {
			t.Fatalf("AccessToken = %q, %v", tok.Reveal(), err)
		}
	}
	if n := s.count("/cgi-bin/stable_token"); n != 1 {
		t.Fatalf("stable_token fetched %d times before the token neared expiry, want 1", n)
	}
	advance(clk, 6*time.Minute) // 4 minutes left: refreshed ahead
	if tok, err := c.AccessToken(context.Background()); err != nil || tok != "tok_2" {
		t.Fatalf("AccessToken near expiry = %q, %v; want a refreshed token", tok.Reveal(), err)
	}
	if n := s.count("/cgi-bin/stable_token"); n != 2 {
		t.Errorf("stable_token fetched %d times, want 2", n)
	}
	var refreshes []string
	for _, e := range obs.take() {
		if strings.HasPrefix(e, "token") {
			refreshes = append(refreshes, e)
		}
	}
	if want := "token " + testAppID + " true"; strings.Join(refreshes, ",") != want+","+want {
		t.Errorf("token refreshes observed %v, want two successful ones", refreshes)
	}
}

func TestObserveTokenRefreshFailure(t *testing.T) {
	s := newScripted(t)
	s.handle("/cgi-bin/stable_token", serveRaw(200, "application/json", busyAnswer))
	obs := &recorder{}
	c := s.client(wechat.Config{Observer: obs})
	if _, err := c.AccessToken(context.Background()); !wechat.IsSystemBusy(err) {
		t.Fatalf("AccessToken: %v", err)
	}
	obs.expect(t, "call "+testAppID+" /cgi-bin/stable_token -1", "token "+testAppID+" false")
}
