package seed_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/seed"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// Run writes the users, identities, sessions and refresh tokens asked for, across batches, and a
// sample of sessions whose tokens verify. (cmd/wxlogin's seed tests cover the command on both stores.)
func TestRun(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := keyring.Generate("k1")
	ring, _ := keyring.New(k)
	issuer, err := token.New(ctx, token.Options{Keys: st, Sealer: ring})
	if err != nil {
		t.Fatal(err)
	}
	app := wxlogin.App{ID: "wxseed", Platform: "p1"}
	var out bytes.Buffer
	rows, err := seed.Run(ctx, seed.Options{Store: st, Ring: ring, Issuer: issuer, App: app, Users: 5, Sessions: 7, Batch: 3,
		Prefix: "b-", Samples: 2, SampleOut: &out, SessionTTL: time.Hour, Now: time.Now()})
	if err != nil || rows != 5+5+7+7 {
		t.Fatalf("rows %d, %v", rows, err)
	}
	id, err := st.Identity(ctx, app.ID, wechatsim.OpenID(app.ID, "b-0000004"))
	if err != nil || id.UnionID != wechatsim.UnionID("p1", "b-0000004") {
		t.Fatalf("identity of device user b-0000004: %+v, %v", id, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "# user") {
		t.Fatalf("samples:\n%s", out.String())
	}
	f := strings.Split(lines[1], "\t")
	c, err := issuer.Verify(f[4])
	if err != nil || c.SessionID != f[1] || c.UserID != f[2] {
		t.Fatalf("sample access token: %+v, %v", c, err)
	}
	if rt, err := st.RefreshToken(ctx, token.HashRefreshToken(f[3])); err != nil || rt.SessionID != f[1] {
		t.Fatalf("sample refresh token: %v", err)
	}
	if _, err := seed.Run(ctx, seed.Options{Store: st, Users: 0, Batch: 1}); err == nil {
		t.Fatal("zero users accepted")
	}
}
