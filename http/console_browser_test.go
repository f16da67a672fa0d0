package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/internal/browsertest"
	"github.com/wxlogin/wxlogin/metrics"
)

// The nickname of the console test's user: rendered as HTML it would run script.
const xssNickname = `<img src=x onerror=alert(1)>`

// browserRun drives the console in one headless Chromium tab.
type browserRun struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// do runs steps, failing the test with what (and the page's status line) when one fails.
func (b *browserRun) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v (status line: %q)", what, err, b.eval("document.getElementById('status') ? document.getElementById('status').textContent : ''"))
	}
}

// eval returns the value of a JavaScript expression, as a string.
func (b *browserRun) eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("String("+expr+")"))
	if err != nil {
		return "error: " + err.Error()
	}
	return v
}

// wait waits until the JavaScript expression is truthy.
func (b *browserRun) wait(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		b.t.Fatalf("browser: waiting for %s: %v (status line: %q; page: %.300q)", what, err,
			b.eval("(document.getElementById('status')||{}).textContent"), b.eval("document.body.innerText"))
	}
}

// clear empties the input with id (chromedp's SetValue cannot set "").
func (b *browserRun) clear(id string) {
	b.t.Helper()
	if got := b.eval(fmt.Sprintf(`(document.getElementById(%q).value = "")`, id)); got != "" {
		b.t.Fatalf("browser: clearing #%s: %s", id, got)
	}
}

// clickText clicks the first element matching css whose text is exactly text (a real mouse click).
func (b *browserRun) clickText(css, text string) {
	b.t.Helper()
	path := fmt.Sprintf(`[...document.querySelectorAll(%s)].filter((n) => n.textContent.trim() === %s && !n.disabled)`, strconv.Quote(css), strconv.Quote(text))
	b.wait(css+" "+strconv.Quote(text), path+".length > 0")
	b.do("click "+strconv.Quote(text), chromedp.Click(chromedp.JSPath(path+"[0]"), chromedp.NodeVisible))
}

