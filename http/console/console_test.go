package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/http/console"
)

func TestHandler(t *testing.T) {
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := console.Handler(notFound)
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
		body   string
	}{
		{"/admin/", 200, "text/html; charset=utf-8", `<script src="/admin/assets/console.js" defer></script>`},
		{"/admin/assets/console.js", 200, "text/javascript; charset=utf-8", `"use strict"`},
		{"/admin/assets/console.css", 200, "text/css; charset=utf-8", ":root"},
		{"/admin/assets/icon.svg", 200, "image/svg+xml", "<svg"},
		{"/admin/assets/index.html", 418, "", ""},    // the page only at /admin/
		{"/admin/assets/../console.go", 418, "", ""}, // no way out of static/
		{"/admin/assets/static/console.js", 418, "", ""},
		{"/admin/assets/missing.js", 418, "", ""},
		{"/admin/assets/", 418, "", ""},
		{"/admin/index.html", 418, "", ""},
		{"/admin/v1/users", 418, "", ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
		if w.Code != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.path, w.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if got := w.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.body)
		}
		for k, v := range map[string]string{"Content-Security-Policy": console.CSP, "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := w.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, v)
			}
		}
	}
}
