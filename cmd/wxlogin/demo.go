package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runDemo plays a mini program against a running server and simulator: wx.login → login →
// /v1/me → refresh → logout, printing each step. Tokens are shown shortened.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "wxlogin server")
	sim := fs.String("sim", "http://127.0.0.1:8081", "WeChat simulator")
	appid := fs.String("appid", demoAppID, "the mini program")
	user := fs.String("user", "demo-user", "the simulated device user")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d := &demo{ctx: ctx, out: stdout, client: &http.Client{Timeout: 10 * time.Second}}

	var code struct{ Code string }
	if err := d.step("1. wx.login() on the device", "POST", *sim+"/sim/login", "", map[string]string{"appid": *appid, "user": *user}, 200, &code); err != nil {
		return err
	}
	var login tokenJSON
	if err := d.step("2. POST /v1/login/wechat", "POST", *server+"/v1/login/wechat", "", map[string]string{"appid": *appid, "code": code.Code}, 200, &login); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "   user %s (new: %v), session %s, access token %s, expires in %ds\n", login.User.ID, login.NewUser, login.SessionID, short(login.AccessToken), login.ExpiresIn)
	var me map[string]any
	if err := d.step("3. GET /v1/me", "GET", *server+"/v1/me", login.AccessToken, nil, 200, &me); err != nil {
		return err
	}
	var refreshed tokenJSON
	if err := d.step("4. POST /v1/token/refresh", "POST", *server+"/v1/token/refresh", "", map[string]string{"refresh_token": login.RefreshToken}, 200, &refreshed); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "   new access token %s, new refresh token %s (the old one is spent)\n", short(refreshed.AccessToken), short(refreshed.RefreshToken))
	if err := d.step("5. POST /v1/logout", "POST", *server+"/v1/logout", refreshed.AccessToken, nil, 204, nil); err != nil {
		return err
	}
	if err := d.step("6. GET /v1/me after logout (must be refused)", "GET", *server+"/v1/me", refreshed.AccessToken, nil, 401, nil); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo finished: every step answered as expected")
	return nil
}

type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	SessionID    string `json:"session_id"`
	NewUser      bool   `json:"new_user"`
	User         struct {
		ID string `json:"id"`
	} `json:"user"`
}

type demo struct {
	ctx    context.Context
	out    io.Writer
	client *http.Client
}

// step sends one request, prints it and its answer, and decodes the answer into out.
func (d *demo) step(title, method, url, bearer string, body any, want int, out any) error {
	fmt.Fprintf(d.out, "%s\n   %s %s\n", title, method, url)
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(d.ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w (is `wxlogin dev` running?)", title, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(d.out, "   → %d %s\n", resp.StatusCode, redactTokens(string(bytes.TrimSpace(b))))
	if resp.StatusCode != want {
		return fmt.Errorf("%s: got status %d, want %d", title, resp.StatusCode, want)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// short returns the first characters of a token, enough to tell tokens apart on screen.
func short(tok string) string {
	if len(tok) <= 12 {
		return tok
	}
	return tok[:12] + "…"
}

// redactTokens shortens token values in a JSON answer printed by the demo.
func redactTokens(s string) string {
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return s
	}
	for _, k := range []string{"access_token", "refresh_token", "code"} {
		if v, ok := m[k].(string); ok {
			m[k] = short(v)
		}
	}
	b, _ := json.Marshal(m)
	return strings.TrimSpace(string(b))
}
