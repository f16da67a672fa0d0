package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Info lines wait for the next flush; a warning goes out at once, with what waited before it; Close
// and a full buffer flush too.
func TestLogBuffer(t *testing.T) {
	out := &syncBuffer{}
	buf := newLogBuffer(out, time.Hour) // no periodic flush during the test
	logger := slog.New(flushOnWarn{Handler: slog.NewJSONHandler(buf, nil), buf: buf}).With("app", "x")
	logger.Info("request", "n", 1)
	if out.String() != "" {
		t.Fatalf("an info line was written at once: %q", out.String())
	}
	logger.Warn("upstream slow")
	if s := out.String(); !strings.Contains(s, `"msg":"request"`) || !strings.Contains(s, `"msg":"upstream slow"`) {
		t.Fatalf("a warning did not flush the buffer: %q", s)
	}
	logger.Info("last words")
	buf.Close()
	if !strings.Contains(out.String(), "last words") {
		t.Fatal("Close did not flush")
	}
	big := newLogBuffer(out, time.Hour)
	defer big.Close()
	before := len(out.String())
	big.Write([]byte(strings.Repeat("x", logBufferMax)))
	if len(out.String()) == before {
		t.Fatal("a full buffer was not flushed")
	}
}
