package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxlogin/wxlogin/internal/browsertest"
)

// TestDemoQRInBrowser opens `wxlogin dev`'s /demo/qr in headless Chromium, reads the code the page
// shows, plays the phone (the simulator scans the image; the mini program scans and confirms
// through the API with its own Bearer token) and checks that the page shows the logged-in user.
func TestDemoQRInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	devCtx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(devCtx, []string{"wxlogin", "dev", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "dev.db")}, envFrom(nil), nil, stdout, &syncBuffer{})
	}()
	t.Cleanup(func() { cancel(); <-done })
	server := waitFor(t, stdout, regexp.MustCompile(`server\s+(http://\S+)`))
	sim := waitFor(t, stdout, regexp.MustCompile(`WeChat simulator\s+(http://\S+)`))
	appid := waitFor(t, stdout, regexp.MustCompile(`\(app (\S+)\)`))

	post := func(base, path, bearer string, body, out any) int {
		t.Helper()
		j, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(string(j)))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	eval := func(expr string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string]("String("+expr+")"))
		if err != nil {
			return "error: " + err.Error()
		}
		return v
	}
	wait := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("browser: waiting for %s: %v (page: %.300q)", what, err, eval("document.body.innerText"))
		}
	}

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.Width, browsertest.Height), chromedp.Navigate(server+"/demo/qr")); err != nil {
		t.Fatal(err)
	}
	wait("the code", `!document.getElementById("code").hidden && document.getElementById("code").complete && document.getElementById("code").naturalWidth > 0`)
	browsertest.Screenshot(t, ctx, "demo-qr-code")
	image := eval(`document.getElementById("code").src`)
	if !strings.HasPrefix(image, "data:image/png;base64,") {
		t.Fatalf("the page's code is %.60q", image)
	}
	if strings.Contains(eval("location.href"), "poll") {
		t.Fatal("the poll token is in the page's URL")
	}

	// The phone: the simulator decodes the image the page shows and opens the page with its scene.
	var scan struct {
		Page  string `json:"page"`
		Scene string `json:"scene"`
	}
	if s := post(sim, "/sim/scan", "", map[string]string{"appid": appid, "user": "alice", "image": image}, &scan); s != 200 || scan.Page != "pages/qr-login/index" {
		t.Fatalf("/sim/scan: %d %+v", s, scan)
	}
	scene, err := url.PathUnescape(scan.Scene)
	if err != nil {
		t.Fatal(err)
	}
	// The mini program logs alice in and scans, then confirms, with her Bearer token.
	var code struct{ Code string }
	post(sim, "/sim/login", "", map[string]string{"appid": appid, "user": "alice"}, &code)
	var mp struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if s := post(server, "/v1/login/wechat", "", map[string]string{"appid": appid, "code": code.Code}, &mp); s != 200 {
		t.Fatalf("mini-program login: %d", s)
	}
	var scanned struct {
		Requester struct {
			UserAgent string `json:"user_agent"`
		} `json:"requester"`
	}
	if s := post(server, "/v1/qr-login/scan", mp.AccessToken, map[string]string{"scene": scene}, &scanned); s != 200 {
		t.Fatalf("scan: %d", s)
	}
	if !strings.Contains(scanned.Requester.UserAgent, "Chrome") {
		t.Errorf("the requester shown on the phone is %q, want the browser", scanned.Requester.UserAgent)
	}
	wait("the scanned status", `document.getElementById("status").textContent.includes("Confirm on your phone")`)
	browsertest.Screenshot(t, ctx, "demo-qr-scanned")
	if s := post(server, "/v1/qr-login/confirm", mp.AccessToken, map[string]string{"scene": scene}, nil); s != 204 {
		t.Fatalf("confirm: %d", s)
	}
	wait("the logged-in user", `!document.getElementById("user").hidden`)
	browsertest.Screenshot(t, ctx, "demo-qr-logged-in")
	if got := eval(`document.getElementById("user-id").textContent`); got != mp.User.ID {
		t.Fatalf("the page shows user %q, want %q", got, mp.User.ID)
	}
}
