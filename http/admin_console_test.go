package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/http/console"
	"github.com/wxlogin/wxlogin/metrics"
)

func init() {
	// The console's page and assets are text the contract check reads as such.
	for _, ct := range []string{"text/html", "text/css", "text/javascript", "image/svg+xml"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

type statsBucket struct {
	Start    time.Time      `json:"start"`
	Total    int            `json:"total"`
	ByMethod map[string]int `json:"by_method"`
	ByApp    map[string]int `json:"by_app"`
}

type adminStats struct {
	GeneratedAt   time.Time     `json:"generated_at"`
	LoginsHourly  []statsBucket `json:"logins_hourly"`
	LoginsDaily   []statsBucket `json:"logins_daily"`
	NewUsersDaily []struct {
		Start time.Time `json:"start"`
		Count int       `json:"count"`
	} `json:"new_users_daily"`
	ActiveSessions     int  `json:"active_sessions"`
	AuditEventsScanned int  `json:"audit_events_scanned"`
	Truncated          bool `json:"truncated"`
	Instance           *struct {
		WeChatErrors []struct {
			AppID   string `json:"appid"`
			API     string `json:"api"`
			ErrCode string `json:"errcode"`
			Count   int    `json:"count"`
		} `json:"wechat_errors"`
		RateLimited []struct {
			Route string `json:"route"`
			Count int    `json:"count"`
		} `json:"rate_limited"`
	} `json:"instance"`
}

// TestAdminStats logs people in over three days through several doors and apps, and checks every
// bucket of GET /admin/v1/stats: hours, days, methods, apps, new users, active sessions.
func TestAdminStats(t *testing.T) {
	a := newAdminEnv(t)
	// Day 1 (2026-11-21) 08:00: alice on A (new user); 11:00: bob on B (new user), a signup and its
	// password login (no app).
	alice := a.remember(a.login(appA, "stats-alice"))
	a.clock.Advance(3 * time.Hour)
	bob := a.remember(a.login(appB, "stats-bob"))
	if r := a.do("POST", "/v1/accounts", "", map[string]string{"username": "stats-carol", "password": "correct horse battery"}); r.Status != 201 {
		t.Fatalf("sign up: %d %s", r.Status, r.Body)
	}
	carol := a.remember(a.mustTokens(a.do("POST", "/v1/login/password", "", map[string]string{"appid": appA, "username": "stats-carol", "password": "correct horse battery"})))
	// Day 3 (2026-11-23) 12:30: alice again on A (not new); bob's session is revoked.
	a.clock.Advance(2*24*time.Hour + 90*time.Minute)
	alice2 := a.remember(a.login(appA, "stats-alice"))
	a.adminJSON("DELETE", "/admin/v1/sessions/"+bob.SessionID, 204, nil)
	_, _ = alice, carol

	var st adminStats
	a.adminJSON("GET", "/admin/v1/stats", 200, &st)
	if len(st.LoginsHourly) != 48 || len(st.LoginsDaily) != 30 || len(st.NewUsersDaily) != 30 {
		t.Fatalf("buckets: %d hourly, %d daily, %d new-user days", len(st.LoginsHourly), len(st.LoginsDaily), len(st.NewUsersDaily))
	}
	now := time.Date(2026, 11, 23, 12, 30, 0, 0, time.UTC)
	if !st.GeneratedAt.Equal(now) {
		t.Errorf("generated_at = %v, want %v", st.GeneratedAt, now)
	}
	if last := st.LoginsHourly[47]; !last.Start.Equal(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)) || last.Total != 1 ||
		last.ByMethod["wechat"] != 1 || last.ByApp[appA] != 1 {
		t.Errorf("current hour = %+v, want alice's wechat login on A", last)
	}
	hourly := 0
	for _, b := range st.LoginsHourly {
		hourly += b.Total
	}
	if hourly != 1 { // day 1 is more than 48 hours ago
		t.Errorf("logins in the last 48 hours = %d, want 1", hourly)
	}
	day := func(i int) statsBucket { return st.LoginsDaily[i] }
	if d := day(29); !d.Start.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) || d.Total != 1 {
		t.Errorf("today = %+v, want one login", d)
	}
	if d := day(27); d.Total != 3 || d.ByMethod["wechat"] != 2 || d.ByMethod["password"] != 1 || d.ByApp[appA] != 2 || d.ByApp[appB] != 1 {
		t.Errorf("2026-11-21 = %+v, want wechat on A and B and a password login on A", d)
	}
	if d := day(28); d.Total != 0 || len(d.ByMethod) != 0 {
		t.Errorf("2026-11-22 = %+v, want no login", d)
	}
	if n := st.NewUsersDaily[27].Count; n != 3 {
		t.Errorf("new users on 2026-11-21 = %d, want 3 (alice, bob, carol's signup)", n)
	}
	if n := st.NewUsersDaily[29].Count; n != 0 {
		t.Errorf("new users today = %d, want 0 (alice came back)", n)
	}
	if st.ActiveSessions != 3 { // alice ×2, carol; bob's revoked
		t.Errorf("active sessions = %d, want 3", st.ActiveSessions)
	}
	if st.AuditEventsScanned != 4 || st.Truncated { // the logins of the 30 days, all counted
		t.Errorf("audit_events_scanned %d (truncated %v), want 4 logins and never truncated", st.AuditEventsScanned, st.Truncated)
	}
	if st.Instance != nil {
		t.Errorf("instance = %+v without metrics, want null", st.Instance)
	}
	_ = alice2

	// Reading the statistics is audited.
	var audit auditPage
	a.adminJSON("GET", "/admin/v1/audit?type=admin.stats.read", 200, &audit)
	if len(audit.Events) != 1 || audit.Events[0].ActorID != "admin:ops" {
		t.Errorf("admin.stats.read events = %+v", audit.Events)
	}
	// Unknown parameters are refused.
	if r := a.adminDo("GET", "/admin/v1/stats?days=7"); r.Status != 400 || r.ErrorCode(t) != "invalid_request" {
		t.Errorf("unknown parameter: %d %s", r.Status, r.Body)
	}
}

