package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DemoRelyingParty returns the tiny relying party `wxlogin dev` serves at baseURL (a loopback URL
// such as "http://127.0.0.1:8081"): a page with a sign-in link, the callback that exchanges the
// code (PKCE, state and nonce checked) and shows the ID token's and userinfo's claims, and a
// sign-out link to the provider's end_session endpoint. It is the public client DevClientID;
// client holds the flow's state, verifier and nonce in a short-lived cookie, as a browser app
// would. HTTP client for discovery and the exchange: client (nil: http.DefaultClient).
func DemoRelyingParty(issuer, baseURL string, client *http.Client) http.Handler {
	d := &demo{issuer: strings.TrimSuffix(issuer, "/"), base: strings.TrimSuffix(baseURL, "/"), client: client}
	if d.client == nil {
		d.client = http.DefaultClient
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.home)
	mux.HandleFunc("GET /login", d.login)
	mux.HandleFunc("GET /callback", d.callback)
	return mux
}

type demo struct {
	issuer, base string
	client       *http.Client
	mu           sync.Mutex
	provider     *gooidc.Provider // discovered on first use (wxlogin may start after the demo)
}

const demoCookie = "wxlogin_demo_rp"

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>wxlogin demo site</title></head>
<body style="font-family:sans-serif;max-width:640px;margin:40px auto;padding:0 16px">
<h1>wxlogin demo site</h1>
{{if .Error}}<p style="color:#c00" id="error">{{.Error}}</p>{{end}}
{{if .Claims}}<p id="hello">Hello, {{.Name}}</p><pre id="claims">{{.Claims}}</pre>
<p><a id="logout" href="{{.Logout}}">Sign out</a></p>
{{else}}<p><a id="signin" href="/login">Sign in with wxlogin</a></p>{{end}}
</body></html>`))

type demoData struct{ Error, Name, Claims, Logout string }

func (d *demo) ctx(r *http.Request) context.Context {
	return gooidc.ClientContext(r.Context(), d.client)
}

func (d *demo) discover(ctx context.Context) (*gooidc.Provider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.provider == nil {
		p, err := gooidc.NewProvider(ctx, d.issuer)
		if err != nil {
			return nil, err
		}
		d.provider = p
	}
	return d.provider, nil
}

func (d *demo) config(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: DevClientID, RedirectURL: d.base + "/callback", Endpoint: p.Endpoint(),
		Scopes: []string{ScopeOpenID, ScopeProfile, ScopePhone}}
}

func (d *demo) render(w http.ResponseWriter, status int, data demoData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	demoPage.Execute(w, data)
}

func (d *demo) home(w http.ResponseWriter, r *http.Request) { d.render(w, http.StatusOK, demoData{}) }

func randomString() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (d *demo) login(w http.ResponseWriter, r *http.Request) {
	p, err := d.discover(d.ctx(r))
	if err != nil {
		d.render(w, http.StatusBadGateway, demoData{Error: "discovery failed: " + err.Error()})
		return
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: demoCookie, Value: url.Values{"s": {state}, "n": {nonce}, "v": {verifier}}.Encode(),
		Path: "/", MaxAge: 900, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, d.config(p).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)), http.StatusFound)
}

func (d *demo) callback(w http.ResponseWriter, r *http.Request) {
	ctx := d.ctx(r)
	c, err := r.Cookie(demoCookie)
	if err != nil {
		d.render(w, http.StatusBadRequest, demoData{Error: "no sign-in in progress"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: demoCookie, Path: "/", MaxAge: -1})
	flow, _ := url.ParseQuery(c.Value)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		d.render(w, http.StatusBadRequest, demoData{Error: "sign-in failed: " + e})
		return
	}
	if q.Get("state") == "" || q.Get("state") != flow.Get("s") {
		d.render(w, http.StatusBadRequest, demoData{Error: "state mismatch"})
		return
	}
	p, err := d.discover(ctx)
	if err != nil {
		d.render(w, http.StatusBadGateway, demoData{Error: "discovery failed"})
		return
	}
	conf := d.config(p)
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(flow.Get("v")))
	if err != nil {
		d.render(w, http.StatusBadGateway, demoData{Error: "code exchange failed: " + err.Error()})
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&gooidc.Config{ClientID: DevClientID}).Verify(ctx, rawID)
	if err != nil || idt.Nonce != flow.Get("n") {
		d.render(w, http.StatusBadGateway, demoData{Error: "the ID token is invalid"})
		return
	}
	info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		d.render(w, http.StatusBadGateway, demoData{Error: "userinfo failed"})
		return
	}
	var claims map[string]any
	idt.Claims(&claims)
	var ui map[string]any
	info.Claims(&ui)
	name, _ := ui["name"].(string)
	logout := d.issuer + PathEndSession + "?" + url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {d.base + "/"}}.Encode()
	d.render(w, http.StatusOK, demoData{Name: name, Claims: formatClaims(claims, ui), Logout: logout})
}

func formatClaims(id, ui map[string]any) string {
	var b strings.Builder
	b.WriteString("ID token:\n")
	for _, k := range []string{"sub", "aud", "amr", "auth_time", "sid", "name", "phone_number"} {
		if v, ok := id[k]; ok {
			b.WriteString("  " + k + ": " + toString(v) + "\n")
		}
	}
	b.WriteString("userinfo:\n")
	for _, k := range []string{"sub", "name", "picture", "phone_number", "unionid"} {
		if v, ok := ui[k]; ok {
			b.WriteString("  " + k + ": " + toString(v) + "\n")
		}
	}
	return b.String()
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, p := range x {
			parts = append(parts, toString(p))
		}
		return strings.Join(parts, " ")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}
