package http_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/postgres"
	"github.com/wxlogin/wxlogin/redis"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// Two instances over one PostgreSQL and one Redis: the website polls instance B, the mini
// program scans and confirms on instance A, and A's changes wake B's waiting poll (its wait is an
// hour: only the notification can end it).
func TestQRLoginAcrossInstances(t *testing.T) {
	pg, rd := os.Getenv("WXLOGIN_TEST_POSTGRES"), os.Getenv("WXLOGIN_TEST_REDIS")
	if pg == "" || rd == "" {
		t.Skip("WXLOGIN_TEST_POSTGRES and WXLOGIN_TEST_REDIS not set")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := make([]byte, 6)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := "wxl_qr_" + suffix
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: appA, Secret: secretA, Platform: platform}}})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	key, _ := keyring.Generate("k1")
	ring, _ := keyring.New(key)

	type instance struct {
		srv      *httptest.Server
		notifier *redis.Notifier
	}
	var inst []*instance
	for i := range 2 {
		store, err := postgres.Open(ctx, pg, postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if i == 0 {
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		rc, err := redis.Open(ctx, rd, redis.WithPrefix("wxl-qr-"+suffix+":"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rc.Close() })
		n := rc.Notifier()
		a, err := app.New(ctx, app.Config{
			Auth: auth.Config{Store: store, Sealer: ring, CacheSize: -1,
				QR: auth.QRConfig{Page: "pages/qr-login/index", CheckPath: true, PollWait: time.Hour, Notifier: n}},
			Apps:          []wxlogin.App{{ID: appA, Secret: secretA, Platform: platform}},
			WeChatBaseURL: simSrv.URL, WeChatTokens: rc.TokenCache(), Issuer: "wxlogin-test",
		})
		if err != nil {
			t.Fatal(err)
		}
		go a.Service.Run(ctx)
		srv := httptest.NewServer(a.Handler)
		t.Cleanup(srv.Close)
		inst = append(inst, &instance{srv: srv, notifier: n})
	}
	A, B := inst[0], inst[1]
	// B's subscription is up once a notification from A reaches it.
	probe, stop := B.notifier.Subscribe("probe")
	defer stop()
	for i := 0; ; i++ {
		if err := A.notifier.Notify(ctx, "probe"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-probe:
		case <-time.After(20 * time.Millisecond):
			if i > 500 {
				t.Fatal("instance B never received instance A's notification")
			}
			continue
		}
		break
	}

	call := func(in *instance, path, bearer string, body any, out any) int {
		t.Helper()
		j, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", in.srv.URL+path, strings.NewReader(string(j)))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var st qrStart
	if s := call(B, "/v1/qr-login", "", map[string]string{}, &st); s != 201 {
		t.Fatalf("start on B: %d", s)
	}
	res, err := sim.Scan(appA, "alice", st.Image)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := sim.Login(appA, "alice")
	var mp tokens
	if s := call(A, "/v1/login/wechat", "", map[string]string{"code": code}, &mp); s != 200 {
		t.Fatalf("mini-program login on A: %d", s)
	}
	// waitingPoll starts a poll on B and returns its answer once B's poll is waiting.
	waitingPoll := func(since string) <-chan qrPoll {
		done := make(chan qrPoll, 1)
		go func() {
			var p qrPoll
			call(B, "/v1/qr-login/"+st.ID+"/poll", "", map[string]string{"poll_token": st.PollToken, "since": since}, &p)
			done <- p
		}()
		for i := 0; B.notifier.Waiting(st.ID) == 0; i++ {
			if i > 5000 {
				t.Fatal("B's poll never waited")
			}
			time.Sleep(time.Millisecond)
		}
		return done
	}
	done := waitingPoll("pending")
	if s := call(A, "/v1/qr-login/scan", mp.AccessToken, map[string]string{"scene": res.Scene}, nil); s != 200 {
		t.Fatalf("scan on A: %d", s)
	}
	if p := <-done; p.Status != "scanned" {
		t.Fatalf("B's poll after A's scan: %+v", p)
	}
	done = waitingPoll("scanned")
	if s := call(A, "/v1/qr-login/confirm", mp.AccessToken, map[string]string{"scene": res.Scene}, nil); s != 204 {
		t.Fatalf("confirm on A: %d", s)
	}
	p := <-done
	if p.Status != "confirmed" || p.Login == nil || p.Login.User.ID != mp.User.ID || p.Login.SessionID == mp.SessionID {
		t.Fatalf("B's poll after A's confirm: %+v", p)
	}
}
