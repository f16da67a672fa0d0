package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	wxoidc "github.com/wxlogin/wxlogin/oidc"
)

func withDoors(opts *wxoidc.Options) {
	opts.Doors = []wxoidc.Door{
		{Name: wxoidc.DoorOfficialAccount, LabelEN: "WeChat", LabelZH: "微信登录", URL: func(id string) string { return "/wechat/oa?req=" + id }},
		{Name: wxoidc.DoorMiniProgramQR, LabelEN: "Scan with WeChat", LabelZH: "微信扫码", URL: func(id string) string { return "/wechat/mpqr?req=" + id }},
	}
}

const wechatUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.44"

func TestLoginPageLanguagesAndDoors(t *testing.T) {
	e := newEnv(t, withDoors)
	devURL := e.oauth(wxoidc.DevClientID, "", "http://localhost/callback").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	page := e.startLogin(e.browser(), devURL, "Accept-Language", "en-US,en;q=0.9")
	for _, want := range []string{`lang="en"`, "Sign in to wxlogin dev demo", `name="username"`, `name="password"`, "Scan with WeChat", `name="viewport"`} {
		if !strings.Contains(page, want) {
			t.Errorf("English page lacks %q", want)
		}
	}
	if strings.Contains(page, "/wechat/oa") {
		t.Error("the official-account door is offered outside WeChat")
	}
	page = e.startLogin(e.browser(), devURL, "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5")
	for _, want := range []string{`lang="zh"`, "登录到", "用户名", "微信扫码"} {
		if !strings.Contains(page, want) {
			t.Errorf("Chinese page lacks %q", want)
		}
	}

	// Inside WeChat, straight to the official-account door.
	c := e.browser()
	resp, _ := e.get(c, devURL, "User-Agent", wechatUA)
	resp, _ = e.get(c, resp.Header.Get("Location"), "User-Agent", wechatUA)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/wechat/oa?req=oar_") {
		t.Fatalf("inside WeChat: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A client offering only WeChat doors gets no password form.
	qrURL := e.oauth("qronly", "", "https://qr.example.com/cb").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	page = e.startLogin(e.browser(), qrURL)
	if strings.Contains(page, `name="password"`) || !strings.Contains(page, "/wechat/mpqr?req=oar_") {
		t.Fatal("qronly page: wrong doors")
	}
	// Posting the password form anyway (with a valid CSRF token) is refused.
	c = e.browser()
	page = e.startLogin(c, qrURL)
	id := regexp.MustCompile(`req=(oar_[0-9a-f]+)`).FindStringSubmatch(page)[1]
	form := url.Values{"id": {id}, "username": {"alice"}, "password": {alicePass}, "csrf": {cookie(t, e, c)}}
	if resp, _ := e.post(c, wxoidc.PathLogin, form); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("password login for a client without the password door: %d", resp.StatusCode)
	}
}

// cookie returns the login page's browser cookie in c's jar.
func cookie(t *testing.T, e *env, c *http.Client) string {
	u, _ := url.Parse(e.srv.URL + "/oidc/")
	for _, ck := range c.Jar.Cookies(u) {
		return ck.Value
	}
	t.Fatal("no cookie")
	return ""
}

func TestLoginPageWithoutDoors(t *testing.T) {
	e := newEnv(t) // no WeChat doors configured yet
	u := e.oauth("qronly", "", "https://qr.example.com/cb").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	c := e.browser()
	resp, _ := e.get(c, u)
	resp, body := e.get(c, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No way to sign in") {
		t.Fatalf("no door: %d", resp.StatusCode)
	}
}

func TestPasswordFormErrors(t *testing.T) {
	e := newEnv(t)
	u := e.oauth(wxoidc.DevClientID, "", "http://localhost/callback").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	c := e.browser()
	page := e.startLogin(c, u)

	resp, body := e.passwordLogin(c, page, "alice", "wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") || !strings.Contains(body, `value="alice"`) {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	if strings.Contains(body, "wrong") && strings.Contains(body, `value="wrong"`) {
		t.Fatal("the password is echoed")
	}
	resp, _ = e.passwordLogin(c, page, "", "")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty form: %d", resp.StatusCode)
	}
	// CSRF: no cookie, a wrong token, or another browser's token.
	form := hidden(page)
	form.Set("username", "alice")
	form.Set("password", alicePass)
	if resp, _ := e.post(e.browser(), wxoidc.PathLogin, form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
	other := e.browser()
	e.startLogin(other, u)
	if resp, _ := e.post(other, wxoidc.PathLogin, form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another browser's token: %d", resp.StatusCode)
	}
	form.Set("csrf", "")
	if resp, _ := e.post(c, wxoidc.PathLogin, form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("empty token: %d", resp.StatusCode)
	}
	// Unknown request id.
	form = hidden(page)
	form.Set("id", "oar_nosuch")
	form.Set("username", "alice")
	form.Set("password", alicePass)
	if resp, _ := e.post(c, wxoidc.PathLogin, form); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown id: %d", resp.StatusCode)
	}
	if resp, _ := e.get(c, wxoidc.PathLogin+"?id=oar_nosuch"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown id page: %d", resp.StatusCode)
	}
	// Rate limited.
	e.pw.limited = true
	resp, _ = e.passwordLogin(c, page, "alice", alicePass)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("rate limited: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e.pw.limited = false
	// Success, then the request is done: the page and the form refuse it.
	resp, _ = e.passwordLogin(c, page, "alice", alicePass)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if resp, body := e.passwordLogin(c, page, "alice", alicePass); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "already complete") {
		t.Fatalf("second login on a done request: %d", resp.StatusCode)
	}
	if resp, _ := e.get(c, wxoidc.PathLogin+"?id="+hidden(page).Get("id")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("page of a done request: %d", resp.StatusCode)
	}
}