// TestConsoleInBrowser drives the admin console in a real headless Chromium: sign-in (and only
// the sign-in page without a token), the overview's charts, finding a user who logged in through
// the simulator and their identities, revoking a session (its token is refused afterwards),
// disabling and enabling the user, the audit trail, webhooks, clients and apps, a phone-sized
// screen, a nickname that would be script if parsed as HTML, and framing being refused. It writes
// a screenshot of each page (see internal/browsertest).
func TestConsoleInBrowser(t *testing.T) {
	m := metrics.New()
	a := newAdminEnv(t, func(_ *auth.Config, h *wxhttp.Config) { h.Observer, h.Metrics = m, m.Handler() })

	// A user logs in through the simulator on two apps of one open platform (one user, two
	// identities), and sets a nickname that is HTML.
	first := a.remember(a.login(appA, "console-alice"))
	a.clock.Advance(time.Hour)
	second := a.remember(a.login(appB, "console-alice"))
	if second.User.ID != first.User.ID {
		t.Fatalf("the two logins made two users")
	}
	if r := a.do("PATCH", "/v1/me", first.AccessToken, map[string]string{"nickname": xssNickname}); r.Status != 200 {
		t.Fatalf("PATCH /v1/me: %d %s", r.Status, r.Body)
	}
	a.remember(a.login(appC, "console-bob"))
	// The test environment's WeChat clients report to no observer: count a WeChat error the way
	// the clients do in the binary, so the overview has one to show.
	m.ObserveCall(appA, "code2session", "40029", time.Millisecond)
	userID := first.User.ID
	var detail adminUserDetail
	a.adminJSON("GET", "/admin/v1/users/"+userID, 200, &detail)
	openidA := ""
	for _, id := range detail.Identities {
		if id["appid"] == appB {
			openidA, _ = id["openid"].(string)
		}
	}
	if len(detail.Identities) != 2 || openidA == "" {
		t.Fatalf("identities = %v", detail.Identities)
	}

	ctx := browsertest.New(t)
	b := &browserRun{t: t, ctx: ctx, base: a.srv.URL + "/admin/"}
	b.do("laptop screen", chromedp.EmulateViewport(browsertest.Width, browsertest.Height))

	// Without a token: only the sign-in page, whatever page the address asks for.
	b.do("open the console", chromedp.Navigate(b.base+"#users/"+url.PathEscape(userID)))
	b.wait("the sign-in form", `document.getElementById("signin-form") && !document.getElementById("signin").hidden`)
	if got := b.eval(`document.getElementById("app").hidden`); got != "true" {
		t.Errorf("without a token the console is shown (app hidden = %s)", got)
	}
	if body := b.eval("document.body.innerText"); strings.Contains(body, userID) || strings.Contains(body, openidA) {
		t.Errorf("without a token the page shows user data: %q", body)
	}
	if got := b.eval(`document.activeElement.id`); got != "signin-token" {
		t.Errorf("focus on load is on %q, want the token field", got)
	}
	if got := b.eval(`document.querySelector("label[for=signin-token]").textContent`); got != "Admin token" {
		t.Errorf("the token field's label is %q", got)
	}
	browsertest.Screenshot(t, ctx, "console-signin")

	// A wrong token is refused; the right one, typed and submitted with the keyboard, signs in.
	b.do("type a wrong token", chromedp.SendKeys(chromedp.ID("signin-token"), "wrong-token\r"))
	b.wait("the refusal", `document.getElementById("signin-error").textContent.includes("refused")`)
	b.clear("signin-token")
	b.do("type the token", chromedp.SendKeys(chromedp.ID("signin-token"), opsToken+"\r"))
	// The address asked for the user's page: signing in leads there.
	b.wait("the user's page after signing in", `document.querySelector("#page h1") && document.querySelector("#page h1").textContent.startsWith("User ")`)
	b.clickText("nav a", "Overview")
	b.wait("the overview", `document.getElementById("page").dataset.page === "overview" && document.querySelector("#chart-daily-method svg")`)
	for _, chart := range []string{"chart-hourly-method", "chart-daily-method", "chart-hourly-app", "chart-daily-app", "chart-new-users"} {
		n := b.eval(fmt.Sprintf(`[...document.querySelectorAll("#%s rect.bar")].reduce((n, r) => n + Number(r.dataset.value), 0)`, chart))
		if v, _ := strconv.Atoi(n); v <= 0 {
			t.Errorf("chart %s draws no data (sum of its bars: %s)", chart, n)
		}
	}
	if n := b.eval(`[...document.querySelectorAll("#chart-daily-method rect.bar")].reduce((n, r) => n + Number(r.dataset.value), 0)`); n != "3" {
		t.Errorf("logins per day by door add up to %s, want 3", n)
	}
	if got := b.eval(`document.querySelector(".cards").innerText`); !strings.Contains(got, "WeChat API errors") {
		t.Errorf("overview cards: %q", got)
	}
	if got := b.eval(`document.body.innerText`); !strings.Contains(got, "40029") {
		t.Errorf("the overview does not list the WeChat errcode 40029 of the bad code")
	}
	if strings.Contains(b.eval("document.documentElement.outerHTML"), opsToken) {
		t.Errorf("the admin token is in the page")
	}
	browsertest.Screenshot(t, ctx, "console-overview")

	// Users: find the user by an openid and see their identities.
	b.clickText("nav a", "Users")
	b.wait("the user search", `document.getElementById("user-field")`)
	b.do("search by openid", chromedp.SetValue(chromedp.ID("user-field"), "openid"), chromedp.SendKeys(chromedp.ID("user-q"), openidA+"\r"))
	b.wait("one result", `document.getElementById("status").textContent.startsWith("1 user")`)
	browsertest.Screenshot(t, ctx, "console-users")
	b.clickText("#user-results a", userID)
	b.wait("the user's page", `document.querySelector("#page h1") && document.querySelector("#page h1").textContent.startsWith("User ")`)
	page := b.eval(`document.getElementById("page").innerText`)
	for _, want := range []string{appA, appB, openidA, first.SessionID, second.SessionID, "login.success"} {
		if !strings.Contains(page, want) {
			t.Errorf("the user's page lacks %s", want)
		}
	}
	// The nickname is text: shown literally, no element made of it.
	if h1 := b.eval(`document.querySelector("#page h1").textContent`); h1 != "User "+xssNickname {
		t.Errorf("heading = %q, want the nickname as text", h1)
	}
	if n := b.eval(`document.querySelectorAll("#page img, img[src=x]").length`); n != "0" {
		t.Errorf("the nickname became %s element(s)", n)
	}
	if got := b.eval(`document.activeElement.tagName + "/" + document.activeElement.textContent`); got != "H1/User "+xssNickname {
		t.Errorf("focus after navigating is on %q, want the page heading", got)
	}
	browsertest.Screenshot(t, ctx, "console-user")

	// Revoke the first session: its access token is refused afterwards, the other still works.
	if r := a.do("GET", "/v1/me", first.AccessToken, nil); r.Status != 200 {
		t.Fatalf("before revoking: GET /v1/me %d", r.Status)
	}
	row := fmt.Sprintf(`[...document.querySelectorAll("#page tr")].find((tr) => tr.textContent.includes(%q))`, first.SessionID)
	b.do("revoke the session", chromedp.Click(chromedp.JSPath(row+`.querySelector("button")`), chromedp.NodeVisible))
	b.wait("the revocation", `document.getElementById("status").textContent === "Session revoked."`)
	if got := b.eval(row + `.textContent`); !strings.Contains(got, "revoked") {
		t.Errorf("the session's row after revoking: %q", got)
	}
	if r := a.do("GET", "/v1/me", first.AccessToken, nil); r.Status != 401 {
		t.Errorf("the revoked session's token: GET /v1/me %d, want 401", r.Status)
	}
	if r := a.do("GET", "/v1/me", second.AccessToken, nil); r.Status != 200 {
		t.Errorf("the other session's token: GET /v1/me %d, want 200", r.Status)
	}

	// Disable, then enable; the audit trail shows both.
	b.clickText("#page button", "Disable user")
	b.wait("the user disabled", `document.getElementById("status").textContent.startsWith("User disabled")`)
	a.adminJSON("GET", "/admin/v1/users/"+userID, 200, &detail)
	if !detail.User.Disabled {
		t.Fatalf("after Disable user the user is not disabled")
	}
	if r := a.do("GET", "/v1/me", second.AccessToken, nil); r.Status != 401 {
		t.Errorf("a disabled user's token: GET /v1/me %d, want 401", r.Status)
	}
	browsertest.Screenshot(t, ctx, "console-user-disabled")
	b.clickText("#page button", "Enable user")
	b.wait("the user enabled", `document.getElementById("status").textContent === "User enabled."`)
	a.adminJSON("GET", "/admin/v1/users/"+userID, 200, &detail)
	if detail.User.Disabled {
		t.Fatalf("after Enable user the user is still disabled")
	}
	trail := b.eval(`document.getElementById("page").innerText`)
	if !strings.Contains(trail, "user.disable") || !strings.Contains(trail, "user.enable") || !strings.Contains(trail, "session.revoke") {
		t.Errorf("the user's audit trail lacks the disable, enable or revoke: %.2000s", trail)
	}

	// Audit: filtered by type, newest first, and paged.
	b.clickText("nav a", "Audit")
	b.wait("the audit page", `document.getElementById("audit-type")`)
	b.do("filter by type", chromedp.SendKeys(chromedp.ID("audit-type"), "user.disable\r"))
	b.wait("the filtered trail", `document.getElementById("status").textContent.startsWith("Page 1: 1 event")`)
	if got := b.eval(`document.querySelector("#audit-results tbody").innerText`); !strings.Contains(got, "user.disable") || !strings.Contains(got, "admin:ops") {
		t.Errorf("audit rows: %q", got)
	}
	b.clear("audit-type")
	b.do("filter by user", chromedp.SendKeys(chromedp.ID("audit-user"), userID+"\r"))
	b.wait("the user's trail", `document.getElementById("status").textContent.startsWith("Page 1:")`)
	times := b.eval(`[...document.querySelectorAll("#audit-results tbody tr td:first-child")].map((td) => td.textContent).join("|")`)
	if ts := strings.Split(times, "|"); len(ts) < 2 || ts[0] < ts[len(ts)-1] {
		t.Errorf("audit times not newest first: %s", times)
	}
	browsertest.Screenshot(t, ctx, "console-audit")

	// Webhooks: a clear empty state.
	b.clickText("nav a", "Webhooks")
	b.wait("the webhooks page", `document.getElementById("page").innerText.includes("No webhooks are configured")`)
	browsertest.Screenshot(t, ctx, "console-webhooks")

	// Clients and apps: the configuration, never a secret.
	b.clickText("nav a", "Clients and apps")
	b.wait("the clients page", `document.getElementById("page").innerText.includes(`+strconv.Quote(clientID)+`)`)
	page = b.eval(`document.getElementById("page").innerText`)
	for _, want := range []string{appA, appB, appC, platform} {
		if !strings.Contains(page, want) {
			t.Errorf("the clients and apps page lacks %s", want)
		}
	}
	for _, secret := range []string{secretA, secretB, secretC, clientSec} {
		if strings.Contains(b.eval("document.documentElement.outerHTML"), secret) {
			t.Errorf("a secret is on the clients and apps page")
		}
	}
	browsertest.Screenshot(t, ctx, "console-clients")

	// A phone: nothing wider than the screen, the navigation still reachable.
	b.do("phone screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []string{"overview", "users"} {
		b.do("open "+p, chromedp.Navigate("about:blank"), chromedp.Navigate(b.base+"#"+p)) // a fresh page: signed out
		b.do("sign in on the phone", chromedp.SendKeys(chromedp.ID("signin-token"), opsToken+"\r"))
		b.wait(p+" on the phone", `document.getElementById("page").dataset.page === `+strconv.Quote(p)+` && document.querySelector("#page table, #page svg")`)
		if w := b.eval("document.documentElement.scrollWidth"); w != "390" {
			t.Errorf("%s on a 390px phone is %spx wide", p, w)
		}
		browsertest.Screenshot(t, ctx, "console-phone-"+p)
	}

	// Framing is refused: a page of the same origin (through a proxy) cannot show the console in
	// an iframe; the same page without the console's headers can, so the check can see a difference.
	target, _ := url.Parse(a.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	stripped := httputil.NewSingleHostReverseProxy(target)
	stripped.ModifyResponse = func(r *http.Response) error {
		r.Header.Del("Content-Security-Policy")
		r.Header.Del("X-Frame-Options")
		return nil
	}
	framer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/frame":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			src := "/admin/"
			if r.URL.Query().Get("headers") == "stripped" {
				src = "/unprotected/admin/"
			}
			fmt.Fprintf(w, `<!doctype html><title>framer</title><iframe id="f" src="%s"></iframe>
<script>document.getElementById("f").addEventListener("load", () => { document.body.dataset.loaded = "1" })</script>`, src)
		case strings.HasPrefix(r.URL.Path, "/unprotected/"):
			r.URL.Path = strings.TrimPrefix(r.URL.Path, "/unprotected")
			stripped.ServeHTTP(w, r)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	defer framer.Close()
	framed := `(() => { const d = document.getElementById("f").contentDocument; return !!(d && d.getElementById("signin-form")); })()`
	b.do("open the control framer", chromedp.Navigate(framer.URL+"/frame?headers=stripped"))
	b.wait("the control frame", `document.body.dataset.loaded === "1" && `+framed)
	b.do("open the framer", chromedp.Navigate(framer.URL+"/frame"))
	b.wait("the frame's load", `document.body.dataset.loaded === "1"`)
	time.Sleep(200 * time.Millisecond) // not an assertion on speed: lets a wrongly allowed frame finish rendering
	if got := b.eval(framed); got != "false" {
		t.Errorf("the console rendered inside a frame")
	}
	browsertest.Screenshot(t, ctx, "console-framed")
}
