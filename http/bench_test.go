package http_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/sqlite"
)

// benchServer returns the API handler on SQLite, logging like serve does (JSON, info) to nowhere,
// and an access token of a signed-up user.
func benchServer(b *testing.B) (http.Handler, string) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	k, _ := keyring.Generate("k1")
	ring, _ := keyring.New(k)
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(ctx, app.Config{
		Auth:   auth.Config{Store: st, Sealer: ring, Signup: true, Argon2: auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}},
		HTTP:   wxhttp.Config{IntrospectionClients: map[string]string{"svc": "svc-secret"}},
		Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	svc, h := a.Service, a.Handler
	if _, err := svc.SignUp(ctx, "bench", "correct horse battery", auth.Meta{}); err != nil {
		b.Fatal(err)
	}
	l, err := svc.LoginPassword(ctx, "", "bench", "correct horse battery", auth.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	return h, string(l.AccessToken)
}

func serveBench(b *testing.B, h http.Handler, newReq func() *http.Request) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, newReq())
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// BenchmarkBaseline is a bare handler returning a small JSON body: the floor of the others.
func BenchmarkBaseline(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
	serveBench(b, h, func() *http.Request { return httptest.NewRequest("GET", "/", nil) })
}

// BenchmarkMe is GET /v1/me with a valid access token (verified-token and profile caches warm).
func BenchmarkMe(b *testing.B) {
	h, tok := benchServer(b)
	serveBench(b, h, func() *http.Request {
		r := httptest.NewRequest("GET", "/v1/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	})
}

// BenchmarkIntrospect is POST /v1/introspect of a valid access token.
func BenchmarkIntrospect(b *testing.B) {
	h, tok := benchServer(b)
	body := "token=" + tok
	serveBench(b, h, func() *http.Request {
		r := httptest.NewRequest("POST", "/v1/introspect", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("svc", "svc-secret")
		return r
	})
}

// BenchmarkRefresh is POST /v1/token/refresh, each goroutine following its own refresh-token chain.
func BenchmarkRefresh(b *testing.B) {
	h, _ := benchServer(b)
	login := func() string {
		r := httptest.NewRequest("POST", "/v1/login/password", strings.NewReader(`{"username":"bench","password":"correct horse battery"}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.RefreshToken == "" {
			b.Fatalf("login: %d %s", w.Code, w.Body)
		}
		return out.RefreshToken
	}
	// Log in one after the other: concurrent sign-ins of one account trip its lockout, by design.
	chains := make(chan string, 64)
	for range cap(chains) {
		chains <- login()
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8) // 16 clients on 2 cores, like the load runs
	b.RunParallel(func(pb *testing.PB) {
		rt := <-chains
		for pb.Next() {
			r := httptest.NewRequest("POST", "/v1/token/refresh", strings.NewReader(`{"refresh_token":"`+rt+`"}`))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var out struct {
				RefreshToken string `json:"refresh_token"`
			}
			if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
				b.Errorf("refresh: %d %s", w.Code, w.Body)
				return
			}
			rt = out.RefreshToken
		}
	})
}