func TestConsentForThirdPartyClients(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conf := e.oauth("partner", webSecret.Reveal(), "https://partner.example.com/cb")

	// Allow.
	c := e.browser()
	page := e.startLogin(c, conf.AuthCodeURL("st"))
	resp, _ := e.passwordLogin(c, page, "alice", alicePass)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), wxoidc.PathLogin) {
		t.Fatalf("after login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, consent := e.get(c, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(consent, "Partner Shop") || !strings.Contains(consent, "see your name and picture") {
		t.Fatalf("consent page: %d", resp.StatusCode)
	}
	// Another browser (with its own cookie) cannot answer it.
	other := e.browser()
	e.startLogin(other, conf.AuthCodeURL("x"))
	otherForm := hidden(consent)
	otherForm.Set("decision", "allow")
	otherForm.Set("csrf", cookie(t, e, other))
	if resp, _ := e.post(other, wxoidc.PathConsent, otherForm); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("consent from another browser: %d", resp.StatusCode)
	}
	form := hidden(consent)
	form.Set("decision", "allow")
	resp, _ = e.post(c, wxoidc.PathConsent, form)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "partner.example.com" || loc.Query().Get("state") != "st" {
		t.Fatalf("allow: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rp.Verifier(&gooidc.Config{ClientID: "partner"}).Verify(ctx, tok.Extra("id_token").(string)); err != nil {
		t.Fatal(err)
	}

	// Deny.
	c = e.browser()
	page = e.startLogin(c, conf.AuthCodeURL("st2"))
	resp, _ = e.passwordLogin(c, page, "alice", alicePass)
	_, consent = e.get(c, resp.Header.Get("Location"))
	form = hidden(consent)
	form.Set("decision", "deny")
	resp, _ = e.post(c, wxoidc.PathConsent, form)
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st2" || loc.Query().Get("code") != "" {
		t.Fatalf("deny: %q", resp.Header.Get("Location"))
	}

	// A first-party client gets no consent step (TestPublicClientFullFlow goes straight back).
}

func TestFormPostResponseMode(t *testing.T) {
	e := newEnv(t)
	conf := e.oauth("web", webSecret.Reveal(), "https://rp.example.com/cb")
	c := e.browser()
	page := e.startLogin(c, conf.AuthCodeURL("st", oauth2.SetAuthURLParam("response_mode", "form_post")))
	resp, body := e.passwordLogin(c, page, "alice", alicePass)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="https://rp.example.com/cb"`) || !strings.Contains(body, `name="code"`) || !strings.Contains(body, `value="st"`) {
		t.Fatalf("form_post: %d %s", resp.StatusCode, body)
	}
}

// TestSeveralInstances: behind a round-robin load balancer over three instances (each with its own
// Provider and token.Issuer, sharing only the stores), every step of the flow lands on another
// instance than the step before: nothing a flow needs lives in one instance's memory.
func TestSeveralInstances(t *testing.T) {
	e := newEnvN(t, 3)
	ctx := context.Background()
	for round := 0; round < 3; round++ { // shift which instance serves which step
		e.get(http.DefaultClient, wxoidc.PathDiscovery)
		conf := e.oauth(wxoidc.DevClientID, "", "http://localhost/callback", "openid", "profile", "offline_access")
		v := oauth2.GenerateVerifier()
		tok, err := conf.Exchange(ctx, e.login(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v))).Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatalf("round %d: exchange: %v", round, err)
		}
		if _, err := e.rp.Verifier(&gooidc.Config{ClientID: wxoidc.DevClientID}).Verify(ctx, tok.Extra("id_token").(string)); err != nil {
			t.Fatalf("round %d: ID token: %v", round, err)
		}
		if _, err := e.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
			t.Fatalf("round %d: userinfo: %v", round, err)
		}
		if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err != nil {
			t.Fatalf("round %d: refresh: %v", round, err)
		}
	}
}
