package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// qrOn turns the QR login door on with the simulator's QR login page; polls wait at most wait.
func qrOn(wait time.Duration) envOption {
	return func(a *auth.Config, _ *wxhttp.Config) {
		a.QR = auth.QRConfig{Page: "pages/qr-login/index", CheckPath: true, PollWait: wait}
	}
}

type qrStart struct {
	ID        string `json:"id"`
	Image     string `json:"image"`
	ExpiresIn int64  `json:"expires_in"`
	PollToken string `json:"poll_token"`
}

type qrPoll struct {
	Status string  `json:"status"`
	Login  *tokens `json:"login"`
}

// qrStartReq starts a QR login at appA as a browser.
func (e *env) qrStart() qrStart {
	e.t.Helper()
	req := e.request("POST", "/v1/qr-login", "", map[string]string{"appid": appA})
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh) Safari/605")
	r := e.send(req)
	if r.Status != http.StatusCreated || r.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("POST /v1/qr-login: %d %s", r.Status, r.Body)
	}
	var st qrStart
	json.Unmarshal(r.Body, &st)
	return st
}

// qrPoll polls st; it fails the test unless the answer is status.
func (e *env) qrPoll(st qrStart, since string, status int) (qrPoll, *response) {
	e.t.Helper()
	body := map[string]string{"poll_token": st.PollToken}
	if since != "" {
		body["since"] = since
	}
	r := e.do("POST", "/v1/qr-login/"+st.ID+"/poll", "", body)
	if r.Status != status {
		e.t.Fatalf("poll: %d %s, want %d", r.Status, r.Body, status)
	}
	var p qrPoll
	json.Unmarshal(r.Body, &p)
	return p, r
}

// qrScan plays device user scanning st's code with the phone: the simulator decodes the image
// for real and answers what the page receives; the mini program decodes options.scene.
func (e *env) qrScan(st qrStart, user string) string {
	e.t.Helper()
	res, err := e.sim.Scan(appA, user, st.Image)
	if err != nil {
		e.t.Fatalf("scanning the code: %v", err)
	}
	if res.Page != "pages/qr-login/index" || res.EnvVersion != "release" {
		e.t.Fatalf("the code opens %+v", res)
	}
	scene, err := url.PathUnescape(res.Scene) // decodeURIComponent(options.scene)
	if err != nil {
		e.t.Fatal(err)
	}
	return scene
}

