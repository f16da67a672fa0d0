package oidc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	wxoidc "github.com/wxlogin/wxlogin/oidc"
)

// demoRP starts the demo relying party of `wxlogin dev` against e.
func demoRP(t *testing.T, e *env) *httptest.Server {
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h = wxoidc.DemoRelyingParty(e.srv.URL, srv.URL, nil)
	return srv
}

// TestDemoRelyingParty drives the demo site with a cookie-jar client: sign in, see the claims,
// sign out.
func TestDemoRelyingParty(t *testing.T) {
	e := newEnv(t)
	rp := demoRP(t, e)
	c := e.browser()
	resp, body := e.get(c, rp.URL+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/login"`) {
		t.Fatalf("home: %d", resp.StatusCode)
	}
	resp, _ = e.get(c, rp.URL+"/login")
	page := e.startLogin(c, resp.Header.Get("Location"))
	resp, _ = e.passwordLogin(c, page, "alice", alicePass)
	resp, body = e.get(c, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Hello, Alice") || !strings.Contains(body, "amr: pwd") {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	// A callback replayed (no flow cookie any more) is refused.
	if resp, _ := e.get(c, rp.URL+"/callback?code=x&state=y"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", resp.StatusCode)
	}
}

// TestBrowserClickThrough clicks through the login page in headless Chromium: the demo site's
// sign-in link, the password form, back to the site signed in, then sign out.
func TestBrowserClickThrough(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium: not in -short")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		if path, err = exec.LookPath("google-chrome"); err != nil {
			t.Skip("no Chromium on this machine")
		}
	}
	e := newEnv(t)
	rp := demoRP(t, e)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("lang", "zh-CN"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium: %s: %v", what, err)
		}
	}
	step("sign in", chromedp.Do(ctx,
		chromedp.Navigate(rp.URL+"/"),
		chromedp.Click("#signin"),
		chromedp.WaitVisible("#username"),
	))
	heading, err := chromedp.Run(ctx, chromedp.Text("h1"))
	step("heading", err)
	step("password form", chromedp.Do(ctx,
		chromedp.SendKeys("#username", "alice"),
		chromedp.SendKeys("#password", alicePass),
		chromedp.Submit("#password"),
		chromedp.WaitVisible("#hello"),
	))
	hello, err := chromedp.Run(ctx, chromedp.Text("#hello"))
	step("hello", err)
	claims, err := chromedp.Run(ctx, chromedp.Text("#claims"))
	step("claims", err)
	if !strings.Contains(heading, "wxlogin dev demo") {
		t.Errorf("login page heading %q", heading)
	}
	if hello != "Hello, Alice" || !strings.Contains(claims, "sub: "+aliceID) || !strings.Contains(claims, "phone_number: +8613800138000") {
		t.Fatalf("signed in page: %q %q", hello, claims)
	}
	step("sign out", chromedp.Do(ctx, chromedp.Click("#logout"), chromedp.WaitVisible("#signin")))
	e.sessions.mu.Lock()
	revoked := len(e.sessions.revoked)
	e.sessions.mu.Unlock()
	if revoked != 1 {
		t.Fatalf("%d sessions revoked by the logout, want 1", revoked)
	}
}
