package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/wechatsim"
)

// TestCrashSafety runs `wxlogin serve` on SQLite under 8 concurrent login workers, kills it with
// SIGKILL mid-load and restarts it on the same database file, three times. After every kill the
// database passes PRAGMA integrity_check and foreign_key_check and holds no half-written rows;
// after every restart each login that had received a 200 — in this round or an earlier one — still
// works: its refresh token refreshes (and the rotated token is checked again after the next kill).
func TestCrashSafety(t *testing.T) {
	const (
		appid   = "wxc4000000000000c4"
		secret  = "crash-test-app-secret"
		rounds  = 3
		workers = 8
		killAt  = 25 // successful logins of a round before the kill
	)
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: appid, Secret: secret, Platform: "crash-platform"}}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()

	bin := filepath.Join(t.TempDir(), "wxlogin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbPath := filepath.Join(t.TempDir(), "crash.db")
	env := append(os.Environ(),
		"WXLOGIN_ADDR=127.0.0.1:0",
		"WXLOGIN_DATABASE=sqlite:"+dbPath,
		"WXLOGIN_APPS="+appid+":"+secret+":crash-platform",
		"WXLOGIN_DATA_KEYS="+testDataKey,
		"WXLOGIN_WECHAT_BASE_URL="+simSrv.URL,
		"WXLOGIN_ARGON2_TIME=1",
		"WXLOGIN_LOG_LEVEL=error",
	)
	start := func() (*exec.Cmd, string) {
		t.Helper()
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		base := ""
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base = m[1]
				break
			}
		}
		go io.Copy(io.Discard, stdout)
		if base == "" {
			t.Fatal("serve did not start")
		}
		return cmd, base
	}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(url, body string) (int, map[string]any, error) {
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			return resp.StatusCode, nil, err
		}
		return resp.StatusCode, m, nil
	}

	// refresh tokens of every login answered 200, by login; updated as they rotate.
	var mu sync.Mutex
	good := map[string]string{}
	totalOK := 0
	for round := range rounds {
		cmd, base := start()
		// Every login answered 200 so far still works after the restart.
		for who, rt := range good {
			st, m, err := post(base+"/v1/token/refresh", fmt.Sprintf(`{"refresh_token":%q}`, rt))
			if err != nil || st != http.StatusOK {
				t.Errorf("round %d: the login of %s (answered 200 before a crash) no longer refreshes: %d %v %v", round, who, st, m, err)
				delete(good, who)
				continue
			}
			good[who], _ = m["refresh_token"].(string)
		}

		// Load: 8 workers log in new users until the process dies under them.
		var ok atomic.Int64
		killed := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := 0; ; i++ {
					who := fmt.Sprintf("r%d-w%d-%d", round, w, i)
					code, err := sim.Login(appid, who)
					if err != nil {
						t.Errorf("sim login: %v", err)
						return
					}
					st, m, err := post(base+"/v1/login/wechat", fmt.Sprintf(`{"code":%q}`, code))
					if err != nil {
						select {
						case <-killed:
							return // the process is gone: this login's outcome is unknown
						default:
							t.Errorf("login before the kill: %v", err)
							return
						}
					}
					if st != http.StatusOK {
						t.Errorf("login %s: %d %v", who, st, m)
						return
					}
					rt, _ := m["refresh_token"].(string)
					mu.Lock()
					good[who] = rt
					mu.Unlock()
					ok.Add(1)
				}
			})
		}
		for ok.Load() < killAt {
			time.Sleep(time.Millisecond)
		}
		close(killed)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		wg.Wait()
		totalOK += int(ok.Load())
		t.Logf("round %d: killed after %d logins answered 200 in this round (%d in all)", round, ok.Load(), len(good))
		checkDatabase(t, dbPath)
		if t.Failed() {
			t.FailNow()
		}
	}
	// A last restart checks the logins of the last round.
	_, base := start()
	for who, rt := range good {
		if st, m, err := post(base+"/v1/token/refresh", fmt.Sprintf(`{"refresh_token":%q}`, rt)); err != nil || st != http.StatusOK {
			t.Errorf("the login of %s no longer refreshes after the last crash: %d %v %v", who, st, m, err)
		}
	}
	if len(good) != totalOK {
		t.Errorf("%d logins checked, %d answered 200", len(good), totalOK)
	}
}

// checkDatabase opens the database file of a killed server and checks its integrity and that no
// half-written rows exist (see sqlite/migrations/0001_init.sql).
func checkDatabase(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var integrity string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("PRAGMA integrity_check: %q %v", integrity, err)
	}
	rows, err := db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		t.Errorf("PRAGMA foreign_key_check reports a violation")
	}
	rows.Close()
	for _, c := range []struct{ what, query string }{
		{"identities without their user", `SELECT count(*) FROM wechat_identities i WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = i.user_id)`},
		{"sessions without their user", `SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id)`},
		{"refresh tokens without their session", `SELECT count(*) FROM refresh_tokens r WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = r.session_id)`},
		{"accounts without their user", `SELECT count(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.user_id)`},
		// Only WeChat logins run here: every user was created with its identity and a session.
		{"users without an identity", `SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM wechat_identities i WHERE i.user_id = u.id)`},
		{"users without a session", `SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id)`},
		{"sessions without a refresh token", `SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)`},
		{"identities without a sealed session_key", `SELECT count(*) FROM wechat_identities WHERE session_key IS NULL OR length(session_key) = 0`},
	} {
		var n int
		if err := db.QueryRowContext(ctx, c.query).Scan(&n); err != nil {
			t.Errorf("%s: %v", c.what, err)
		} else if n != 0 {
			t.Errorf("%d %s: a half-written login survived the crash", n, c.what)
		}
	}
	var users int
	db.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&users)
	t.Logf("database after the kill: integrity ok, %d users", users)
}
