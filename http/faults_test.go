package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// The fault battery: WeChat misbehaves in each way the simulator offers while concurrent logins
// run. Every answer must be 200 or 503 upstream_unavailable with Retry-After — never a 500 and never
// a hang — and no goroutine may be left behind. For the faults that mean WeChat is down, the
// code2Session circuit breaker opens (WeChat stops being called while logins fail fast), and after
// the faults clear and the cool-down passes, one probe closes it and logins succeed again.
//
// 45011 (minute quota) maps to 503 upstream_unavailable like -1 (auth.wechatError: IsTemporary),
// but it does not open the breaker: WeChat is up, it is our quota that ran out.
//
// WXLOGIN_FAULT_ROUNDS=n repeats the battery n times with n times the logins (default 1).

const (
	faultWorkers  = 8
	faultLogins   = 10 // per worker and round
	faultDeadline = 15 * time.Second
)

func faultRounds(t *testing.T) int {
	s := os.Getenv("WXLOGIN_FAULT_ROUNDS")
	if s == "" {
		return 1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("WXLOGIN_FAULT_ROUNDS=%q: want a positive integer", s)
	}
	return n
}

func TestWeChatFaultBattery(t *testing.T) {
	const c2s = wechatsim.PathCode2Session
	rounds := faultRounds(t)
	for _, tc := range []struct {
		name  string
		fault wechatsim.Fault
		down  bool // WeChat is down: the breaker must open
	}{
		{"latency past the timeout", wechatsim.Fault{Path: c2s, LatencyMS: 2500}, true},
		{"errcode -1", wechatsim.Fault{Path: c2s, Errcode: -1}, true},
		{"connection reset", wechatsim.Fault{Path: c2s, Reset: true}, true},
		{"garbage body", wechatsim.Fault{Path: "*", Garbage: true}, true},
		{"errcode 45011", wechatsim.Fault{Path: c2s, Errcode: 45011}, false},
		{"errcode -1 half the time", wechatsim.Fault{Path: c2s, Errcode: -1, Rate: ptr(0.5)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			baseline := runtime.NumGoroutine()
			for round := range rounds {
				if err := e.sim.SetFault(tc.fault); err != nil {
					t.Fatal(err)
				}
				before := e.sim.Calls(c2s)
				st := e.loginStorm(fmt.Sprintf("r%d", round), faultWorkers, faultLogins*rounds)
				sent := e.sim.Calls(c2s) - before
				t.Logf("round %d: %v; code2Session sent %d times", round, st, sent)
				if st.other > 0 || st.hung > 0 {
					t.Fatalf("answers other than 200/503 upstream_unavailable+Retry-After: %d, hung: %d", st.other, st.hung)
				}
				n := faultWorkers * faultLogins * rounds
				if sent > n {
					t.Errorf("code2Session sent %d times for %d logins: a code was retried", sent, n)
				}
				if tc.fault.Rate == nil && st.ok > 0 {
					t.Errorf("%d logins succeeded although every code2Session call failed", st.ok)
				}
				if !tc.down && tc.fault.Rate == nil && sent != n {
					t.Errorf("code2Session sent %d times for %d logins, want each exactly once (45011 must not open the breaker)", sent, n)
				}
				if tc.down {
					// The breaker opened: at most the calls in flight when it opened reached WeChat,
					// and now nothing does while logins keep failing fast.
					if max := faultWorkers + wechat.DefaultBreakerFailures; sent > max {
						t.Errorf("code2Session sent %d times, want at most %d: the breaker did not open", sent, max)
					}
					before = e.sim.Calls(c2s)
					st = e.loginStorm(fmt.Sprintf("r%d-open", round), faultWorkers, 3)
					if st.unavailable != faultWorkers*3 {
						t.Errorf("while open: %v, want every login upstream_unavailable", st)
					}
					if n := e.sim.Calls(c2s) - before; n != 0 {
						t.Errorf("WeChat called %d times while the breaker was open", n)
					}
					// The answer says when WeChat will be tried again: the cool-down left (the fake
					// clock has not moved since the breaker opened).
					r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, fmt.Sprintf("r%d-retry", round))})
					if want := fmt.Sprint(int(wechat.DefaultBreakerCooldown / time.Second)); r.Status != 503 || r.Header.Get("Retry-After") != want {
						t.Errorf("login while open: %d, Retry-After %q, want 503 and %s", r.Status, r.Header.Get("Retry-After"), want)
					}
				}
				// Recovery: faults off, the cool-down passes, one login is the probe that closes the
				// breaker (logins arriving while it is in flight would still fail fast).
				e.sim.ClearFaults()
				e.clock.Advance(wechat.DefaultBreakerCooldown + time.Second)
				if st := e.loginStorm(fmt.Sprintf("r%d-probe", round), 1, 1); st.ok != 1 {
					t.Errorf("probe after the cool-down: %v, want it to succeed", st)
				}
				st = e.loginStorm(fmt.Sprintf("r%d-recovered", round), faultWorkers, 3)
				if st.ok != faultWorkers*3 {
					t.Errorf("after recovery: %v, want every login to succeed", st)
				}
			}
			e.assertGoroutinesBack(baseline)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// stormResult counts the answers of a login storm.
type stormResult struct {
	mu                           sync.Mutex
	ok, unavailable, other, hung int
}

func (s *stormResult) String() string {
	return fmt.Sprintf("%d ok, %d upstream_unavailable, %d other, %d hung", s.ok, s.unavailable, s.other, s.hung)
}

// loginStorm runs workers goroutines each logging in n distinct device users, every request under a
// deadline, and classifies the answers; unexpected ones are reported with t.Errorf.
func (e *env) loginStorm(tag string, workers, n int) *stormResult {
	res := &stormResult{}
	client := e.srv.Client()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				user := fmt.Sprintf("storm-%s-%d-%d", tag, w, i)
				code, err := e.sim.Login(appA, user)
				if err != nil {
					e.t.Errorf("sim login: %v", err)
					return
				}
				kind, detail := e.stormLogin(client, code)
				res.mu.Lock()
				switch kind {
				case "ok":
					res.ok++
				case "unavailable":
					res.unavailable++
				case "hung":
					res.hung++
				default:
					res.other++
				}
				res.mu.Unlock()
				if kind != "ok" && kind != "unavailable" {
					e.t.Errorf("login of %s: %s", user, detail)
				}
			}
		})
	}
	wg.Wait()
	return res
}

