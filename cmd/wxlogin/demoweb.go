package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// The web login demo page of `wxlogin dev` (GET /demo/web): "Log in with WeChat" buttons for the
// official-account and website doors, through the redirect flow against the simulator.

//go:embed demoweb/index.html
var demoWebPage string

//go:embed demoweb/web.js
var demoWebJS []byte

// withDemoWeb returns api with GET /demo/web and /demo/web.js in front: the demo page for the first
// official account and the first website of apps.
func withDemoWeb(api http.Handler, apps []wechatsim.App) http.Handler {
	first := map[string]string{}
	for _, a := range apps {
		if k := string(a.Kind); (a.Kind == wxlogin.KindOfficialAccount || a.Kind == wxlogin.KindWebsite) && first[k] == "" {
			first[k] = a.ID
		}
	}
	data, _ := json.Marshal(first)
	page := strings.Replace(demoWebPage, `<html lang="en">`, `<html lang="en" data-apps="`+html.EscapeString(string(data))+`">`, 1)
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.HandleFunc("GET /demo/web", func(w http.ResponseWriter, r *http.Request) {
		demoHeaders(w, "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	mux.HandleFunc("GET /demo/web.js", func(w http.ResponseWriter, r *http.Request) {
		demoHeaders(w, "text/javascript; charset=utf-8")
		w.Write(demoWebJS)
	})
	return mux
}

func demoHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// demoKinds returns the apps of the other kinds `wxlogin dev` configures when no app flag is given:
// one official account, one website and one mobile app on the demo open platform.
func demoKinds() kindFlags {
	return kindFlags{
		officialAccounts: appFlags{"wx0fficia1acc0unt1:" + demoSecret + ":" + demoPlatform},
		websites:         appFlags{"wxweb5ite000000001:" + demoSecret + ":" + demoPlatform},
		mobileApps:       appFlags{"wxm0bi1eapp0000001:" + demoSecret + ":" + demoPlatform},
	}
}

// empty reports whether no app of another kind was given.
func (k kindFlags) empty() bool {
	return len(k.officialAccounts) == 0 && len(k.websites) == 0 && len(k.mobileApps) == 0
}

// setDevApps writes the simulator's apps into cfg's settings by kind, and registers the demo page
// (at server, and at localhost) as the redirect URI of every official account and website.
func setDevApps(cfg *Config, apps []wechatsim.App, server string) {
	var specs = map[wxlogin.AppKind][]string{}
	var redirects []string
	_, port, _ := strings.Cut(strings.TrimPrefix(server, "http://"), ":")
	for _, a := range apps {
		spec := a.ID + ":" + a.Secret
		if a.Platform != "" {
			spec += ":" + a.Platform
		}
		k := wxlogin.App{Kind: a.Kind}.AppKind()
		specs[k] = append(specs[k], spec)
		if k == wxlogin.KindOfficialAccount || k == wxlogin.KindWebsite {
			redirects = append(redirects, a.ID+"="+server+"/demo/web", a.ID+"=http://localhost:"+port+"/demo/web")
		}
	}
	cfg.Apps = strings.Join(specs[wxlogin.KindMiniProgram], ",")
	cfg.OfficialAccounts = strings.Join(specs[wxlogin.KindOfficialAccount], ",")
	cfg.Websites = strings.Join(specs[wxlogin.KindWebsite], ",")
	cfg.MobileApps = strings.Join(specs[wxlogin.KindMobileApp], ",")
	cfg.WebRedirectURIs = strings.Join(redirects, ",")
	cfg.WebAllowLoopback = true
}

// printDevDoors prints the apps of every kind and how to try the web doors.
func printDevDoors(w io.Writer, server, sim string, apps []wechatsim.App) {
	fmt.Fprintf(w, "\nApps (open platform in brackets):\n")
	mobile := ""
	for _, a := range apps {
		fmt.Fprintf(w, "  %-18s %s [%s]\n", wxlogin.App{Kind: a.Kind}.AppKind(), a.ID, orNone(a.Platform))
		if a.Kind == wxlogin.KindMobileApp && mobile == "" {
			mobile = a.ID
		}
	}
	fmt.Fprintf(w, "\nThe web doors: open %s/demo/web and log in with WeChat (official account or website).\n", server)
	if mobile != "" {
		fmt.Fprintf(w, `A mobile app's WeChat SDK code (SendAuth), exchanged like a web code:
  CODE=$(curl -s -X POST %[2]s/sim/login -H 'Content-Type: application/json' \
    -d '{"appid":"%[3]s","user":"alice"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')
  curl -s -X POST %[1]s/v1/login/wechat/oauth -H 'Content-Type: application/json' \
    -d "{\"appid\":\"%[3]s\",\"code\":\"$CODE\"}"
`, server, sim, mobile)
	}
}