// The whole flow over HTTP, the device side played by the simulator: create, poll, scan (the
// requester shown), confirm, the website's login once, its session listed as qr.
func TestQRLoginFlow(t *testing.T) {
	e := newEnv(t, qrOn(time.Millisecond))
	st := e.qrStart()
	if !strings.HasPrefix(st.Image, "data:image/png;base64,") || st.ExpiresIn != 120 || len(st.PollToken) < 32 {
		t.Fatalf("start: %+v", st)
	}
	if p, _ := e.qrPoll(st, "", 200); p.Status != "pending" || p.Login != nil {
		t.Fatalf("first poll: %+v", p)
	}
	scene := e.qrScan(st, "alice")
	mp := e.login(appA, "alice")
	r := e.do("POST", "/v1/qr-login/scan", mp.AccessToken, map[string]string{"scene": scene})
	if r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	var scan struct {
		Status    string `json:"status"`
		Requester struct {
			IP        string    `json:"ip"`
			UserAgent string    `json:"user_agent"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"requester"`
	}
	json.Unmarshal(r.Body, &scan)
	if scan.Status != "scanned" || scan.Requester.IP != "127.0.0.1" || scan.Requester.UserAgent != "Mozilla/5.0 (Macintosh) Safari/605" || !scan.Requester.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("scan answer %s", r.Body)
	}
	if p, r := e.qrPoll(st, "pending", 200); p.Status != "scanned" || p.Login != nil || strings.Contains(string(r.Body), mp.User.ID) {
		t.Fatalf("poll after scan: %s (no user data before confirmation)", r.Body)
	}
	if r := e.do("POST", "/v1/qr-login/confirm", mp.AccessToken, map[string]string{"scene": scene}); r.Status != 204 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	p, r := e.qrPoll(st, "scanned", 200)
	if p.Status != "confirmed" || p.Login == nil || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("poll after confirm: %s", r.Body)
	}
	web := p.Login
	if web.User.ID != mp.User.ID || web.SessionID == mp.SessionID || web.AccessToken == "" || web.RefreshToken == "" {
		t.Fatalf("the website's login %+v, the mini program's %+v", web, mp)
	}
	if me := e.do("GET", "/v1/me", web.AccessToken, nil); me.Status != 200 {
		t.Fatalf("GET /v1/me with the website's token: %d", me.Status)
	}
	if r := e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": web.RefreshToken}); r.Status != 200 {
		t.Fatalf("refreshing the website's session: %d %s", r.Status, r.Body)
	}
	// Spent: the login was given once.
	if _, r := e.qrPoll(st, "scanned", 410); r.ErrorCode(t) != wxlogin.EEXPIRED {
		t.Fatal("a spent request")
	}
	// The session list shows the website's session as a QR login.
	var list struct {
		Sessions []struct {
			ID     string `json:"id"`
			Method string `json:"method"`
			IP     string `json:"ip"`
		} `json:"sessions"`
	}
	json.Unmarshal(e.do("GET", "/v1/me/sessions", mp.AccessToken, nil).Body, &list)
	found := false
	for _, s := range list.Sessions {
		if s.ID == web.SessionID {
			found = s.Method == "qr" && s.IP == "127.0.0.1"
		}
	}
	if !found {
		t.Fatalf("the session list %+v lacks the website's qr session %s", list, web.SessionID)
	}
	for _, typ := range []string{"qr.create", "qr.scan", "qr.confirm"} {
		if evs, _ := e.store.AuditEvents(context.Background(), wxlogin.AuditFilter{Type: typ}); len(evs) != 1 {
			t.Errorf("%d %s audit events, want 1", len(evs), typ)
		}
	}
	// The poll token never appears in a log line.
	if strings.Contains(e.logs.String(), st.PollToken) {
		t.Error("the poll token leaked into the logs")
	}
}

