package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDevAdminToken: dev serves the admin API with --admin-token, or with a random token it
// prints; a wrong token is refused.
func TestDevAdminToken(t *testing.T) {
	for _, given := range []string{"my-dev-admin-token-123", ""} {
		t.Run("token="+given, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			args := []string{"wxlogin", "dev", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "dev.db")}
			if given != "" {
				args = append(args, "--admin-token", given)
			}
			stdout := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- run(ctx, args, envFrom(nil), nil, stdout, &syncBuffer{}) }()
			defer func() {
				cancel()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Error("dev did not stop")
				}
			}()
			server := waitFor(t, stdout, regexp.MustCompile(`server\s+(http://\S+)`))
			tok := waitFor(t, stdout, regexp.MustCompile(`Admin API \(dev only\): .*Bearer ([^']+)'`))
			if given != "" && tok != given {
				t.Fatalf("dev printed token %q, want the given %q", tok, given)
			}
			if len(tok) < 16 {
				t.Fatalf("token %q too short", tok)
			}
			console := waitFor(t, stdout, regexp.MustCompile(`Admin console \(dev only\): (http://\S+/admin/) \(sign in with the admin token (\S+)\)`))
			if console != server+"/admin/" {
				t.Errorf("banner links the console at %q, want %q", console, server+"/admin/")
			}
			resp, err := http.Get(console)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("GET %s: %d %s, want the console's page", console, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			for _, tc := range []struct {
				tok  string
				want int
			}{{tok, 200}, {tok + "x", 401}} {
				req, _ := http.NewRequest("GET", server+"/admin/v1/users", nil)
				req.Header.Set("Authorization", "Bearer "+tc.tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("admin API with token %q: %d, want %d", tc.tok, resp.StatusCode, tc.want)
				}
			}
		})
	}
	var out syncBuffer
	if err := run(context.Background(), []string{"wxlogin", "dev", "--admin-token", "short"}, envFrom(nil), nil, &out, &out); err == nil {
		t.Error("a short --admin-token was accepted")
	}
}
