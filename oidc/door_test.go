package oidc_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	wxoidc "github.com/wxlogin/wxlogin/oidc"
)

// fakeWeChatDoor is a door served by the provider as the official-account door would be: "start"
// binds a flow to the browser with a cookie and sends it on a round trip (WeChat's authorize page
// in real life) that comes back at step "back", which signs bob in.
func fakeWeChatDoor() wxoidc.Door {
	return wxoidc.Door{Name: wxoidc.DoorOfficialAccount, LabelEN: "WeChat", LabelZH: "微信登录",
		Serve: func(w http.ResponseWriter, r *http.Request, step string, done wxoidc.DoneFunc) {
			switch step {
			case "start":
				http.SetCookie(w, &http.Cookie{Name: "door_flow", Value: r.URL.Query().Get("id"), Path: "/oidc/door/"})
				http.Redirect(w, r, wxoidc.PathDoor+wxoidc.DoorOfficialAccount+"/back?code=wechat-code", http.StatusFound)
			case "back":
				c, err := r.Cookie("door_flow")
				if err != nil || r.URL.Query().Get("code") != "wechat-code" {
					http.Error(w, "no flow", http.StatusBadRequest)
					return
				}
				done(w, r, c.Value, bobID, []string{"wechat"})
			default:
				http.NotFound(w, r)
			}
		}}
}

// TestDoorServedByTheProvider: inside WeChat the login page goes straight to the door, whose own
// steps run under /oidc/door/{name}/ and end back at the client with a code for the door's user.
func TestDoorServedByTheProvider(t *testing.T) {
	e := newEnv(t, func(o *wxoidc.Options) { o.Doors = []wxoidc.Door{fakeWeChatDoor()} })
	ctx := context.Background()
	conf := e.oauth(wxoidc.DevClientID, "", "http://127.0.0.1:9999/callback")
	v := oauth2.GenerateVerifier()
	c := e.browser()
	resp, _ := e.get(c, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v), gooidc.Nonce("nn")), "User-Agent", wechatUA)
	resp, _ = e.get(c, resp.Header.Get("Location"), "User-Agent", wechatUA) // the login page
	start := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(start, "/oidc/door/official_account/start?id=oar_") {
		t.Fatalf("inside WeChat: %d to %q", resp.StatusCode, start)
	}
	resp, _ = e.get(c, start, "User-Agent", wechatUA)
	resp, body := e.get(c, resp.Header.Get("Location"), "User-Agent", wechatUA)
	cb := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(cb, "http://127.0.0.1:9999/callback?") {
		t.Fatalf("door's way back: %d to %q: %s", resp.StatusCode, cb, body)
	}
	u, _ := http.NewRequest(http.MethodGet, cb, nil)
	tok, err := conf.Exchange(ctx, u.URL.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := e.rp.Verifier(&gooidc.Config{ClientID: wxoidc.DevClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		AMR []string `json:"amr"`
		SID string   `json:"sid"`
	}
	idt.Claims(&claims)
	if idt.Subject != bobID || idt.Nonce != "nn" || !slices.Equal(claims.AMR, []string{"wechat"}) {
		t.Fatalf("ID token sub %q nonce %q amr %v", idt.Subject, idt.Nonce, claims.AMR)
	}
	if s := e.sessions.session(claims.SID); s == nil || s.Method != "wechat" {
		t.Fatalf("session %+v", s)
	}

	// Outside WeChat the page links the door only when offered there; unknown doors and steps are
	// not found; "start" needs a pending request.
	for path, want := range map[string]int{
		"/oidc/door/website_qr/start?id=x":          http.StatusNotFound,
		"/oidc/door/official_account/Bad!":          http.StatusNotFound,
		"/oidc/door/official_account/start?id=oar_": http.StatusBadRequest,
	} {
		if resp, _ := e.get(e.browser(), path); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
