package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxlogin/wxlogin/internal/browsertest"
)

// TestDemoWebInBrowser runs `wxlogin dev` and clicks through its web demo page in a headless
// Chromium: each "Log in with WeChat" button (official account, website) goes to the simulator's
// page, where the device user is typed and confirmed, and lands back on the demo page logged in
// as the same user a mini-program login of that device user gets.
func TestDemoWebInBrowser(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxlogin", "dev", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "dev.db")},
			envFrom(nil), nil, stdout, &syncBuffer{})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("dev did not stop")
		}
	})
	server := waitFor(t, stdout, regexp.MustCompile(`server\s+(http://\S+)`))
	sim := waitFor(t, stdout, regexp.MustCompile(`WeChat simulator\s+(http://\S+)`))

	// The mini program's login of device user "alice", through the simulator.
	post := func(url string, body any, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(url, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d", url, resp.StatusCode)
		}
		json.NewDecoder(resp.Body).Decode(out)
	}
	var code struct{ Code string }
	post(sim+"/sim/login", map[string]string{"appid": demoAppID, "user": "alice"}, &code)
	var mp struct {
		User struct{ ID string } `json:"user"`
	}
	post(server+"/v1/login/wechat", map[string]string{"appid": demoAppID, "code": code.Code}, &mp)
	if mp.User.ID == "" {
		t.Fatal("the mini program's login gave no user")
	}

	bctx := browsertest.New(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			t.Fatalf("browser: %s: %v (page: %.400q)", what, err, body)
		}
	}
	for _, door := range []struct{ button, page string }{
		{"login-official-account", "/connect/oauth2/authorize"},
		{"login-website", "/connect/qrconnect"},
	} {
		do("open the demo page", chromedp.Navigate(server+"/demo/web"))
		do("click "+door.button, chromedp.Click(chromedp.ID(door.button), chromedp.NodeVisible))
		do("the simulator's page", chromedp.WaitVisible(chromedp.ID("confirm")))
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		if !strings.HasPrefix(loc, sim+door.page+"?") {
			t.Fatalf("%s: the browser is at %s, want the simulator's %s", door.button, loc, door.page)
		}
		browsertest.Screenshot(t, bctx, "demoweb-sim-"+door.button)
		do("type the device user", chromedp.SendKeys(chromedp.ID("user"), "alice"))
		do("confirm", chromedp.Click(chromedp.ID("confirm"), chromedp.NodeVisible))
		do("back logged in", chromedp.WaitVisible(chromedp.ID("user-id")))
		got, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("user-id")))
		if err != nil || got != mp.User.ID {
			t.Fatalf("%s: logged in as %q (%v), want the mini program's user %s", door.button, got, err, mp.User.ID)
		}
		if loc, _ := chromedp.Run(bctx, chromedp.Location()); loc != server+"/demo/web" {
			t.Errorf("%s: the login_code stays in the address: %s", door.button, loc)
		}
		browsertest.Screenshot(t, bctx, "demoweb-"+door.button)
	}
	ids, _ := chromedp.Run(bctx, chromedp.Evaluate[int]("document.querySelectorAll('#user-identities li').length"))
	if ids != 3 {
		t.Errorf("the user has %d identities, want 3 (mini program, official account, website)", ids)
	}
}