// TestAdminStatsInstance: with metrics, the stats carry this instance's WeChat errors by errcode
// and its rate-limit rejections, read from the metrics registry.
func TestAdminStatsInstance(t *testing.T) {
	m := metrics.New()
	a := newAdminEnv(t, func(_ *auth.Config, h *wxhttp.Config) {
		h.Observer, h.Metrics = m, m.Handler()
		h.RateLimits.LoginIP = wxhttp.RateLimit{Limit: 1, Window: time.Hour}
	})
	m.ObserveCall(appA, "code2session", "40029", time.Millisecond)
	m.ObserveCall(appA, "code2session", "40029", time.Millisecond)
	m.ObserveCall(appB, "getuserphonenumber", "transport", time.Millisecond)
	m.ObserveCall(appA, "code2session", "0", time.Millisecond) // a success is not an error
	a.remember(a.login(appA, "instance-alice"))
	if r := a.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": a.code(appA, "instance-bob")}); r.Status != 429 {
		t.Fatalf("second login from the same IP: %d, want 429", r.Status)
	}
	var st adminStats
	a.adminJSON("GET", "/admin/v1/stats", 200, &st)
	if st.Instance == nil {
		t.Fatal("instance = null with metrics enabled")
	}
	errs := st.Instance.WeChatErrors
	if len(errs) != 2 || errs[0].ErrCode != "40029" || errs[0].Count != 2 || errs[0].AppID != appA || errs[0].API != "code2session" ||
		errs[1].ErrCode != "transport" || errs[1].Count != 1 {
		t.Errorf("wechat_errors = %+v", errs)
	}
	rl := st.Instance.RateLimited
	if len(rl) != 1 || rl[0].Route != "POST /v1/login/wechat" || rl[0].Count != 1 {
		t.Errorf("rate_limited = %+v", rl)
	}
}

