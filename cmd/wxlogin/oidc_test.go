package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestOIDCConfig(t *testing.T) {
	secretHash := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, issuer, clients, err string
		insecure                   bool
		n                          int
	}{
		{name: "off without clients"},
		{name: "YAML", issuer: "https://login.example.com", n: 1, clients: `
- id: web
  secret_hash: ` + secretHash + `
  redirect_uris: [https://rp.example.com/cb]
  scopes: [openid, profile, phone]`},
		{name: "JSON", issuer: "http://127.0.0.1:8080", insecure: true, n: 1,
			clients: `[{"id":"spa","public":true,"redirect_uris":["http://127.0.0.1/cb"],"loopback_any_port":true}]`},
		{name: "http off loopback is not insecure", issuer: "http://login.example.com", n: 1,
			clients: `[{"id":"spa","public":true,"redirect_uris":["https://rp.example.com/cb"]}]`},
		{name: "unknown field", issuer: "https://x.example.com", clients: `[{"id":"a","public":true,"redirect_uris":["https://a.example.com/cb"],"secret":"s"}]`, err: "oidc_clients: not a YAML or JSON list"},
		{name: "bad client", issuer: "https://x.example.com", clients: `[{"id":"a","redirect_uris":["https://a.example.com/cb"]}]`, err: "secret_hash"},
		{name: "no issuer", clients: `[{"id":"a","public":true,"redirect_uris":["https://a.example.com/cb"]}]`, err: "oidc_issuer is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			c.OIDCIssuer, c.OIDCClients = tc.issuer, tc.clients
			got, err := c.oidcConfig()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), secretHash) {
					t.Fatal("the error echoes a secret hash")
				}
				return
			}
			if err != nil || len(got.Clients) != tc.n || got.Insecure != tc.insecure || got.Issuer != tc.issuer {
				t.Fatalf("%+v, %v", got, err)
			}
		})
	}
}

// TestDevOIDC signs in on `wxlogin dev`'s demo website through its OpenID Connect provider: the
// demo public client dev-web, the password form of the hosted login page, back to the website
// with the user's claims.
func TestDevOIDC(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxlogin", "dev", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0", "--rp-addr", "127.0.0.1:0",
			"--db", filepath.Join(dir, "dev.db")}, envFrom(nil), nil, stdout, &syncBuffer{})
	}()
	server := waitFor(t, stdout, regexp.MustCompile(`server\s+(http://\S+)`))
	rp := waitFor(t, stdout, regexp.MustCompile(`demo website signs in through it at (http://\S+)`))
	resp, err := http.Post(server+"/v1/accounts", "application/json", strings.NewReader(`{"username":"dora","password":"correct horse battery"}`))
	if err != nil || resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-up: %v %v", err, resp)
	}
	resp.Body.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) (int, string, string) {
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Request.URL.String(), string(b)
	}
	// The website's sign-in link ends on wxlogin's login page (authorize → login).
	status, at, page := get(rp + "/login")
	if status != http.StatusOK || !strings.HasPrefix(at, server+"/oidc/login") || !strings.Contains(page, `name="password"`) {
		t.Fatalf("sign-in link: %d at %s", status, at)
	}
	form := url.Values{"username": {"dora"}, "password": {"correct horse battery"}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)">`).FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	resp, err = browser.PostForm(server+"/oidc/login", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), rp+"/callback") || !strings.Contains(string(b), `id="claims"`) {
		t.Fatalf("after the password form: %d at %s:\n%s", resp.StatusCode, resp.Request.URL, b)
	}
	if !strings.Contains(string(b), "amr: [pwd]") && !strings.Contains(string(b), "amr: pwd") {
		t.Errorf("the demo website shows no amr:\n%s", b)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("dev did not stop")
	}
}