// Deny, a second scanner, double confirm, confirm after expiry, over HTTP with their codes.
func TestQRLoginRefusals(t *testing.T) {
	e := newEnv(t, qrOn(time.Millisecond))
	alice, bob := e.login(appA, "alice"), e.login(appA, "bob")
	post := func(path, tok, scene string) *response {
		return e.do("POST", "/v1/qr-login/"+path, tok, map[string]string{"scene": scene})
	}
	// Denied.
	st := e.qrStart()
	scene := e.qrScan(st, "alice")
	if r := post("confirm", alice.AccessToken, scene); r.Status != 409 {
		t.Fatalf("confirm before scan: %d %s", r.Status, r.Body)
	}
	post("scan", alice.AccessToken, scene)
	if r := post("scan", bob.AccessToken, scene); r.Status != 409 || r.ErrorCode(t) != wxlogin.ECONFLICT {
		t.Fatalf("a second user's scan: %d %s", r.Status, r.Body)
	}
	if r := post("confirm", bob.AccessToken, scene); r.Status != 403 {
		t.Fatalf("a second user's confirm: %d %s", r.Status, r.Body)
	}
	if r := post("deny", alice.AccessToken, scene); r.Status != 204 {
		t.Fatalf("deny: %d %s", r.Status, r.Body)
	}
	if p, _ := e.qrPoll(st, "scanned", 200); p.Status != "denied" || p.Login != nil {
		t.Fatalf("poll after deny: %+v", p)
	}
	if r := post("confirm", alice.AccessToken, scene); r.Status != 409 {
		t.Fatalf("confirm after deny: %d %s", r.Status, r.Body)
	}
	if r := post("scan", alice.AccessToken, scene); r.Status != 410 {
		t.Fatalf("scan after deny: %d %s", r.Status, r.Body)
	}
	// Double confirm.
	st = e.qrStart()
	scene = e.qrScan(st, "alice")
	post("scan", alice.AccessToken, scene)
	if r := post("confirm", alice.AccessToken, scene); r.Status != 204 {
		t.Fatalf("confirm: %d", r.Status)
	}
	if r := post("confirm", alice.AccessToken, scene); r.Status != 409 {
		t.Fatalf("double confirm: %d %s", r.Status, r.Body)
	}
	// Confirm after expiry: 410 expired, and the poll too.
	st = e.qrStart()
	scene = e.qrScan(st, "alice")
	post("scan", alice.AccessToken, scene)
	e.clock.Advance(2*time.Minute + time.Second)
	alice = e.login(appA, "alice") // the clock moved: a fresh token
	if r := post("confirm", alice.AccessToken, scene); r.Status != 410 || r.ErrorCode(t) != wxlogin.EEXPIRED {
		t.Fatalf("confirm after expiry: %d %s", r.Status, r.Body)
	}
	if _, r := e.qrPoll(st, "scanned", 410); r.ErrorCode(t) != wxlogin.EEXPIRED {
		t.Fatal("poll after expiry")
	}
	// A wrong poll token, an unknown id, no token at all; scan without a token or with a bad scene.
	st = e.qrStart()
	for _, body := range []map[string]string{{"poll_token": "nope"}, {"poll_token": e.qrStart().PollToken}} {
		if r := e.do("POST", "/v1/qr-login/"+st.ID+"/poll", "", body); r.Status != 404 {
			t.Fatalf("poll with %v: %d %s", body, r.Status, r.Body)
		}
	}
	if r := e.do("POST", "/v1/qr-login/qrl_nope/poll", "", map[string]string{"poll_token": st.PollToken}); r.Status != 404 {
		t.Fatalf("unknown id: %d", r.Status)
	}
	if r := e.do("POST", "/v1/qr-login/"+st.ID+"/poll", "", map[string]string{}); r.Status != 400 {
		t.Fatalf("poll without a token: %d", r.Status)
	}
	if r := post("scan", "", "abc"); r.Status != 401 {
		t.Fatalf("scan without a token: %d", r.Status)
	}
	if r := post("scan", alice.AccessToken, "a b"); r.Status != 400 {
		t.Fatalf("scan of a bad scene: %d", r.Status)
	}
}

// Two users scan one code at once: one wins, the other gets 409.
func TestQRLoginScanRace(t *testing.T) {
	e := newEnv(t, qrOn(time.Millisecond))
	st := e.qrStart()
	scene := e.qrScan(st, "u0")
	var toks []string
	for _, u := range []string{"u0", "u1", "u2", "u3"} {
		toks = append(toks, e.login(appA, u).AccessToken)
	}
	statuses := make([]int, len(toks))
	var wg sync.WaitGroup
	for i, tok := range toks {
		wg.Go(func() {
			statuses[i] = e.do("POST", "/v1/qr-login/scan", tok, map[string]string{"scene": scene}).Status
		})
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case 200:
			won++
		case 409:
		default:
			t.Fatalf("racing scan answered %d", s)
		}
	}
	if won != 1 {
		t.Fatalf("statuses %v: want exactly one 200", statuses)
	}
}

