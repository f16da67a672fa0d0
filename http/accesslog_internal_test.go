package http

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// accessLogRig returns the observe middleware around a handler answering 204, logging like serve
// does (JSON, info) to w, with no metrics.
func accessLogRig(w io.Writer) http.Handler {
	s := &server{log: slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})), cfg: Config{Now: time.Now}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/me", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return withRequestID(s.observe(mux, nil, mux))
}

// TestAccessLogLine pins the fields of the access log line: method, route pattern (never the raw
// path or query), status, duration, request id and client IP.
func TestAccessLogLine(t *testing.T) {
	var buf bytes.Buffer
	h := accessLogRig(&buf)
	r := httptest.NewRequest("GET", "/v1/me?secret=x", nil)
	r.Header.Set("X-Request-Id", "req-123")
	r.RemoteAddr = "192.0.2.4:5555"
	h.ServeHTTP(httptest.NewRecorder(), r)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	want := map[string]any{"level": "INFO", "msg": "request", "method": "GET", "route": "GET /v1/me",
		"status": float64(204), "request_id": "req-123", "ip": "192.0.2.4"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, line[k], v, buf.String())
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms missing: %s", buf.String())
	}
	if bytes.Contains(buf.Bytes(), []byte("secret")) {
		t.Errorf("the query reached the log: %s", buf.String())
	}
}

// BenchmarkAccessLog is one request through the access-log middleware (JSON at info, the
// production default) around a handler that does nothing: the cost of the line itself.
func BenchmarkAccessLog(b *testing.B) {
	h := accessLogRig(io.Discard)
	r := httptest.NewRequest("GET", "/v1/me", nil)
	r.Header.Set("X-Request-Id", "req-123")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
