// Package browsertest runs tests in a real headless browser: Debian's Chromium driven through
// chromedp. It is test-only (import it from _test.go files).
//
//	ctx := browsertest.New(t)                     // a fresh browser tab; closed when t ends
//	err := chromedp.Do(ctx, chromedp.Navigate(url))
//	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
//	browsertest.Screenshot(t, ctx, "console-overview")
//
// New skips the test with a clear message when no Chromium binary is found, unless the
// environment has CI=true, where it fails instead (CI must install chromium). The binary is
// $WXLOGIN_CHROMIUM, else chromium, chromium-browser, google-chrome on $PATH, else
// /usr/bin/chromium. Screenshots go to $WXLOGIN_SCREENSHOTS, else <os.TempDir()>/wxlogin-screenshots;
// ScreenshotDir returns that directory, and each Screenshot logs the path it wrote.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds everything one test does in its browser.
const Timeout = 2 * time.Minute

// Width and Height are the window size of New's browser (a laptop screen).
const (
	Width  = 1280
	Height = 800
)

// Binary returns the path of the Chromium binary to use, "" when none is found.
func Binary() string {
	if p := os.Getenv("WXLOGIN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range knownPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// knownPaths are where Binary looks when $PATH has no browser (Debian's package first).
var knownPaths = []string{"/usr/bin/chromium"}

// New starts a headless Chromium for t (a fresh profile in a temporary directory, window
// Width×Height) and returns the context of a tab; browser and profile go away when t ends. The
// context also ends after Timeout. Without a Chromium binary, t is skipped, or failed when CI=true.
func New(t testing.TB) context.Context {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("browsertest: no Chromium binary found (install it: apt-get install -y chromium); CI=true, so this fails instead of skipping")
		}
		t.Skip("browsertest: no Chromium binary found (apt-get install -y chromium, or set WXLOGIN_CHROMIUM); skipping the browser test")
	}
	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(Width, Height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, Timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser now, so a broken binary fails here
		t.Fatalf("browsertest: starting %s: %v", bin, err)
	}
	return ctx
}

// ScreenshotDir returns the directory screenshots are written to (created when missing).
func ScreenshotDir() (string, error) {
	dir := os.Getenv("WXLOGIN_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "wxlogin-screenshots")
	}
	return dir, os.MkdirAll(dir, 0o755)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot writes a PNG of the visible part of ctx's page to ScreenshotDir()/<name>.png
// (characters other than letters, digits, '.', '_' and '-' become '_'), logs its path, and returns
// it. A failure fails t.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir, err := ScreenshotDir()
	if err != nil {
		t.Fatalf("browsertest: screenshot directory: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: writing %s: %v", path, err)
	}
	t.Logf("browsertest: screenshot %s", path)
	return path
}
