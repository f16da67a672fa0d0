package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDevSignupPolicy runs `wxlogin dev --signup-policy existing_only --phone-signup`: an unknown
// WeChat user gets no_account with a link token, the dev admin token creates the user, and the
// link token binds the WeChat identity to it.
// devAdminToken is the admin token these tests give wxlogin dev.
const devAdminToken = "dev-admin-token-0123456789abcdef"

func TestDevSignupPolicy(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxlogin", "dev", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0", "--db", filepath.Join(dir, "dev.db"),
			"--signup-policy", "existing_only", "--phone-signup", "--admin-token", devAdminToken}, envFrom(nil), nil, stdout, &syncBuffer{})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("dev did not stop")
		}
	}()
	server := waitFor(t, stdout, regexp.MustCompile(`server\s+(http://\S+)`))
	sim := waitFor(t, stdout, regexp.MustCompile(`WeChat simulator\s+(http://\S+)`))
	appid := waitFor(t, stdout, regexp.MustCompile(`\(app (\S+)\)`))
	if !strings.Contains(stdout.String(), devAdminToken) || !strings.Contains(stdout.String(), "Phone sign-up is on") {
		t.Errorf("the guide does not say how to sign up:\n%s", stdout.String())
	}
	post := func(url, bearer string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
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
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m
	}
	_, c := post(sim+"/sim/login", "", map[string]string{"appid": appid, "user": "alice"})
	status, body := post(server+"/v1/login/wechat", "", map[string]any{"appid": appid, "code": c["code"]})
	errBody, _ := body["error"].(map[string]any)
	if status != http.StatusForbidden || errBody["code"] != "no_account" || errBody["link_token"] == "" {
		t.Fatalf("unknown WeChat user: %d %v", status, body)
	}
	if status, body := post(server+"/admin/v1/users", devAdminToken, map[string]string{"username": "alice", "password": "alice password 1"}); status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	status, body = post(server+"/v1/login/password", "", map[string]any{"username": "alice", "password": "alice password 1", "link_token": errBody["link_token"]})
	if status != http.StatusOK {
		t.Fatalf("link: %d %v", status, body)
	}
	_, c = post(sim+"/sim/login", "", map[string]string{"appid": appid, "user": "alice"})
	if status, body := post(server+"/v1/login/wechat", "", map[string]any{"appid": appid, "code": c["code"]}); status != http.StatusOK {
		t.Fatalf("WeChat login after the link: %d %v", status, body)
	}
}

func TestSignupSettings(t *testing.T) {
	c := defaultConfig()
	c.Apps, c.DataKeys = "wxaaaaaaaaaaaaaaaa:s", "k:x"
	for _, bad := range []func(c *Config){
		func(c *Config) { c.SignupPolicy = "closed" },
		func(c *Config) { c.SignupOverrides = "wxa/door=open" },
		func(c *Config) { c.SignupRiskMax = "5" },
		func(c *Config) { c.AvatarMaxBytes = 10 },
		func(c *Config) { c.AvatarBaseURL = "ftp://x" },
	} {
		cc := *c
		bad(&cc)
		if err := cc.validateSignup(); err == nil {
			t.Errorf("accepted %+v", cc)
		}
	}
	c.SignupPolicy, c.SignupOverrides, c.SignupRiskMax, c.AvatarDir = "existing_only", "wxa=open", "2", filepath.Join(t.TempDir(), "av")
	if err := c.validateSignup(); err != nil {
		t.Fatal(err)
	}
	s, err := c.signupSettings()
	if err != nil || s.riskMax == nil || *s.riskMax != 2 || s.avatars == nil || s.rules.For("wxa", "wechat") != "open" || s.rules.For("wxb", "wechat") != "existing_only" {
		t.Fatalf("%v %+v", err, s)
	}
}
