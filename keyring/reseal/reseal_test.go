package reseal_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/keyring/reseal"
	"github.com/wxlogin/wxlogin/sqlite"
)

// Run reseals under the primary key what older keys sealed, leaves alone what it cannot open, and
// is harmless when run again. (cmd/wxlogin's reseal tests cover races, paging and both stores.)
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
	a, _ := keyring.Generate("ka")
	b, _ := keyring.Generate("kb")
	stray, _ := keyring.Generate("kx")
	ringA, _ := keyring.New(a)
	ringX, _ := keyring.New(stray)
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateUser(ctx, &wxlogin.User{ID: "usr_1", CreatedAt: now, UpdatedAt: now}))
	for i, ring := range []*keyring.Keyring{ringA, ringA, ringX} {
		openid := "o" + string(rune('1'+i))
		sealed, err := ring.Seal([]byte("session-key"), auth.SessionKeyAD("wxa", openid))
		must(err)
		must(st.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wxa", OpenID: openid, UserID: "usr_1", SessionKey: sealed, CreatedAt: now, UpdatedAt: now}))
	}
	ringBA, _ := keyring.New(b, a)
	if _, err := reseal.Run(ctx, reseal.Options{Store: st, Ring: ringBA}); err == nil {
		t.Fatal("batch 0 accepted")
	}
	rep, err := reseal.Run(ctx, reseal.Options{Store: st, Ring: ringBA, Batch: 2})
	must(err)
	if c := rep.SessionKeys; c.Scanned != 3 || c.Resealed != 2 || c.Unreadable != 1 || c.Unknown["kx"] != 1 {
		t.Fatalf("first run: %+v", c)
	}
	ringB, _ := keyring.New(b)
	id, err := st.Identity(ctx, "wxa", "o1")
	must(err)
	if plain, err := ringB.Open(id.SessionKey, auth.SessionKeyAD("wxa", "o1")); err != nil || string(plain) != "session-key" {
		t.Fatalf("resealed session_key does not open with kb alone: %v", err)
	}
	rep, err = reseal.Run(ctx, reseal.Options{Store: st, Ring: ringBA, Batch: 2})
	must(err)
	if c := rep.SessionKeys; c.Resealed != 0 || c.Current != 2 {
		t.Fatalf("second run: %+v", c)
	}
	var out bytes.Buffer
	rep.Write(&out, []string{"kb", "ka"})
	if !strings.Contains(out.String(), "session_keys: 3 scanned, 0 resealed, 2 already current, 1 unreadable") {
		t.Fatalf("report:\n%s", out.String())
	}
}
