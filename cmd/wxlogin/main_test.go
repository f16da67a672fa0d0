package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/wechatsim"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func envFrom(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestVersionAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"wxlogin", "version"}, envFrom(nil), nil, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "wxlogin ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"wxlogin", "nope"}, envFrom(nil), nil, &out, &errOut); !errors.Is(err, errUsage) || !strings.Contains(errOut.String(), `unknown command "nope"`) {
		t.Errorf("unknown command: %v %q", err, errOut.String())
	}
	if err := run(context.Background(), []string{"wxlogin"}, envFrom(nil), nil, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("no command: %v", err)
	}
}

func TestKeygen(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxlogin", "keygen", "--id", "k7"}, envFrom(nil), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^k7:[A-Za-z0-9+/]{43}=\n$`).MatchString(out.String()) {
		t.Errorf("keygen printed %q", out.String())
	}
}

const testDataKey = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "apps")
	os.WriteFile(secretFile, []byte("wxfile00000000000f:filesecret\n"), 0o600)
	yamlFile := filepath.Join(dir, "wxlogin.yaml")
	os.WriteFile(yamlFile, []byte("addr: 127.0.0.1:9999\nsignup: true\naccess_token_ttl: 30m\napps: wxyaml0000000000a:yamlsecret\n"), 0o600)

	cfg, err := loadConfig(yamlFile, envFrom(map[string]string{"WXLOGIN_DATA_KEYS": testDataKey, "WXLOGIN_ADDR": "127.0.0.1:7777"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7777" || !cfg.Signup || cfg.AccessTokenTTL != 30*time.Minute || cfg.Apps != "wxyaml0000000000a:yamlsecret" || cfg.SessionTTL != 720*time.Hour {
		t.Errorf("cfg = %+v", cfg)
	}
	cfg, err = loadConfig("", envFrom(map[string]string{"WXLOGIN_DATA_KEYS": testDataKey, "WXLOGIN_APPS_FILE": secretFile}))
	if err != nil || cfg.Apps != "wxfile00000000000f:filesecret" {
		t.Errorf("_FILE: %v %q", err, cfg.Apps)
	}

	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{"no apps", "", map[string]string{"WXLOGIN_DATA_KEYS": testDataKey}, "WXLOGIN_APPS"},
		{"no data key", "", map[string]string{"WXLOGIN_APPS": "wx1:s"}, "wxlogin keygen"},
		{"bad duration", "", map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey, "WXLOGIN_SESSION_TTL": "forever"}, "WXLOGIN_SESSION_TTL: must be a duration"},
		{"bad bool", "", map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey, "WXLOGIN_SIGNUP": "perhaps"}, "WXLOGIN_SIGNUP"},
		{"both value and file", "", map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_APPS_FILE": secretFile, "WXLOGIN_DATA_KEYS": testDataKey}, "use one"},
		{"missing file", "", map[string]string{"WXLOGIN_APPS_FILE": filepath.Join(dir, "nope"), "WXLOGIN_DATA_KEYS": testDataKey}, "WXLOGIN_APPS_FILE"},
		{"unknown yaml key", "colour: blue\n", map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey}, `unknown setting "colour"`},
		{"bad yaml", "addr: [\n", nil, "not valid YAML"},
		{"bad algorithm", "", map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey, "WXLOGIN_SIGNING_ALGORITHM": "HS256"}, "ES256 or EdDSA"},
		{"weak argon2", "", map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey, "WXLOGIN_ARGON2_MEMORY_KIB": "64"}, "argon2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				os.WriteFile(path, []byte(tc.yaml), 0o600)
			}
			_, err := loadConfig(path, envFrom(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			for _, v := range tc.env {
				if len(v) > 8 && strings.Contains(err.Error(), v) && !strings.Contains(v, "/") {
					t.Errorf("error echoes a setting's value: %v", err)
				}
			}
		})
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"wxlogin", "serve"}, envFrom(map[string]string{"WXLOGIN_APPS": "wx1234567890abcdef:topsecretvalue"}), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "bad configuration") || strings.Contains(err.Error(), "topsecretvalue") {
		t.Fatalf("err = %v", err)
	}
	err = run(context.Background(), []string{"wxlogin", "serve"}, envFrom(map[string]string{"WXLOGIN_APPS": "broken", "WXLOGIN_DATA_KEYS": testDataKey,
		"WXLOGIN_DATABASE": "sqlite:" + filepath.Join(t.TempDir(), "x.db")}), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "appid:secret") {
		t.Fatalf("bad apps: %v", err)
	}
	err = run(context.Background(), []string{"wxlogin", "serve"}, envFrom(map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": "k1:short",
		"WXLOGIN_DATABASE": "sqlite:" + filepath.Join(t.TempDir(), "x.db")}), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "data_keys") {
		t.Fatalf("bad data key: %v", err)
	}
}

