package main

import (
	"embed"
	"net/http"
)

//go:embed demoqr
var demoQRFiles embed.FS

// withDemoQR serves the demo website page of the QR login at /demo/qr (wxlogin dev only) in front
// of api: the page shows a mini-program code, long-polls the request and shows the logged-in user.
func withDemoQR(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	file := func(name, ctype string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := demoQRFiles.ReadFile("demoqr/" + name)
			if err != nil {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			h := w.Header()
			h.Set("Content-Type", ctype)
			h.Set("Cache-Control", "no-store")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
			w.Write(b)
		})
	}
	mux.Handle("GET /demo/qr", file("qr.html", "text/html; charset=utf-8"))
	mux.Handle("GET /demo/qr.js", file("qr.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /demo/qr.css", file("qr.css", "text/css; charset=utf-8"))
	mux.Handle("/", api)
	return mux
}
