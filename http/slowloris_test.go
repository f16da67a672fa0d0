package http_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// slowClient is a raw connection that sent the headers of a POST with Content-Length 1000 and
// trickles its body one byte at a time (a slowloris).
type slowClient struct {
	conn net.Conn
	br   *bufio.Reader
}

func openSlow(t *testing.T, addr, path, forwardedFor, bearer string) *slowClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	auth := ""
	if bearer != "" {
		auth = "Authorization: Bearer " + bearer + "\r\n"
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Forwarded-For: %s\r\n%s\r\n{", path, forwardedFor, auth)
	return &slowClient{conn: c, br: bufio.NewReader(c)}
}

// trickle sends one more byte of every client every interval until stop is closed.
func trickle(clients []*slowClient, interval time.Duration, stop chan struct{}, wg *sync.WaitGroup) {
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for _, c := range clients {
					c.conn.SetWriteDeadline(time.Now().Add(time.Second))
					c.conn.Write([]byte(" "))
				}
			}
		}
	})
}

// status reads the status of the response on c, waiting at most d; 0 when none came.
func (c *slowClient) status(d time.Duration) int {
	c.conn.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestSlowloris: hundreds of connections trickling their bodies, from many addresses or from
// one, leave the shared in-flight cap to everyone else: a normal client still logs in while they
// hold their connections. Issue 14, item 1. Sized for 2 cores.
func TestSlowloris(t *testing.T) {
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) {
		h.TrustProxyHeaders = true
		h.MaxConcurrent = 20
		h.MaxInFlightPerClient = 8
		h.BodyMinRate = 0 // here the slow clients may hold on as long as they like
	})
	if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": "steady", "password": "correct horse battery"}); r.Status != 201 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	tk := e.login(appA, "steady-wx")
	attacker := e.login(appA, "attacker-wx")
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() { close(stop); wg.Wait() }()

	// 200 slow clients, each from an address of its own, on the password login (the dev attack,
	// without a token).
	var many []*slowClient
	for i := range 200 {
		many = append(many, openSlow(t, addr, "/v1/login/password", fmt.Sprintf("198.51.100.%d, 10.0.%d.%d", i%250, i/250, i%250), ""))
	}
	// 50 on /v1/me with one user's valid token, from addresses of their own: past 8 they are
	// refused at once.
	var sameUser []*slowClient
	for i := range 50 {
		sameUser = append(sameUser, openSlow(t, addr, "/v1/me", fmt.Sprintf("192.0.2.%d", i), attacker.AccessToken))
	}
	// 50 more from one address: past 8 they are refused at once.
	var greedy []*slowClient
	for range 50 {
		greedy = append(greedy, openSlow(t, addr, "/v1/login/password", "203.0.113.7", ""))
	}
	all := append(append(many, greedy...), sameUser...)
	defer func() {
		for _, c := range all {
			c.conn.Close()
		}
	}()
	trickle(all, 500*time.Millisecond, stop, &wg)
	for name, group := range map[string][]*slowClient{"one address": greedy, "one user": sameUser} {
		refused := 0
		for _, c := range group {
			if c.status(200*time.Millisecond) == http.StatusServiceUnavailable {
				refused++
			}
		}
		if refused < 50-8 {
			t.Errorf("%s holding 50 slow requests: %d refused, want at least %d", name, refused, 50-8)
		}
	}
	time.Sleep(500 * time.Millisecond) // let every slow request reach the server

	// A normal client, from another address, is served while they hold on.
	for i := range 5 {
		r := e.do("POST", "/v1/login/password", "", map[string]string{"username": "steady", "password": "correct horse battery"})
		if r.Status != 200 {
			t.Fatalf("normal login %d during the slowloris: %d %s", i, r.Status, r.Body)
		}
		if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 200 {
			t.Fatalf("normal /v1/me %d during the slowloris: %d %s", i, r.Status, r.Body)
		}
	}
	// The slow clients still hold their connections (nothing answered them).
	for _, c := range many[:10] {
		if st := c.status(50 * time.Millisecond); st != 0 {
			t.Errorf("a slow client was answered %d: it should still be sending", st)
		}
	}
}

// TestSlowBodyMinimumRate: a body slower than the minimum rate is cut off with 400 (and the
// connection closed), within a generous deadline.
func TestSlowBodyMinimumRate(t *testing.T) {
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) {
		h.BodyMinRate = 100 // 1000 bytes: 10 s at this rate, plus the grace
		h.BodyReadGrace = 200 * time.Millisecond
	})
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	c := openSlow(t, addr, "/v1/login/password", "", "")
	defer c.conn.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	trickle([]*slowClient{c}, 200*time.Millisecond, stop, &wg) // 5 bytes per second
	st := c.status(60 * time.Second)
	close(stop)
	wg.Wait()
	if st != http.StatusBadRequest {
		t.Fatalf("a body at 5 B/s against a minimum of 100 B/s: status %d, want 400", st)
	}
}

// TestExpectContinueTooLarge: a body declared larger than the limit with Expect: 100-continue is
// refused before 100 Continue, so the client never sends it and sees the error, not a reset.
func TestExpectContinueTooLarge(t *testing.T) {
	e := newEnv(t)
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(e.srv.URL, "http://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/login/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 413") {
		t.Fatalf("first line %q, want 413 before any 100 Continue", line)
	}
}

// TestSlowBodyReadTimeoutCap: the body deadline never goes past the server's read timeout, however
// low the minimum rate.
func TestSlowBodyReadTimeoutCap(t *testing.T) {
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) {
		h.BodyMinRate = 1 // 1000 bytes: over 16 minutes at this rate
		h.ReadTimeout = time.Second
	})
	c := openSlow(t, strings.TrimPrefix(e.srv.URL, "http://"), "/v1/login/password", "", "")
	defer c.conn.Close()
	if st := c.status(30 * time.Second); st != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 once the read timeout passed", st)
	}
}
