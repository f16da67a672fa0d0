package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// TestSeedSQLite seeds a small SQLite database and checks the rows, that a seeded user logs in
// through the simulator as a returning user, and that the sample file's tokens work.
func TestSeedSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.db")
	testSeed(t, "sqlite:"+path, func(table string) int {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	})
}

func TestSeedPostgres(t *testing.T) {
	pg := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if pg == "" {
		t.Skip("WXLOGIN_TEST_POSTGRES not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := "wxl_seed_" + randomHex(6)
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
	testSeed(t, pg+sep+"search_path="+schema, func(table string) int {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+"."+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	})
}

func testSeed(t *testing.T, database string, count func(table string) int) {
	const appid, secret, platform = "wx1234567890abcdef", "seed-test-app-secret", "p"
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: appid, Secret: secret, Platform: platform}}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	env := map[string]string{
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_APPS":            appid + ":" + secret + ":" + platform,
		"WXLOGIN_DATA_KEYS":       testDataKey,
		"WXLOGIN_DATABASE":        database,
		"WXLOGIN_WECHAT_BASE_URL": simSrv.URL,
		"WXLOGIN_ARGON2_TIME":     "1",
	}
	out := filepath.Join(t.TempDir(), "samples.tsv")
	var stdout, stderr bytes.Buffer
	// 64-row batches: several transactions, and partial statement chunks in each.
	err := run(context.Background(), []string{"wxlogin", "seed", "--users", "200", "--sessions", "300", "--batch", "64",
		"--samples", "10", "--out", out}, envFrom(env), nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "seeded 200 users") {
		t.Errorf("seed printed %q", stdout.String())
	}
	for table, want := range map[string]int{"users": 200, "wechat_identities": 200, "sessions": 300, "refresh_tokens": 300} {
		if n := count(table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}

	// The seeded identity is the simulator's device user, its session_key sealed under the data key.
	store, err := openStore(context.Background(), database, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := store.Identity(context.Background(), appid, wechatsim.OpenID(appid, "bench-0000007"))
	if err != nil {
		t.Fatalf("seeded identity: %v", err)
	}
	if id.UnionID != wechatsim.UnionID(platform, "bench-0000007") {
		t.Errorf("unionid %q", id.UnionID)
	}
	ring, _ := keyring.Parse(testDataKey)
	if _, err := ring.Open(id.SessionKey, []byte("session_key\x00"+appid+"\x00"+id.OpenID)); err != nil {
		t.Errorf("sealed session_key does not open: %v", err)
	}
	store.Close()

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("sample file mode %v", fi.Mode().Perm())
	}
	var samples [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(line, "#") {
			samples = append(samples, strings.Split(line, "\t"))
		}
	}
	if len(samples) != 10 || len(samples[0]) != 5 {
		t.Fatalf("samples: %d lines, first %v", len(samples), samples[0])
	}

	ctx, cancel := context.WithCancel(context.Background())
	srvOut, srvErr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"wxlogin", "serve"}, envFrom(env), nil, srvOut, srvErr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := waitFor(t, srvOut, regexp.MustCompile(`listening on (http://\S+)`))
	post := func(path, body, bearer string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}

	// A seeded user logs in as a returning user.
	user, sessionUser := samples[3][0], samples[3][2]
	code, err := sim.Login(appid, user)
	if err != nil {
		t.Fatal(err)
	}
	status, m := post("/v1/login/wechat", `{"code":"`+code+`"}`, "")
	if status != 200 || m["new_user"] != false || m["user"].(map[string]any)["id"] != sessionUser {
		t.Fatalf("login of seeded user %s: %d %v", user, status, m)
	}

	// A seeded refresh token refreshes; a seeded access token reads /v1/me.
	status, m = post("/v1/token/refresh", `{"refresh_token":"`+samples[5][3]+`"}`, "")
	if status != 200 || m["session_id"] != samples[5][1] {
		t.Fatalf("refresh of a seeded token: %d %v", status, m)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+samples[6][4])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]any
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != 200 || me["id"] != samples[6][2] {
		t.Fatalf("/v1/me with a seeded access token: %d %v", resp.StatusCode, me)
	}
}