// stormLogin sends one login and returns "ok", "unavailable", "hung" or "other", with a description.
func (e *env) stormLogin(client *http.Client, code string) (kind, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
	defer cancel()
	body := fmt.Sprintf(`{"appid":%q,"code":%q}`, appA, code)
	req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/v1/login/wechat", strings.NewReader(body))
	if err != nil {
		return "other", err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "hung", "no answer within " + faultDeadline.String()
		}
		return "other", err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "other", err.Error()
	}
	checkContract(e.t, exchange{req: req, reqBody: []byte(body), checkReq: true, status: resp.StatusCode, header: resp.Header, body: b})
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Error        struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "other", fmt.Sprintf("status %d, body not JSON: %q", resp.StatusCode, b)
	}
	switch {
	case resp.StatusCode == http.StatusOK && out.AccessToken != "" && out.RefreshToken != "":
		return "ok", ""
	case resp.StatusCode == http.StatusServiceUnavailable && out.Error.Code == "upstream_unavailable" && resp.Header.Get("Retry-After") != "":
		return "unavailable", ""
	}
	return "other", fmt.Sprintf("status %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
}

// assertGoroutinesBack closes idle keep-alive connections and waits for the goroutine count to come
// back to baseline (plus a small slack for runtime and test-framework goroutines).
func (e *env) assertGoroutinesBack(baseline int) {
	e.t.Helper()
	const slack = 5
	var n int
	for range 200 {
		e.srv.Client().CloseIdleConnections()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the WeChat clients' transport
		if n = runtime.NumGoroutine(); n <= baseline+slack {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	e.t.Errorf("goroutines: %d, baseline %d: leaked\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
}