// TestAdminAppsAndClients lists the configured apps and introspection clients, never a secret.
func TestAdminAppsAndClients(t *testing.T) {
	a := newAdminEnv(t)
	var apps struct {
		Apps []struct {
			AppID    string `json:"appid"`
			Platform string `json:"platform"`
			Kind     string `json:"kind"`
		} `json:"apps"`
	}
	a.adminJSON("GET", "/admin/v1/apps", 200, &apps)
	for _, ap := range apps.Apps {
		if want := map[string]string{appA: "miniprogram", appOA: "official_account", appWeb: "website"}[ap.AppID]; want != "" && ap.Kind != want {
			t.Errorf("app %s: kind %q, want %q", ap.AppID, ap.Kind, want)
		}
	}
	if len(apps.Apps) < 3 || apps.Apps[0].AppID != appA || apps.Apps[0].Platform != platform ||
		apps.Apps[1].AppID != appB || apps.Apps[2].AppID != appC || apps.Apps[2].Platform != "" {
		t.Errorf("apps = %+v", apps.Apps)
	}
	var clients struct {
		IntrospectionClients []struct {
			ClientID string `json:"client_id"`
		} `json:"introspection_clients"`
	}
	a.adminJSON("GET", "/admin/v1/clients", 200, &clients)
	if len(clients.IntrospectionClients) != 1 || clients.IntrospectionClients[0].ClientID != clientID {
		t.Errorf("clients = %+v", clients.IntrospectionClients)
	}
	all := strings.Join(a.answers, "\n")
	for _, secret := range []string{secretA, secretB, secretC, clientSec} {
		if strings.Contains(all, secret) {
			t.Errorf("a secret appears in the apps or clients answer")
		}
	}
	for _, path := range []string{"/admin/v1/apps", "/admin/v1/clients", "/admin/v1/stats"} {
		if r := a.do("GET", path, "", nil); r.Status != 401 || r.ErrorCode(t) != "unauthorized" {
			t.Errorf("GET %s without a token: %d", path, r.Status)
		}
		if r := a.do("GET", path, "not-an-admin-token", nil); r.Status != 401 {
			t.Errorf("GET %s with a wrong token: %d", path, r.Status)
		}
	}
}

// TestConsoleServed: the page and its assets are served with the security headers; unknown assets
// and other paths under /admin/ are JSON not_found; with no admin token everything is not_found.
func TestConsoleServed(t *testing.T) {
	a := newAdminEnv(t)
	for path, ctype := range map[string]string{"/admin/": "text/html", "/admin/assets/console.js": "text/javascript",
		"/admin/assets/console.css": "text/css", "/admin/assets/icon.svg": "image/svg+xml"} {
		r := a.do("GET", path, "", nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Header.Get("Content-Type"))
			continue
		}
		h := r.Header
		if h.Get("Content-Security-Policy") != console.CSP || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: security headers %v", path, h)
		}
		if h.Get("Set-Cookie") != "" {
			t.Errorf("GET %s sets a cookie", path)
		}
	}
	csp := console.CSP
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline or eval", csp)
	}
	page := string(a.do("GET", "/admin/", "", nil).Body)
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
		t.Errorf("the page has inline script or style, which the CSP refuses")
	}
	for _, path := range []string{"/admin/assets/nothing.js", "/admin/assets/index.html", "/admin/assets/x.go", "/admin/elsewhere", "/admin/v1/nothing"} {
		if r := a.do("GET", path, "", nil); r.Status != 404 || r.ErrorCode(t) != "not_found" {
			t.Errorf("GET %s: %d %s, want 404 not_found", path, r.Status, r.Body)
		}
	}
	if r := a.do("HEAD", "/admin/", "", nil); r.Status != 200 || len(r.Body) != 0 {
		t.Errorf("HEAD /admin/: %d, %d bytes", r.Status, len(r.Body))
	}

	e := newEnv(t) // no admin token
	for _, path := range []string{"/admin/", "/admin/assets/console.js", "/admin/v1/apps", "/admin/v1/stats"} {
		if r := e.do("GET", path, "", nil); r.Status != 404 || r.ErrorCode(t) != "not_found" {
			t.Errorf("no admin token: GET %s: %d", path, r.Status)
		}
	}
}

// TestConsoleKeepsTokenInMemory: the console's script never stores the token or uses a cookie,
// and puts server data into the page as text, never as HTML.
func TestConsoleKeepsTokenInMemory(t *testing.T) {
	a := newAdminEnv(t)
	js := string(a.do("GET", "/admin/assets/console.js", "", nil).Body)
	for _, bad := range []string{"localStorage", "sessionStorage", "document.cookie", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(js, bad) {
			t.Errorf("console.js uses %s", bad)
		}
	}
	if !strings.Contains(js, `Authorization: "Bearer " + token`) || !strings.Contains(js, `credentials: "omit"`) {
		t.Errorf("console.js does not send the token as a Bearer header without credentials")
	}
}
