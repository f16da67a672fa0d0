package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/keyring/reseal"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// testDatabases returns a fresh SQLite database URL and, when WXLOGIN_TEST_POSTGRES is set, a
// PostgreSQL URL on a schema of its own (dropped after the test).
func testDatabases(t *testing.T) map[string]string {
	t.Helper()
	dbs := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "reseal.db")}
	pg := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if pg == "" {
		t.Log("WXLOGIN_TEST_POSTGRES not set: PostgreSQL skipped")
		return dbs
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := "wxl_reseal_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	dbs["postgres"] = pg + sep + "search_path=" + schema
	return dbs
}

func mustKey(t *testing.T, id string) keyring.Key {
	t.Helper()
	k, err := keyring.Generate(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRing(t *testing.T, primary keyring.Key, older ...keyring.Key) *keyring.Keyring {
	t.Helper()
	r, err := keyring.New(primary, older...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dataKeys returns the data_keys value of keys, the first one sealing.
func dataKeys(keys ...keyring.Key) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, k.Export().Reveal())
	}
	return strings.Join(parts, ",")
}

// racingStore runs before (once, on the store itself) just before the nth Update, as a login
// committing between a reseal's read and its write would.
type racingStore struct {
	migratingStore
	mu     sync.Mutex
	n      int
	before func()
}

func (s *racingStore) Update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	s.mu.Lock()
	s.n--
	if s.n == 0 && s.before != nil {
		s.before()
	}
	s.mu.Unlock()
	return s.migratingStore.Update(ctx, fn)
}

// TestReseal seals session_keys and signing keys under key A, reseals with "B,A", and checks that
// everything then opens with "B" alone; that dry-run changes nothing; that a session_key written
// meanwhile is not overwritten; and that values sealed with an unknown key or damaged are
// counted and left untouched.
func TestReseal(t *testing.T) {
	for name, db := range testDatabases(t) {
		t.Run(name, func(t *testing.T) { testReseal(t, db) })
	}
}

