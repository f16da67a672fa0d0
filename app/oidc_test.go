package app_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/sqlite"
)

// The OpenID Connect provider is off without clients (its routes answer not_found), on with them
// (discovery answers at the issuer), and a bad client or issuer fails New.
func TestNewWiresOIDC(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := keyring.Generate("k1")
	ring, _ := keyring.New(k)
	cfg := func(o app.OIDCConfig) app.Config {
		return app.Config{Auth: auth.Config{Store: st, Sealer: ring}, OIDC: o}
	}
	get := func(a *app.App, path string) (int, string) {
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code, w.Body.String()
	}

	off, err := app.New(ctx, cfg(app.OIDCConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(off, "/.well-known/openid-configuration"); off.OIDC != nil || code != 404 || !strings.Contains(body, `"not_found"`) {
		t.Fatalf("without clients: provider %v, discovery %d %s", off.OIDC, code, body)
	}

	on, err := app.New(ctx, cfg(app.OIDCConfig{Issuer: "https://login.example.com", Clients: []oidc.ClientConfig{oidc.DevClient()}}))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(on, "/.well-known/openid-configuration"); on.OIDC == nil || code != 200 || !strings.Contains(body, `"issuer":"https://login.example.com"`) {
		t.Fatalf("with a client: discovery %d %s", code, body)
	}

	for name, o := range map[string]app.OIDCConfig{
		"bad client":    {Issuer: "https://login.example.com", Clients: []oidc.ClientConfig{{ID: "x", RedirectURIs: []string{"https://a.example.com/cb"}}}},
		"http issuer":   {Issuer: "http://login.example.com", Clients: []oidc.ClientConfig{oidc.DevClient()}},
		"issuer a path": {Issuer: "https://login.example.com/oidc", Clients: []oidc.ClientConfig{oidc.DevClient()}},
	} {
		if _, err := app.New(ctx, cfg(o)); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
