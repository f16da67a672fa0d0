package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// hookReceiver is a business system's webhook endpoint that can be killed and restarted on the
// same address; it checks every signature and records the event ids it accepted.
type hookReceiver struct {
	t      *testing.T
	secret string
	addr   string

	mu   sync.Mutex
	srv  *http.Server
	seen map[string]int // event id → deliveries accepted
}

func (h *hookReceiver) start() {
	h.t.Helper()
	addr := h.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger for a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(h.secret, r.Header.Get(webhook.HeaderSignature), body, time.Now(), 0); err != nil {
			h.t.Errorf("delivery with a bad signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev struct{ ID, Type string }
		json.Unmarshal(body, &ev)
		if ev.ID == "" || ev.ID != r.Header.Get(webhook.HeaderEventID) {
			h.t.Errorf("event id %q, header %q", ev.ID, r.Header.Get(webhook.HeaderEventID))
		}
		h.mu.Lock()
		h.seen[ev.ID]++
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	h.mu.Lock()
	h.srv = srv
	h.mu.Unlock()
	go srv.Serve(ln)
}

// kill stops the receiver abruptly: in-flight deliveries are cut off.
func (h *hookReceiver) kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.srv.Close()
}

func (h *hookReceiver) ids() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.seen))
	for k, v := range h.seen {
		out[k] = v
	}
	return out
}

// TestWebhooksSurviveKills logs in new users against `wxlogin serve` (SQLite) while its webhook
// receiver is killed and restarted and the server itself is SIGKILLed mid-delivery and restarted.
// At the end every event committed to the outbox has arrived — exactly the committed ids, none
// missing, none invented — and each user.created matches a login that answered 200.
func TestWebhooksSurviveKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server")
	}
	const (
		appid  = "wxc5000000000000c5"
		secret = "webhook-crash-app-secret"
		hookSK = "whsec_crash_test_0123456789"
	)
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: appid, Secret: secret}}})
	simSrv := &http.Server{Handler: sim}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go simSrv.Serve(simLn)
	defer simSrv.Close()
	rcv := &hookReceiver{t: t, secret: hookSK, seen: map[string]int{}}
	rcv.start()
	defer rcv.kill()

	bin := filepath.Join(t.TempDir(), "wxlogin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbPath := filepath.Join(t.TempDir(), "hooks.db")
	env := append(os.Environ(),
		"WXLOGIN_ADDR=127.0.0.1:0",
		"WXLOGIN_DATABASE=sqlite:"+dbPath,
		"WXLOGIN_APPS="+appid+":"+secret,
		"WXLOGIN_DATA_KEYS="+testDataKey,
		"WXLOGIN_WECHAT_BASE_URL=http://"+simLn.Addr().String(),
		"WXLOGIN_LOG_LEVEL=error",
		"WXLOGIN_WEBHOOKS=crm|http://"+rcv.addr+"/hook|"+hookSK,
		"WXLOGIN_WEBHOOK_RETRY_MIN=100ms",
		"WXLOGIN_WEBHOOK_TIMEOUT=1s",
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
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				go io.Copy(io.Discard, stdout)
				return cmd, m[1]
			}
		}
		t.Fatal("serve did not start")
		return nil, ""
	}
	client := &http.Client{Timeout: 10 * time.Second}
	created := map[string]bool{} // user ids of logins answered 200 as new users
	n := 0
	login := func(base string) error {
		n++
		code, err := sim.Login(appid, fmt.Sprintf("u%d", n))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Post(base+"/v1/login/wechat", "application/json", strings.NewReader(fmt.Sprintf(`{"code":%q}`, code)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var m struct {
			NewUser bool `json:"new_user"`
			User    struct{ ID string }
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil || !m.NewUser {
			t.Errorf("login: %d", resp.StatusCode) // not Fatal: it may run in a goroutine
			return fmt.Errorf("login: %d", resp.StatusCode)
		}
		created[m.User.ID] = true
		return nil
	}

	for round := range 3 {
		cmd, base := start()
		for range 10 {
			if err := login(base); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(1200 * time.Millisecond) // the deliverer polls every second: let it start
		rcv.kill()                          // the receiver goes down: deliveries fail and back off
		for range 10 {
			if err := login(base); err != nil {
				t.Fatal(err)
			}
		}
		rcv.start()
		// Kill the server while it is delivering: more logins, then SIGKILL at once, with
		// logins still in flight (their outcome unknown).
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 50; i++ {
				if login(base) != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(30+20*round) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		<-done
		t.Logf("round %d: killed with %d events received so far", round, len(rcv.ids()))
	}
	start() // the last restart delivers what is left

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	committed := func() map[string]string {
		rows, err := db.Query(`SELECT id, type, user_id FROM events`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var id, typ, user string
			rows.Scan(&id, &typ, &user)
			out[id] = typ + " " + user
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pending int
		db.QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'`).Scan(&pending)
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still not delivered after a minute", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	events, got := committed(), rcv.ids()
	var missing, extra []string
	dups := 0
	for id := range events {
		if got[id] == 0 {
			missing = append(missing, id)
		}
		dups += max(got[id]-1, 0)
	}
	for id := range got {
		if _, ok := events[id]; !ok {
			extra = append(extra, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("%d events committed, %d received: missing %q, never committed %q", len(events), len(got), missing, extra)
	}
	createdEvents := map[string]bool{}
	for _, v := range events {
		if typ, user, _ := strings.Cut(v, " "); typ == "user.created" {
			createdEvents[user] = true
		}
	}
	for u := range created {
		if !createdEvents[u] {
			t.Errorf("user %s was created (login answered 200) but no user.created event was committed", u)
		}
	}
	t.Logf("%d events committed, all received (%d delivered twice, after a kill); %d logins answered 200", len(events), dups, len(created))
}
