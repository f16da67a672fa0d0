package app_test

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/metrics"
	"github.com/wxlogin/wxlogin/sqlite"
)

func TestNewRequiresStoreAndSealer(t *testing.T) {
	if _, err := app.New(context.Background(), app.Config{}); err == nil {
		t.Fatal("New without a store and a sealer succeeded")
	}
}

// New wires the service, its signing keys and the API: a sign-up and a password login through the
// handler work, the one app is the default app, and the metrics count the logins.
func TestNewWiresTheStack(t *testing.T) {
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
	m := metrics.New()
	a, err := app.New(ctx, app.Config{
		Auth:    auth.Config{Store: st, Sealer: ring, Signup: true, Argon2: auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}},
		Apps:    []wxlogin.App{{ID: "wxapp", Secret: "s"}},
		Issuer:  "wired",
		Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, body string) int {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, req)
		return w.Code
	}
	if c := post("/v1/accounts", `{"username":"wanda","password":"wanda password"}`); c != 201 {
		t.Fatalf("sign-up: %d", c)
	}
	if c := post("/v1/login/password", `{"username":"wanda","password":"wanda password"}`); c != 200 {
		t.Fatalf("login: %d", c)
	}
	// The one app is the default app: a code login reaches its WeChat client (nothing listens at
	// the real WeChat in a test, so a bad code is refused before any call).
	if c := post("/v1/login/wechat", `{"code":"not a code"}`); c != 400 {
		t.Fatalf("code login: %d", c)
	}
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || !strings.Contains(string(body), `wxlogin_logins_total{method="password",result="success"} 1`) {
		t.Fatalf("metrics: %d %.300s", w.Code, body)
	}
	if len(a.Tokens.JWKS()) == 0 || a.Service == nil || a.Store == nil {
		t.Fatal("App lacks its parts")
	}
}