// A poll waits for the change and wakes on it (no timer ends it: the wait is an hour).
func TestQRLoginLongPollWakes(t *testing.T) {
	e := newEnv(t, qrOn(time.Hour))
	st := e.qrStart()
	scene := e.qrScan(st, "alice")
	mp := e.login(appA, "alice")
	type result struct {
		status int
		body   qrPoll
	}
	done := make(chan result, 1)
	go func() {
		req := e.request("POST", "/v1/qr-login/"+st.ID+"/poll", "", map[string]string{"poll_token": st.PollToken})
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			done <- result{}
			return
		}
		defer resp.Body.Close()
		var p qrPoll
		json.NewDecoder(resp.Body).Decode(&p)
		done <- result{resp.StatusCode, p}
	}()
	// Scan until the poll is waiting: a scan before it subscribed is seen by its first read.
	if r := e.do("POST", "/v1/qr-login/scan", mp.AccessToken, map[string]string{"scene": scene}); r.Status != 200 {
		t.Fatalf("scan: %d", r.Status)
	}
	res := <-done
	if res.status != 200 || res.body.Status != "scanned" {
		t.Fatalf("the waiting poll answered %d %+v", res.status, res.body)
	}
	// It waits again from scanned, and the confirm wakes it with the login.
	go func() {
		req := e.request("POST", "/v1/qr-login/"+st.ID+"/poll", "", map[string]string{"poll_token": st.PollToken, "since": "scanned"})
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			done <- result{}
			return
		}
		defer resp.Body.Close()
		var p qrPoll
		json.NewDecoder(resp.Body).Decode(&p)
		done <- result{resp.StatusCode, p}
	}()
	if r := e.do("POST", "/v1/qr-login/confirm", mp.AccessToken, map[string]string{"scene": scene}); r.Status != 204 {
		t.Fatalf("confirm: %d", r.Status)
	}
	res = <-done
	if res.status != 200 || res.body.Status != "confirmed" || res.body.Login == nil || res.body.Login.User.ID != mp.User.ID {
		t.Fatalf("the waiting poll answered %d %+v", res.status, res.body)
	}
}

// getwxacodeunlimit failing (busy, quota, transport) answers 503 with Retry-After; an unknown
// page 502.
func TestQRLoginWeChatFaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		fault  wechatsim.Fault
		status int
	}{
		{"system busy", wechatsim.Fault{Path: wechatsim.PathWXACodeUnlimit, Errcode: -1, Errmsg: "system error"}, 503},
		{"quota", wechatsim.Fault{Path: wechatsim.PathWXACodeUnlimit, Errcode: 45009, Errmsg: "reach max api daily quota limit"}, 503},
		{"connection reset", wechatsim.Fault{Path: wechatsim.PathWXACodeUnlimit, Reset: true}, 503},
		{"garbage", wechatsim.Fault{Path: wechatsim.PathWXACodeUnlimit, Garbage: true}, 503},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, qrOn(time.Millisecond))
			if err := e.sim.SetFault(c.fault); err != nil {
				t.Fatal(err)
			}
			r := e.do("POST", "/v1/qr-login", "", map[string]string{"appid": appA})
			if r.Status != c.status || r.Header.Get("Retry-After") == "" {
				t.Fatalf("%d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
			}
		})
	}
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) {
		a.QR = auth.QRConfig{Page: "pages/unpublished/index", CheckPath: true}
	})
	if r := e.do("POST", "/v1/qr-login", "", map[string]string{"appid": appA}); r.Status != 502 || !strings.Contains(string(r.Body), "qr_login_page") {
		t.Fatalf("an unpublished page: %d %s", r.Status, r.Body)
	}
	e = newEnv(t, func(a *auth.Config, _ *wxhttp.Config) {
		a.QR = auth.QRConfig{Page: "pages/unpublished/index", CheckPath: false, EnvVersion: "trial"}
	})
	st := e.qrStart()
	if res, err := e.sim.Scan(appA, "alice", st.Image); err != nil || res.Page != "pages/unpublished/index" || res.EnvVersion != "trial" {
		t.Fatalf("a trial build's code without check_path: %+v %v", res, err)
	}
}

