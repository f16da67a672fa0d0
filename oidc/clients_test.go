package oidc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	wxoidc "github.com/wxlogin/wxlogin/oidc"
)

func TestParseClients(t *testing.T) {
	secret, hash := wxoidc.NewClientSecret()
	ok := wxoidc.ClientConfig{ID: "web", SecretHash: hash, RedirectURIs: []string{"https://rp.example.com/cb"}}
	for _, tc := range []struct {
		name string
		mod  func(c *wxoidc.ClientConfig)
		want string // "" : valid
	}{
		{"valid", func(c *wxoidc.ClientConfig) {}, ""},
		{"bad id", func(c *wxoidc.ClientConfig) { c.ID = "has space" }, "id must be"},
		{"empty id", func(c *wxoidc.ClientConfig) { c.ID = "" }, "id must be"},
		{"confidential without secret", func(c *wxoidc.ClientConfig) { c.SecretHash = "" }, "needs secret_hash"},
		{"public with secret", func(c *wxoidc.ClientConfig) { c.Public = true }, "no secret_hash"},
		{"plain secret", func(c *wxoidc.ClientConfig) { c.SecretHash = secret.Reveal() }, "sha256:"},
		{"short hash", func(c *wxoidc.ClientConfig) { c.SecretHash = "sha256:abcd" }, "sha256:"},
		{"no redirect", func(c *wxoidc.ClientConfig) { c.RedirectURIs = nil }, "redirect_uris is empty"},
		{"relative redirect", func(c *wxoidc.ClientConfig) { c.RedirectURIs = []string{"/cb"} }, "absolute"},
		{"fragment", func(c *wxoidc.ClientConfig) { c.RedirectURIs = []string{"https://rp.example.com/cb#x"} }, "fragment"},
		{"http off loopback", func(c *wxoidc.ClientConfig) { c.RedirectURIs = []string{"http://rp.example.com/cb"} }, "loopback"},
		{"http loopback", func(c *wxoidc.ClientConfig) { c.RedirectURIs = []string{"http://127.0.0.1:8080/cb"} }, ""},
		{"native scheme", func(c *wxoidc.ClientConfig) { c.RedirectURIs = []string{"com.example.app:/cb"} }, ""},
		{"bare custom scheme", func(c *wxoidc.ClientConfig) { c.RedirectURIs = []string{"myapp:/cb"} }, "reversed domain"},
		{"bad logout uri", func(c *wxoidc.ClientConfig) { c.PostLogoutRedirectURIs = []string{"http://evil.example.com/"} }, "post_logout"},
		{"unknown scope", func(c *wxoidc.ClientConfig) { c.Scopes = []string{"openid", "email"} }, "unknown scope"},
		{"no openid", func(c *wxoidc.ClientConfig) { c.Scopes = []string{"profile"} }, "openid"},
		{"unknown door", func(c *wxoidc.ClientConfig) { c.Doors = []string{"sms"} }, "unknown door"},
		{"any port off loopback", func(c *wxoidc.ClientConfig) { c.LoopbackAnyPort = true }, "loopback_any_port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			_, err := wxoidc.ParseClients([]wxoidc.ClientConfig{c})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), secret.Reveal()) {
				t.Fatal("the error shows the secret")
			}
		})
	}
	if _, err := wxoidc.ParseClients([]wxoidc.ClientConfig{ok, ok}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate: %v", err)
	}

	cs, err := wxoidc.ParseClients([]wxoidc.ClientConfig{wxoidc.DevClient(), ok})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cs.Client(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if !c.CheckSecret(secret.Reveal()) || c.CheckSecret(secret.Reveal()+"x") || c.CheckSecret("") {
		t.Fatal("CheckSecret")
	}
	if strings.Join(c.Scopes, " ") != "openid profile" || len(c.Doors) != 4 || c.Name != "web" {
		t.Fatalf("defaults: %+v", c)
	}
	dev, _ := cs.Client(context.Background(), wxoidc.DevClientID)
	if !dev.Public || !dev.LoopbackAnyPort || dev.CheckSecret("") {
		t.Fatalf("dev client %+v", dev)
	}
	if _, err := cs.Client(context.Background(), "nosuch"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Fatalf("unknown client: %v", err)
	}
	list := cs.List()
	if len(list) != 2 || list[0].ID != wxoidc.DevClientID || list[1].ID != "web" {
		t.Fatalf("List %v", list)
	}
	if wxlogin.Secret(secret).String() == secret.Reveal() {
		t.Fatal("a client secret prints")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := wxoidc.New(wxoidc.Options{Issuer: "https://login.example.com"}); err == nil {
		t.Fatal("New without stores")
	}
	e := newEnv(t)
	_ = e
	for _, iss := range []string{"http://login.example.com", "https://login.example.com/path", "login.example.com", "https://login.example.com?x=1"} {
		opts := e.options()
		opts.Issuer, opts.Insecure = iss, false
		if _, err := wxoidc.New(opts); err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
	opts := e.options()
	opts.Doors = []wxoidc.Door{{Name: wxoidc.DoorPassword, URL: func(string) string { return "/" }}}
	if _, err := wxoidc.New(opts); err == nil {
		t.Error("a door named password accepted")
	}
}
