package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// TestWebFlowAcrossInstances runs two `wxlogin serve` instances on one PostgreSQL database (and
// Redis): a browser login started on one instance comes back to the other, and its login_code is
// traded on the first; the state and the login_code live in the store, so either instance finishes
// the flow, and each works once.
func TestWebFlowAcrossInstances(t *testing.T) {
	pg, rd := os.Getenv("WXLOGIN_TEST_POSTGRES"), os.Getenv("WXLOGIN_TEST_REDIS")
	if pg == "" || rd == "" {
		t.Skip("WXLOGIN_TEST_POSTGRES and WXLOGIN_TEST_REDIS not set")
	}
	ctx := context.Background()
	suffix := randomHex(6)
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := "wxl_multiweb_" + suffix
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
	const mp, oa, ret = "wxa1000000000000a1", "wxo1000000000000o1", "https://shop.example.com/back"
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: mp, Secret: "multi-secret-a", Platform: "plat"},
		{ID: oa, Secret: "multi-secret-o", Platform: "plat", Kind: wxlogin.KindOfficialAccount}}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()

	bin := filepath.Join(t.TempDir(), "wxlogin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "WXLOGIN_ADDR=127.0.0.1:0", "WXLOGIN_DATABASE="+pg+sep+"search_path="+schema,
		"WXLOGIN_REDIS_URL="+rd, "WXLOGIN_REDIS_PREFIX=wxl-multiweb-"+suffix+":", "WXLOGIN_MIGRATE_ON_START=false",
		"WXLOGIN_APPS="+mp+":multi-secret-a:plat", "WXLOGIN_OFFICIAL_ACCOUNTS="+oa+":multi-secret-o:plat",
		"WXLOGIN_WEB_REDIRECT_URIS="+oa+"="+ret, "WXLOGIN_DATA_KEYS="+testDataKey,
		"WXLOGIN_WECHAT_BASE_URL="+simSrv.URL, "WXLOGIN_WECHAT_OPEN_BASE_URL="+simSrv.URL, "WXLOGIN_LOG_LEVEL=warn")
	mig := exec.Command(bin, "migrate")
	mig.Env = env
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	var bases []string
	for range 2 {
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		stdout, _ := cmd.StdoutPipe()
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
			t.Fatal("an instance did not start")
		}
		bases = append(bases, base)
	}
	a, b := bases[0], bases[1]

	jar, _ := cookiejar.New(nil) // cookies ignore ports: both instances see the flow's cookie
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := get(a + "/v1/oauth/wechat/authorize?" + url.Values{"appid": {oa}, "redirect_uri": {ret}, "state": {"st"}}.Encode())
	if resp.StatusCode != 302 {
		t.Fatalf("authorize on A: %d", resp.StatusCode)
	}
	wx, _ := url.Parse(resp.Header.Get("Location"))
	q := wx.Query()
	q.Set("sim_user", "alice")
	wx.RawQuery, wx.Fragment = q.Encode(), ""
	resp = get(wx.String())
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || !strings.HasPrefix(cb.String(), a+"/v1/oauth/wechat/callback?") {
		t.Fatalf("WeChat's page: %d %s", resp.StatusCode, cb)
	}
	cbOnB := b + "/v1/oauth/wechat/callback?" + cb.RawQuery // the load balancer sends it to B
	resp = get(cbOnB)
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || back.Query().Get("login_code") == "" || back.Query().Get("state") != "st" {
		t.Fatalf("callback on B: %d %s", resp.StatusCode, back)
	}
	if resp := get(a + "/v1/oauth/wechat/callback?" + cb.RawQuery); resp.StatusCode != 400 {
		t.Fatalf("the state replayed on A: %d", resp.StatusCode)
	}
	exchange := func(base string) (int, string) {
		resp, err := http.Post(base+"/v1/login/exchange", "application/json", strings.NewReader(`{"login_code":"`+back.Query().Get("login_code")+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			User struct{ ID string } `json:"user"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.User.ID
	}
	status, user := exchange(a)
	if status != 200 || user == "" {
		t.Fatalf("exchange on A: %d", status)
	}
	if status, _ := exchange(b); status != 401 {
		t.Fatalf("the login_code replayed on B: %d", status)
	}
}
