package browsertest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/wxlogin/wxlogin/internal/browsertest"
)

// TestBrowser loads a page whose script changes the DOM, reads the result back and takes a
// screenshot: the browser starts with this machine's flags, runs JavaScript, and screenshots land
// where ScreenshotDir says.
func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>t</title><h1 id="h">static</h1><script>document.getElementById("h").textContent = "from script " + (6*7)</script>`))
	}))
	defer srv.Close()
	t.Setenv("WXLOGIN_SCREENSHOTS", t.TempDir())

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#h")))
	if err != nil {
		t.Fatal(err)
	}
	if got != "from script 42" {
		t.Fatalf("heading = %q, want the text the script set", got)
	}
	path := browsertest.Screenshot(t, ctx, "browsertest self/test")
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Fatalf("%s is not a plausible PNG (%d bytes)", path, len(png))
	}
	if dir, _ := browsertest.ScreenshotDir(); dir != os.Getenv("WXLOGIN_SCREENSHOTS") {
		t.Fatalf("ScreenshotDir = %q, want $WXLOGIN_SCREENSHOTS", dir)
	}
}

// TestMissingBinary: with no Chromium the test is skipped outside CI and failed in CI.
func TestMissingBinary(t *testing.T) {
	t.Setenv("WXLOGIN_CHROMIUM", "")
	t.Setenv("PATH", t.TempDir())
	defer browsertest.SetKnownPaths([]string{"/nonexistent/chromium"})()
	if b := browsertest.Binary(); b != "" {
		t.Fatalf("Binary() = %q with no browser anywhere", b)
	}
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		ft := &fakeT{TB: t}
		func() {
			defer func() { recover() }() // fakeT's Skip and Fatal stop the goroutine like the real ones
			browsertest.New(ft)
		}()
		if ci == "true" && (!ft.failed || ft.skipped) {
			t.Errorf("CI=true: failed=%v skipped=%v, want a failure", ft.failed, ft.skipped)
		}
		if ci == "" && (!ft.skipped || ft.failed) {
			t.Errorf("CI unset: failed=%v skipped=%v, want a skip", ft.failed, ft.skipped)
		}
	}
}

type fakeT struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeT) Helper()             {}
func (f *fakeT) Fatal(args ...any)   { f.failed = true; panic("fatal") }
func (f *fakeT) Skip(args ...any)    { f.skipped = true; panic("skip") }
func (f *fakeT) Logf(string, ...any) {}