func testReseal(t *testing.T, database string) {
	ctx := t.Context()
	a, b, lost := mustKey(t, "ka"), mustKey(t, "kb"), mustKey(t, "klost")
	ringA, ringBA, ringB := mustRing(t, a), mustRing(t, b, a), mustRing(t, b)
	store, err := openStore(ctx, database, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	// Two signing keys sealed under A: one retired by a rotation, one signing.
	issuerA, err := token.New(ctx, token.Options{Keys: store, Sealer: ringA, Issuer: "wxlogin", TTL: time.Hour, Algorithm: token.AlgES256})
	if err != nil {
		t.Fatal(err)
	}
	if err := issuerA.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	signing := issuerA.SigningKeyID()
	access, _, err := issuerA.Issue("usr_0", "ses_0", "wxreseal")
	if err != nil {
		t.Fatal(err)
	}
	keysBefore, err := store.SigningKeys(ctx)
	if err != nil || len(keysBefore) != 2 {
		t.Fatalf("signing keys: %d, %v", len(keysBefore), err)
	}

	// Identities of one app, openids o01…o10 (paged 3 at a time):
	// o01-o07 sealed under A, o08 without a session_key, o09 under a key no longer configured,
	// o10 under A but copied from another row (its additional data does not match).
	const appid = "wxreseal"
	now := time.Now().UTC().Truncate(time.Millisecond)
	plain := func(n int) []byte { return []byte(fmt.Sprintf("session-key-%02d", n)) }
	openid := func(n int) string { return fmt.Sprintf("o%02d", n) }
	if err := store.CreateUser(ctx, &wxlogin.User{ID: "usr_1", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 10; n++ {
		var sealed []byte
		switch {
		case n <= 7:
			sealed, err = ringA.Seal(plain(n), auth.SessionKeyAD(appid, openid(n)))
		case n == 9:
			sealed, err = mustRing(t, lost).Seal(plain(n), auth.SessionKeyAD(appid, openid(n)))
		case n == 10:
			sealed, err = ringA.Seal(plain(n), auth.SessionKeyAD(appid, openid(1)))
		}
		if err != nil {
			t.Fatal(err)
		}
		id := &wxlogin.Identity{AppID: appid, OpenID: openid(n), UserID: "usr_1", SessionKey: sealed,
			SessionKeyUpdatedAt: now.Add(-time.Hour), CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-time.Hour)}
		if err := store.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		page, err := store.IdentitiesAfter(ctx, "", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range page {
			m[id.OpenID] = id.SessionKey
		}
		keys, err := store.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			m[k.ID] = k.Private
		}
		return m
	}
	sameSealed := func(what string, got, want map[string][]byte, only ...string) {
		t.Helper()
		if len(only) == 0 {
			for k := range want {
				only = append(only, k)
			}
		}
		for _, k := range only {
			if !bytes.Equal(got[k], want[k]) {
				t.Errorf("%s: %s changed", what, k)
			}
		}
	}
	original := snapshot()

	// Dry run: counts, changes nothing.
	rep, err := reseal.Run(ctx, reseal.Options{Store: store, Ring: ringBA, Batch: 3, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "dry run, session_keys", rep.SessionKeys, reseal.Counts{Scanned: 10, Resealed: 7, Empty: 1, Unreadable: 2,
		Unknown: map[string]int{"klost": 1, "ka": 1}})
	wantCounts(t, "dry run, signing keys", rep.SigningKeys, reseal.Counts{Scanned: 2, Resealed: 2})
	sameSealed("after the dry run", snapshot(), original)
	var out bytes.Buffer
	rep.Write(&out, []string{"kb", "ka"})
	if !strings.Contains(out.String(), "9 values are still sealed with older keys") || !strings.Contains(out.String(), "klost: 1") {
		t.Errorf("dry-run report:\n%s", out.String())
	}

	// A real run, while logins store new session_keys for o01 (an instance still sealing with A)
	// and o02 (one sealing with B) between the reseal's read of the first page and its write.
	racing := &racingStore{migratingStore: store, n: 2} // Update 1: signing keys; 2: the first page
	var fresh1, fresh2 []byte
	racing.before = func() {
		fresh1, _ = ringA.Seal([]byte("fresh-01"), auth.SessionKeyAD(appid, openid(1)))
		fresh2, _ = ringB.Seal([]byte("fresh-02"), auth.SessionKeyAD(appid, openid(2)))
		for n, sealed := range map[int][]byte{1: fresh1, 2: fresh2} {
			id, err := store.Identity(ctx, appid, openid(n))
			if err != nil {
				t.Error(err)
				return
			}
			id.SessionKey, id.SessionKeyUpdatedAt = sealed, now
			if err := store.UpdateIdentity(ctx, id); err != nil {
				t.Error(err)
			}
		}
	}
	rep, err = reseal.Run(ctx, reseal.Options{Store: racing, Ring: ringBA, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "first run, session_keys", rep.SessionKeys, reseal.Counts{Scanned: 10, Resealed: 5, Changed: 2, Empty: 1, Unreadable: 2,
		Unknown: map[string]int{"klost": 1, "ka": 1}})
	wantCounts(t, "first run, signing keys", rep.SigningKeys, reseal.Counts{Scanned: 2, Resealed: 2})
	after := snapshot()
	if !bytes.Equal(after["o01"], fresh1) || !bytes.Equal(after["o02"], fresh2) {
		t.Error("the reseal overwrote session_keys stored meanwhile")
	}
	sameSealed("unreadable values", after, original, "o09", "o10")
	out.Reset()
	rep.Write(&out, []string{"kb", "ka"})
	if !strings.Contains(out.String(), "2 values changed while this ran: run 'wxlogin keys reseal' again") {
		t.Errorf("first report:\n%s", out.String())
	}

	// Run again: only o01 (the fresh value an old instance sealed with A) is left to reseal.
	rep, err = reseal.Run(ctx, reseal.Options{Store: store, Ring: ringBA, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "second run, session_keys", rep.SessionKeys, reseal.Counts{Scanned: 10, Resealed: 1, Current: 6, Empty: 1, Unreadable: 2,
		Unknown: map[string]int{"klost": 1, "ka": 1}})
	wantCounts(t, "second run, signing keys", rep.SigningKeys, reseal.Counts{Scanned: 2, Current: 2})
	again := snapshot()
	sameSealed("second run", again, after, "o02", "o03", "o04", "o05", "o06", "o07", "o09", "o10", keysBefore[0].ID, keysBefore[1].ID)
	out.Reset()
	rep.Write(&out, []string{"kb", "ka"})
	if !strings.Contains(out.String(), "every readable value is sealed with kb: ka may be removed from data_keys") {
		t.Errorf("second report:\n%s", out.String())
	}
	// A third run changes nothing.
	if rep, err = reseal.Run(ctx, reseal.Options{Store: store, Ring: ringBA, Batch: 3}); err != nil || rep.SessionKeys.Resealed+rep.SigningKeys.Resealed != 0 {
		t.Errorf("third run: %+v, %v", rep, err)
	}
	sameSealed("third run", snapshot(), again)

	// With A removed, every readable value opens with B alone, holding what it held.
	for n := 1; n <= 7; n++ {
		id, err := store.Identity(ctx, appid, openid(n))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ringB.Open(id.SessionKey, auth.SessionKeyAD(appid, openid(n)))
		want := string(plain(n))
		switch n {
		case 1, 2:
			want = fmt.Sprintf("fresh-%02d", n)
		}
		if err != nil || string(got) != want {
			t.Errorf("%s with B alone: %q, %v; want %q", openid(n), got, err, want)
		}
		if n > 2 && (!id.SessionKeyUpdatedAt.Equal(now.Add(-time.Hour)) || !id.UpdatedAt.Equal(now.Add(-time.Hour))) {
			t.Errorf("%s: the reseal changed its times: %v, %v", openid(n), id.SessionKeyUpdatedAt, id.UpdatedAt)
		}
	}
	keysAfter, err := store.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, key := range keysAfter {
		if key.ID != keysBefore[k].ID || !key.RetiredAt.Equal(keysBefore[k].RetiredAt) || !bytes.Equal(key.Public, keysBefore[k].Public) {
			t.Errorf("signing key %s changed beyond its sealing", key.ID)
		}
		if id, _ := keyring.KeyID(key.Private); id != "kb" {
			t.Errorf("signing key %s sealed with %s", key.ID, id)
		}
	}
	issuerB, err := token.New(ctx, token.Options{Keys: store, Sealer: ringB, Issuer: "wxlogin", TTL: time.Hour, Algorithm: token.AlgES256})
	if err != nil {
		t.Fatalf("signing keys do not open with B alone: %v", err)
	}
	if issuerB.SigningKeyID() != signing {
		t.Errorf("signing key %s after the reseal, want %s", issuerB.SigningKeyID(), signing)
	}
	if _, err := issuerB.Verify(access); err != nil {
		t.Errorf("a token signed before the reseal: %v", err)
	}
	if tok, _, err := issuerB.Issue("usr_0", "ses_0", appid); err != nil {
		t.Errorf("signing with B alone: %v", err)
	} else if _, err := issuerA.Verify(tok); err != nil {
		t.Errorf("a token signed after the reseal does not verify elsewhere: %v", err)
	}
}

// wantCounts fails t when got differs from want.
func wantCounts(t *testing.T, what string, got, want reseal.Counts) {
	t.Helper()
	if len(want.Unknown) == 0 {
		want.Unknown = nil
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s: %s, want %s", what, g, w)
	}
}

// TestDataKeyRotationKeepsSessions logs in with data_keys "A", restarts with "B,A", reseals with
// `wxlogin keys reseal`, and restarts with "B": at every step the old session's access and
// refresh tokens work, and WeChat encrypted data decrypts with the session_key sealed before.
func TestDataKeyRotationKeepsSessions(t *testing.T) {
	for name, db := range testDatabases(t) {
		t.Run(name, func(t *testing.T) { testDataKeyRotation(t, db) })
	}
}

func testDataKeyRotation(t *testing.T, database string) {
	const appid, secret = "wx1234567890abcdef", "rotation-test-app-secret"
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: appid, Secret: secret}}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	a, b := mustKey(t, "ka"), mustKey(t, "kb")

	var srv *httptest.Server
	var st *stack
	start := func(keys string) {
		t.Helper()
		if st != nil {
			srv.Close()
			st.Close()
		}
		cfg := defaultConfig()
		cfg.Apps, cfg.DataKeys, cfg.Database, cfg.WeChatBaseURL = appid+":"+secret, keys, database, simSrv.URL
		var err error
		if st, err = buildStack(t.Context(), cfg, slog.New(slog.DiscardHandler), nil); err != nil {
			t.Fatalf("start with %d data keys: %v", strings.Count(keys, ",")+1, err)
		}
		srv = httptest.NewServer(st.handler)
	}
	defer func() { srv.Close(); st.Close() }()
	call := func(method, path, bearer string, body any) (int, map[string]any) {
		t.Helper()
		j, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(j))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(raw, &m)
		return resp.StatusCode, m
	}
	login := func(user string) (access, refresh string) {
		t.Helper()
		code, err := sim.Login(appid, user)
		if err != nil {
			t.Fatal(err)
		}
		status, m := call("POST", "/v1/login/wechat", "", map[string]string{"appid": appid, "code": code})
		if status != 200 {
			t.Fatalf("login: %d %v", status, m)
		}
		return m["access_token"].(string), m["refresh_token"].(string)
	}
	var access, refresh string
	// check: the session's access token works, its profile decrypts, its refresh token refreshes.
	check := func(step string) {
		t.Helper()
		if status, m := call("GET", "/v1/me", access, nil); status != 200 {
			t.Errorf("%s: /v1/me with the old access token: %d %v", step, status, m)
		}
		ui, err := sim.UserInfoWith(appid, "alice", "Alice "+step, "https://thirdwx.qlogo.cn/x/132")
		if err != nil {
			t.Fatal(err)
		}
		if status, m := call("POST", "/v1/me/wechat/profile", access, map[string]string{"appid": appid,
			"encrypted_data": ui.EncryptedData, "iv": ui.IV, "raw_data": ui.RawData, "signature": ui.Signature}); status != 200 {
			t.Errorf("%s: profile decrypt: %d %v", step, status, m)
		}
		status, m := call("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": refresh})
		if status != 200 {
			t.Fatalf("%s: refresh: %d %v", step, status, m)
		}
		access, refresh = m["access_token"].(string), m["refresh_token"].(string)
	}
	sealedWith := func() string {
		t.Helper()
		page, err := st.store.IdentitiesAfter(t.Context(), "", "", 10)
		if err != nil || len(page) != 1 {
			t.Fatalf("identities: %d, %v", len(page), err)
		}
		id, _ := keyring.KeyID(page[0].SessionKey)
		return id
	}

	start(dataKeys(a))
	access, refresh = login("alice")
	check("with A")
	if id := sealedWith(); id != "ka" {
		t.Fatalf("session_key sealed with %s, want ka", id)
	}

	start(dataKeys(b, a))
	check("with B,A")
	var out, errs bytes.Buffer
	env := envFrom(map[string]string{"WXLOGIN_APPS": appid + ":" + secret, "WXLOGIN_DATA_KEYS": dataKeys(b, a), "WXLOGIN_DATABASE": database})
	if err := run(t.Context(), []string{"wxlogin", "keys", "reseal", "--dry-run"}, env, nil, &out, &errs); err != nil {
		t.Fatalf("keys reseal --dry-run: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "session_keys: 1 scanned, 1 to reseal, 0 already current, 0 unreadable") ||
		!strings.Contains(out.String(), "signing keys: 1 scanned, 1 to reseal, 0 already current, 0 unreadable") {
		t.Errorf("keys reseal --dry-run printed:\n%s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"wxlogin", "keys", "reseal", "--batch", "10"}, env, nil, &out, &errs); err != nil {
		t.Fatalf("keys reseal: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "session_keys: 1 scanned, 1 resealed, 0 already current, 0 unreadable") ||
		!strings.Contains(out.String(), "ka may be removed from data_keys") {
		t.Errorf("keys reseal printed:\n%s", out.String())
	}
	for _, leak := range []string{base64.StdEncoding.EncodeToString(a.Secret), base64.StdEncoding.EncodeToString(b.Secret)} {
		if strings.Contains(out.String()+errs.String(), leak) {
			t.Error("keys reseal printed a data key")
		}
	}
	check("with B,A after the reseal")
	if id := sealedWith(); id != "kb" {
		t.Fatalf("session_key sealed with %s after the reseal, want kb", id)
	}

	// Removing A before the signing key was resealed would have stopped the instance from starting.
	cfg := defaultConfig()
	cfg.Apps, cfg.DataKeys, cfg.Database = appid+":"+secret, dataKeys(mustKey(t, "kc")), database
	if early, err := buildStack(t.Context(), cfg, slog.New(slog.DiscardHandler), nil); err == nil {
		early.Close()
		t.Error("an instance started without the data key of its signing key")
	} else if !strings.Contains(err.Error(), "cannot be opened") {
		t.Errorf("starting without the signing key's data key: %v", err)
	}

	start(dataKeys(b))
	check("with B")
	// A new login (of another user and of alice again) works with B alone.
	if acc, _ := login("bob"); acc == "" {
		t.Error("no access token for a new login")
	}
	access, refresh = login("alice")
	check("with B, after a new login")

	// A session_key sealed with a key no longer configured (removed too early) answers
	// session_key_stale, so the mini program logs in again, which stores a fresh one.
	page, err := st.store.IdentitiesAfter(t.Context(), "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range page {
		plain, err := mustRing(t, b).Open(id.SessionKey, auth.SessionKeyAD(id.AppID, id.OpenID))
		if err != nil {
			t.Fatal(err)
		}
		if id.SessionKey, err = mustRing(t, a).Seal(plain, auth.SessionKeyAD(id.AppID, id.OpenID)); err != nil {
			t.Fatal(err)
		}
		if err := st.store.UpdateIdentity(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	ui, err := sim.UserInfoWith(appid, "alice", "Alice", "https://thirdwx.qlogo.cn/x/132")
	if err != nil {
		t.Fatal(err)
	}
	profile := map[string]string{"appid": appid, "encrypted_data": ui.EncryptedData, "iv": ui.IV, "raw_data": ui.RawData, "signature": ui.Signature}
	status, m := call("POST", "/v1/me/wechat/profile", access, profile)
	if errBody, _ := m["error"].(map[string]any); status != 409 || errBody["code"] != wxlogin.ESESSIONKEYSTALE {
		t.Errorf("profile with a session_key under a removed key: %d %v; want 409 session_key_stale", status, m)
	}
	access, refresh = login("alice")
	check("with B, after logging in again")
}

// TestKeysResealCommand: bad flags and a keyring that opens nothing are reported, nothing changes.
func TestKeysResealCommand(t *testing.T) {
	database := "sqlite:" + filepath.Join(t.TempDir(), "cmd.db")
	a, c := mustKey(t, "ka"), mustKey(t, "kc")
	env := func(keys string) func(string) string {
		return envFrom(map[string]string{"WXLOGIN_APPS": "wx1234567890abcdef:s", "WXLOGIN_DATA_KEYS": keys, "WXLOGIN_DATABASE": database})
	}
	var out, errs bytes.Buffer
	if err := run(t.Context(), []string{"wxlogin", "keys"}, env(dataKeys(a)), nil, &out, &errs); err != errUsage || !strings.Contains(errs.String(), "keys reseal") {
		t.Errorf("keys without a subcommand: %v, %q", err, errs.String())
	}
	if err := run(t.Context(), []string{"wxlogin", "keys", "reseal", "--batch", "0"}, env(dataKeys(a)), nil, &out, &errs); err == nil {
		t.Error("--batch 0 accepted")
	}
	if err := run(t.Context(), []string{"wxlogin", "keys", "reseal"}, env(dataKeys(a)), nil, &out, &errs); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Errorf("an unmigrated database: %v", err)
	}
	if err := run(t.Context(), []string{"wxlogin", "migrate"}, env(dataKeys(a)), nil, &out, &errs); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"wxlogin", "keys", "rotate"}, env(dataKeys(a)), nil, &out, &errs); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"wxlogin", "keys", "reseal"}, env(dataKeys(c)), nil, &out, &errs); err != nil {
		t.Fatal(err)
	}
	if want := "signing keys: 2 scanned, 0 resealed, 0 already current, 2 unreadable"; !strings.Contains(out.String(), want) ||
		!strings.Contains(out.String(), "ka: 2") || !strings.Contains(out.String(), "no value opens with data_keys (kc)") {
		t.Errorf("reseal with the wrong key printed:\n%s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"wxlogin", "keys", "reseal", "--dry-run"}, env(dataKeys(a)), nil, &out, &errs); err != nil ||
		!strings.Contains(out.String(), "signing keys: 2 scanned, 0 to reseal, 2 already current, 0 unreadable") {
		t.Errorf("after a reseal with the wrong key: %v\n%s", err, out.String())
	}
}
