package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin/wechatsim"
)

// instance is one `wxlogin serve` process.
type instance struct {
	cmd  *exec.Cmd
	base string
}

// TestSeveralInstances starts three `wxlogin serve` processes on one PostgreSQL database and one
// Redis, with the WeChat simulator, and checks that they behave as one server.
func TestSeveralInstances(t *testing.T) {
	pg, rd := os.Getenv("WXLOGIN_TEST_POSTGRES"), os.Getenv("WXLOGIN_TEST_REDIS")
	if pg == "" || rd == "" {
		t.Skip("WXLOGIN_TEST_POSTGRES and WXLOGIN_TEST_REDIS not set")
	}
	ctx := context.Background()
	suffix := randomHex(6)

	// A schema of its own in the test database.
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := "wxl_multi_" + suffix
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
	dsn := pg + sep + "search_path=" + schema

	const appA, appB = "wxa1000000000000a1", "wxb2000000000000b2"
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{
		{ID: appA, Secret: "multi-secret-a", Platform: "plat"}, {ID: appB, Secret: "multi-secret-b", Platform: "plat"}}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()

	bin := filepath.Join(t.TempDir(), "wxlogin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := append(os.Environ(),
		"WXLOGIN_ADDR=127.0.0.1:0",
		"WXLOGIN_DATABASE="+dsn,
		"WXLOGIN_REDIS_URL="+rd,
		"WXLOGIN_REDIS_PREFIX=wxl-multi-"+suffix+":",
		"WXLOGIN_MIGRATE_ON_START=false",
		"WXLOGIN_APPS="+appA+":multi-secret-a:plat,"+appB+":multi-secret-b:plat",
		"WXLOGIN_DATA_KEYS="+testDataKey,
		"WXLOGIN_WECHAT_BASE_URL="+simSrv.URL,
		"WXLOGIN_ARGON2_TIME=1",
		"WXLOGIN_LOG_LEVEL=warn",
	)
	// Migrations run once, before the instances start.
	mig := exec.Command(bin, "migrate")
	mig.Env = env
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}

	var instances []*instance
	for range 3 {
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		in := &instance{cmd: cmd}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				in.base = m[1]
				break
			}
		}
		go io.Copy(io.Discard, stdout)
		if in.base == "" {
			t.Fatal("an instance did not start")
		}
		instances = append(instances, in)
	}
	a, b, c := instances[0], instances[1], instances[2]

	call := func(in *instance, method, path, bearer string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			rd = strings.NewReader(string(j))
		}
		req, _ := http.NewRequest(method, in.base+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
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
	login := func(in *instance, appid, code string) map[string]any {
		t.Helper()
		st, m := call(in, "POST", "/v1/login/wechat", "", map[string]string{"appid": appid, "code": code})
		if st != 200 {
			t.Fatalf("login: %d %v", st, m)
		}
		return m
	}
	code := func(appid, user string) string { c, _ := sim.Login(appid, user); return c }
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	userID := func(m map[string]any) string { u, _ := m["user"].(map[string]any); return str(u, "id") }

	// A login on one instance is accepted on the others.
	l := login(a, appA, code(appA, "mia"))
	for _, in := range []*instance{b, c} {
		if st, _ := call(in, "GET", "/v1/me", str(l, "access_token"), nil); st != 200 {
			t.Fatalf("a login of instance A refused elsewhere: %d", st)
		}
	}
	// A refresh on another instance rotates: the new pair works everywhere; the old refresh token,
	// replayed on a third instance, revokes the session.
	st, r := call(b, "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": str(l, "refresh_token")})
	if st != 200 || str(r, "session_id") != str(l, "session_id") {
		t.Fatalf("refresh on B: %d %v", st, r)
	}
	if st, _ := call(c, "GET", "/v1/me", str(r, "access_token"), nil); st != 200 {
		t.Fatalf("refreshed token refused on C: %d", st)
	}
	if st, _ := call(c, "POST", "/v1/token/refresh", "", map[string]string{"refresh_token": str(l, "refresh_token")}); st != 401 {
		t.Fatalf("spent refresh token on C: %d", st)
	}
	if st, _ := call(a, "GET", "/v1/me", str(r, "access_token"), nil); st != 401 {
		t.Fatalf("session revoked by reuse still works on A: %d", st)
	}

	// A logout on a third instance is refused everywhere within a second.
	l2 := login(a, appA, code(appA, "noah"))
	if st, _ := call(c, "POST", "/v1/logout", str(l2, "access_token"), nil); st != 204 {
		t.Fatalf("logout on C: %d", st)
	}
	deadline := time.Now().Add(time.Second)
	for _, in := range []*instance{a, b, c} {
		for {
			st, _ := call(in, "GET", "/v1/me", str(l2, "access_token"), nil)
			if st == 401 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("logout not honoured on %s within a second", in.base)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Concurrent first logins of one person through different instances (and apps) make one user;
	// one code sent to two instances is one code exchange.
	before := sim.Calls(wechatsim.PathCode2Session)
	shared := code(appA, "olga")
	type job struct {
		in          *instance
		appid, code string
	}
	jobs := []job{{a, appA, shared}, {b, appA, shared}, {c, appB, code(appB, "olga")}, {a, appB, code(appB, "olga")}, {b, appA, code(appA, "olga")}}
	ids := make([]string, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, m := call(j.in, "POST", "/v1/login/wechat", "", map[string]string{"appid": j.appid, "code": j.code})
			if st != 200 {
				t.Errorf("concurrent login %d: %d %v", i, st, m)
				return
			}
			ids[i] = userID(m)
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("concurrent logins of one person through three instances made several users: %v", ids)
		}
	}
	if got := sim.Calls(wechatsim.PathCode2Session) - before; got != len(jobs)-1 {
		t.Errorf("code2Session called %d times for %d distinct codes", got, len(jobs)-1)
	}

	// Every instance needs WeChat's access token (phone numbers): the simulator sees one fetch.
	for i, in := range []*instance{a, b, c} {
		tk := login(in, appA, code(appA, "pia"))
		pc, _ := sim.PhoneCode(appA, "pia", "1390000000"+string(rune('0'+i)))
		if st, m := call(in, "POST", "/v1/me/phone", str(tk, "access_token"), map[string]string{"appid": appA, "code": pc}); st != 200 {
			t.Fatalf("phone on instance %d: %d %v", i, st, m)
		}
	}
	if got := sim.Calls(wechatsim.PathStableToken) + sim.Calls(wechatsim.PathToken); got != 1 {
		t.Errorf("the simulator saw %d access-token fetches from three instances, want 1", got)
	}

	// SIGTERM stops each instance cleanly.
	for _, in := range instances {
		in.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- in.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("instance exited with %v after SIGTERM", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("instance did not stop after SIGTERM")
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
