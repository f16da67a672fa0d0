package http

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// TestLimitInFlight fills every slot with handlers blocked on a channel (no timing involved): the
// next request gets 503 overloaded with Retry-After, health probes still pass, and a freed slot
// serves again.
func TestLimitInFlight(t *testing.T) {
	const max = 3
	s := &server{log: slog.New(slog.DiscardHandler), cfg: Config{Now: time.Now}}
	release := make(chan struct{})
	entered := make(chan struct{}, max)
	h := withRequestID(s.limitInFlight(max, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})))
	var wg sync.WaitGroup
	for i := 0; i < max; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/block", nil))
			if rec.Code != 200 {
				t.Errorf("blocked request: %d", rec.Code)
			}
		}()
	}
	for i := 0; i < max; i++ {
		<-entered
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/login/wechat", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the cap: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != wxlogin.EOVERLOADED || body.Error.Message == "" ||
		body.RequestID == "" || body.RequestID != rec.Header().Get("X-Request-Id") {
		t.Fatalf("over the cap: body %s (%v)", rec.Body, err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Errorf("%s while overloaded: %d", path, rec.Code)
		}
	}

	close(release)
	wg.Wait()
	for i := 0; i < 2*max; i++ { // slots are given back
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/me", nil))
		if rec.Code != 200 {
			t.Fatalf("after release: %d", rec.Code)
		}
	}
	if got := s.limitInFlight(0, h); got == nil {
		t.Fatal("no cap returned nil")
	}
}

func TestOverloadedStatus(t *testing.T) {
	if ErrorStatus(wxlogin.EOVERLOADED) != http.StatusServiceUnavailable {
		t.Fatalf("overloaded → %d", ErrorStatus(wxlogin.EOVERLOADED))
	}
}