// waitFor polls buf until re matches, returning the first submatch.
func waitFor(t *testing.T, buf *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %v in %q", re, buf.String())
	return ""
}

// TestServe starts `wxlogin serve` against a simulator, logs in through it, and stops it as
// SIGTERM would. Its JSON logs contain no secret.
func TestServe(t *testing.T) {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{{ID: "wx1234567890abcdef", Secret: "serve-test-app-secret", Platform: "p"}}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	env := map[string]string{
		"WXLOGIN_ADDR":                "127.0.0.1:0",
		"WXLOGIN_APPS":                "wx1234567890abcdef:serve-test-app-secret:p",
		"WXLOGIN_DATA_KEYS":           testDataKey,
		"WXLOGIN_DATABASE":            "sqlite:" + filepath.Join(t.TempDir(), "serve.db"),
		"WXLOGIN_WECHAT_BASE_URL":     simSrv.URL,
		"WXLOGIN_ARGON2_TIME":         "1",
		"WXLOGIN_KEY_RELOAD_INTERVAL": "50ms",
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"wxlogin", "serve"}, envFrom(env), nil, stdout, stderr) }()
	base := waitFor(t, stdout, regexp.MustCompile(`listening on (http://\S+)`))

	login := func() (access, kid string) {
		code, _ := sim.Login("wx1234567890abcdef", "serve-user")
		resp, err := http.Post(base+"/v1/login/wechat", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("login through serve: %v %v", err, resp)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		header, _ := base64.RawURLEncoding.DecodeString(strings.Split(body.AccessToken, ".")[0])
		var h struct{ Kid string }
		json.Unmarshal(header, &h)
		return body.AccessToken, h.Kid
	}
	me := func(access string) int {
		req, _ := http.NewRequest("GET", base+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	oldToken, oldKid := login()

	// Rotating the signing key while serve runs logs nobody out, and serve signs with the new key
	// once it reloads.
	var rot bytes.Buffer
	if err := run(context.Background(), []string{"wxlogin", "keys", "rotate"}, envFrom(env), nil, &rot, &rot); err != nil || !strings.Contains(rot.String(), "signing key rotated") {
		t.Fatalf("keys rotate: %v %s", err, rot.String())
	}
	var newKid string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var tok string
		if tok, newKid = login(); newKid != oldKid {
			if me(tok) != 200 {
				t.Error("token of the new key refused")
			}
			break
		}
	}
	if newKid == oldKid {
		t.Fatal("serve still signs with the old key after the rotation")
	}
	if me(oldToken) != 200 {
		t.Error("a token of the old key was refused after the rotation")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"route":"POST /v1/login/wechat"`) {
		t.Errorf("no JSON request log: %s", logs)
	}
	for _, secret := range append(sim.IssuedSessionKeys(), "serve-test-app-secret", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") {
		if strings.Contains(logs+stdout.String(), secret) {
			t.Error("a secret reached the logs")
		}
	}
	// migrate on the same database works and is idempotent.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxlogin", "migrate", "--database", env["WXLOGIN_DATABASE"]}, envFrom(nil), nil, &out, &out); err != nil {
		t.Errorf("migrate: %v %s", err, out.String())
	}
}

// TestDevAndDemo runs `wxlogin dev` on free ports and plays the demo against it.
func TestDevAndDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxlogin", "dev", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0", "--rp-addr", "127.0.0.1:0", "--db", filepath.Join(dir, "dev.db")}, envFrom(nil), nil, stdout, stderr)
	}()
	server := waitFor(t, stdout, regexp.MustCompile(`server\s+(http://\S+)`))
	sim := waitFor(t, stdout, regexp.MustCompile(`WeChat simulator\s+(http://\S+)`))
	if !strings.Contains(stdout.String(), "curl -s -X POST "+server+"/v1/login/wechat") {
		t.Errorf("dev does not print the login curl command:\n%s", stdout.String())
	}
	var demoOut bytes.Buffer
	if err := run(context.Background(), []string{"wxlogin", "demo", "--server", server, "--sim", sim}, envFrom(nil), nil, &demoOut, &demoOut); err != nil {
		t.Fatalf("demo: %v\n%s", err, demoOut.String())
	}
	if !strings.Contains(demoOut.String(), "demo finished") {
		t.Errorf("demo output: %s", demoOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "dev.db.key")); err != nil {
		t.Errorf("dev did not keep its data key beside the database: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("dev did not stop")
	}
	// A restart keeps users and signing keys: the data key file is reused.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	stdout2 := &syncBuffer{}
	go func() {
		run(ctx2, []string{"wxlogin", "dev", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0", "--rp-addr", "127.0.0.1:0", "--db", filepath.Join(dir, "dev.db")}, envFrom(nil), nil, stdout2, &syncBuffer{})
	}()
	server2 := waitFor(t, stdout2, regexp.MustCompile(`server\s+(http://\S+)`))
	resp, err := http.Get(server2 + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("restarted dev not ready: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestSimCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxlogin", "sim", "--addr", "127.0.0.1:0", "--app", "wxaaaaaaaaaaaaaaaa:s1:plat"}, envFrom(nil), nil, stdout, &syncBuffer{})
	}()
	base := waitFor(t, stdout, regexp.MustCompile(`listening on (http://\S+)`))
	resp, err := http.Post(base+"/sim/login", "application/json", strings.NewReader(`{"appid":"wxaaaaaaaaaaaaaaaa","user":"u"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sim login: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"wxlogin", "sim", "--app", "nocolon"}, envFrom(nil), nil, stdout, stdout); err == nil {
		t.Error("sim accepted a malformed --app")
	}
}

func TestCheckEnvironment(t *testing.T) {
	for _, tc := range []struct {
		environ []string
		want    string // "" = accepted; else the error names both
	}{
		{[]string{"PATH=/bin", "WXLOGIN_ACCESS_TOKEN_TTL=5m", "WXLOGIN_APPS_FILE=/run/apps", "WXLOGIN_CONFIG=x.yaml", "WXLOGIN_TEST_POSTGRES=p", "WXLOGIN_TEST_REDIS=r"}, ""},
		{[]string{"WXLOGIN_ACESS_TOKEN_TTL=5m"}, "WXLOGIN_ACESS_TOKEN_TTL is not a setting: did you mean WXLOGIN_ACCESS_TOKEN_TTL?"},
		{[]string{"WXLOGIN_DATA_KEY_FILE=/k"}, "WXLOGIN_DATA_KEY_FILE is not a setting: did you mean WXLOGIN_DATA_KEYS_FILE?"},
		{[]string{"WXLOGIN_SIGNUPS=true"}, "did you mean WXLOGIN_SIGNUP?"},
		{[]string{"WXLOGIN_MAX_CONCURENT_REQUESTS=5"}, "did you mean WXLOGIN_MAX_CONCURRENT_REQUESTS?"},
		{[]string{"WXLOGIN_=x"}, "WXLOGIN_ is not a setting"},
	} {
		err := checkEnvironment(tc.environ)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.environ, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: err %v, want %q", tc.environ, err, tc.want)
		}
	}
	// The values never appear in the message (a secret may have been mistyped).
	if err := checkEnvironment([]string{"WXLOGIN_DATA_KEY=k1:SECRETVALUE"}); err == nil || strings.Contains(err.Error(), "SECRETVALUE") {
		t.Errorf("err %v", err)
	}
}

// TestEveryReadVariableIsAccepted: every WXLOGIN_* variable that the project's code, tests or CI
// script reads passes checkEnvironment, so a new test variable cannot make serve refuse to start
// under the test run that sets it.
func TestEveryReadVariableIsAccepted(t *testing.T) {
	read := regexp.MustCompile(`(?:[Gg]etenv\(|LookupEnv\(|export )"?(WXLOGIN_[A-Z0-9_]+)`)
	seen := map[string]bool{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, filepath.Join(".ci", "run"))) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range read.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"WXLOGIN_TEST_POSTGRES", "WXLOGIN_SCREENSHOTS"} {
		if !seen[must] {
			t.Errorf("the scan did not find %s: the pattern is broken", must)
		}
	}
	for name := range seen {
		if err := checkEnvironment([]string{name + "=x"}); err != nil {
			t.Errorf("%s is read by the project but refused: %v (add it to nonSettingEnv in config.go)", name, err)
		}
	}
}
