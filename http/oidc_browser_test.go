package http_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wxlogin/wxlogin/internal/browsertest"
	"github.com/wxlogin/wxlogin/oidc"
)

// TestOIDCBrowserClickThrough clicks through the real server's hosted login page in headless
// Chromium: the demo website's sign-in link (dev-web, PKCE), wxlogin's login page, the password
// form, back on the website signed in with the user's claims, then sign out (the session is
// revoked).
func TestOIDCBrowserClickThrough(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium: not in -short")
	}
	ctx := browsertest.New(t)
	e := newOIDCEnv(t)
	var rpHandler http.Handler
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rpHandler.ServeHTTP(w, r) }))
	t.Cleanup(rp.Close)
	rpHandler = oidc.DemoRelyingParty(e.srv.URL, rp.URL, e.client)

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			t.Fatalf("chromium: %s: %v (page: %.300q)", what, err, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("chromium: text of %s: %v", sel, err)
		}
		return s
	}
	step("the website's sign-in link leads to the login page",
		chromedp.Navigate(rp.URL+"/"), chromedp.Click("#signin"), chromedp.WaitVisible("#username"))
	browsertest.Screenshot(t, ctx, "oidc-login-page")
	if h := text("h1"); !strings.Contains(h, "wxlogin dev demo") {
		t.Errorf("the login page names the client %q", h)
	}
	step("the password form returns to the website signed in",
		chromedp.SendKeys("#username", "alice"), chromedp.SendKeys("#password", oidcAlicePass),
		chromedp.Submit("#password"), chromedp.WaitVisible("#hello"))
	if hello, claims := text("#hello"), text("#claims"); hello != "Hello, Alice" || !strings.Contains(claims, "sub: "+e.alice.ID) ||
		!strings.Contains(claims, "amr: pwd") {
		t.Fatalf("signed-in page: %q %q", hello, claims)
	}
	ss, err := e.store.SessionsByUser(t.Context(), e.alice.ID)
	if err != nil || len(ss) != 1 || ss[0].AppID != oidc.DevClientID || !ss[0].RevokedAt.IsZero() {
		t.Fatalf("sessions after sign-in: %v, %v", ss, err)
	}
	step("sign out", chromedp.Click("#logout"), chromedp.WaitVisible("#signin"))
	if s, err := e.store.Session(t.Context(), ss[0].ID); err != nil || s.RevokedAt.IsZero() {
		t.Fatalf("the session is not revoked after sign-out: %v", err)
	}
}