// Creating and polling are rate-limited per address.
func TestQRLoginRateLimited(t *testing.T) {
	e := newEnv(t, qrOn(time.Millisecond), func(_ *auth.Config, h *wxhttp.Config) {
		h.RateLimits.QRLoginIP = wxhttp.RateLimit{Limit: 3, Window: time.Minute}
	})
	st := e.qrStart()
	e.qrPoll(st, "", 200)
	e.qrPoll(st, "", 200)
	if _, r := e.qrPoll(st, "", 429); r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if r := e.do("POST", "/v1/qr-login", "", map[string]string{}); r.Status != 429 {
		t.Fatalf("create past the limit: %d", r.Status)
	}
}

// Behind a proxy (trust_proxy_headers), the requester shown is the browser's forwarded address,
// taken when the request was created; without it, X-Forwarded-For is ignored.
func TestQRLoginRequesterBehindProxy(t *testing.T) {
	for _, trust := range []bool{true, false} {
		e := newEnv(t, qrOn(time.Millisecond), func(_ *auth.Config, h *wxhttp.Config) { h.TrustProxyHeaders = trust })
		req := e.request("POST", "/v1/qr-login", "", map[string]string{"appid": appA})
		req.Header.Set("X-Forwarded-For", "198.51.100.23")
		r := e.send(req)
		var st qrStart
		json.Unmarshal(r.Body, &st)
		scene := e.qrScan(st, "alice")
		mp := e.login(appA, "alice")
		scanReq := e.request("POST", "/v1/qr-login/scan", mp.AccessToken, map[string]string{"scene": scene})
		scanReq.Header.Set("X-Forwarded-For", "192.0.2.99") // the phone's address is not the requester's
		var scan struct {
			Requester struct {
				IP string `json:"ip"`
			} `json:"requester"`
		}
		json.Unmarshal(e.send(scanReq).Body, &scan)
		want := "127.0.0.1"
		if trust {
			want = "198.51.100.23"
		}
		if scan.Requester.IP != want {
			t.Errorf("trust_proxy_headers %v: requester %q, want %q", trust, scan.Requester.IP, want)
		}
	}
}

// Malformed requests to the QR routes get 4xx JSON errors.
func TestQRLoginBadInput(t *testing.T) {
	e := newEnv(t, qrOn(time.Millisecond))
	tk := e.login(appA, "nina")
	st := e.qrStart()
	for _, c := range []struct {
		path, bearer, ct, body string
		status                 int
	}{
		{"/v1/qr-login", "", "text/plain", `{}`, 400},
		{"/v1/qr-login", "", "application/json", `{"appid":5}`, 400},
		{"/v1/qr-login", "", "application/json", `{"appid":"wxnope"}`, 400},
		{"/v1/qr-login", "", "application/json", `{"poll_token":"x"}`, 400},
		{"/v1/qr-login/" + st.ID + "/poll", "", "application/json", `{"poll_token":"` + st.PollToken + `","since":"confirmed"}`, 400},
		{"/v1/qr-login/" + st.ID + "/poll", "", "application/json", `[]`, 400},
		{"/v1/qr-login/" + st.ID + "/poll", "", "application/json", `{"poll_token":"` + strings.Repeat("x", 200) + `"}`, 404},
		{"/v1/qr-login/scan", tk.AccessToken, "application/json", `{}`, 400},
		{"/v1/qr-login/scan", tk.AccessToken, "application/json", `{"scene":"` + strings.Repeat("a", 33) + `"}`, 400},
		{"/v1/qr-login/scan", tk.AccessToken, "application/json", "{\"scene\":\"a\xffb\"}", 400},
		{"/v1/qr-login/confirm", tk.AccessToken, "application/json", `{"scene":["x"]}`, 400},
		{"/v1/qr-login/deny", tk.AccessToken, "application/json", `{"scene":"x","extra":1}`, 400},
		{"/v1/qr-login/deny", tk.AccessToken, "application/json", `{"scene":"NoSuchScene"}`, 404},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		r := e.send(req)
		if r.Status != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.path, c.body, r.Status, r.Body, c.status)
			continue
		}
		r.ErrorCode(t)
	}
}
