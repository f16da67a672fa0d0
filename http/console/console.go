// Package console is wxlogin's admin web console: one HTML page, a script and a style sheet,
// embedded in the binary (no build step, no network), served under /admin/. The page works only
// through the admin API (/admin/v1) with the admin token the operator types in, which it keeps in
// the tab's memory and sends as Authorization: Bearer (never in storage or a cookie), so the API
// needs no CSRF defence. Every answer carries a strict Content-Security-Policy (no inline script,
// no framing), X-Frame-Options DENY, nosniff and no-referrer.
package console

import (
	"embed"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every console answer.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Prefix is where the console is mounted; assets are under Prefix + "assets/".
const Prefix = "/admin/"

var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Handler returns the handler of GET /admin/ (the page) and GET /admin/assets/{file} (its
// files); any other path, and a file that does not exist, goes to notFound.
func Handler(notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := ""
		switch {
		case r.URL.Path == Prefix:
			name = "index.html"
		case strings.HasPrefix(r.URL.Path, Prefix+"assets/"):
			name = strings.TrimPrefix(r.URL.Path, Prefix+"assets/")
			if name == "index.html" || strings.Contains(name, "/") {
				name = ""
			}
		}
		ctype := types[path.Ext(name)]
		var body []byte
		if name != "" && ctype != "" {
			body, _ = static.ReadFile("static/" + name)
		}
		if body == nil {
			notFound.ServeHTTP(w, r)
			return
		}
		SetHeaders(w.Header())
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}

// SetHeaders sets the security headers of a console answer on h.
func SetHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}
