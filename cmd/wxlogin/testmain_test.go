package main

import (
	"fmt"
	"io"
	"os"
	"testing"
)

// TestMain says once per `go test ./...` run which variables would run the tests that skip without
// PostgreSQL and Redis. `go test` hides a passing package's output (and so every t.Skip message), so
// the line goes to the terminal (/dev/tty) when there is one, else to stderr (seen with -v).
// Only this package prints it; other packages skip silently.
func TestMain(m *testing.M) {
	if os.Getenv("WXLOGIN_TEST_POSTGRES") == "" || os.Getenv("WXLOGIN_TEST_REDIS") == "" {
		var w io.Writer = os.Stderr
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			w = tty
		}
		fmt.Fprintln(w, skipHint)
	}
	os.Exit(m.Run())
}

const skipHint = "wxlogin: the PostgreSQL and Redis tests are skipped; to run them set " +
	"WXLOGIN_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' and " +
	"WXLOGIN_TEST_REDIS='redis://127.0.0.1:6379/0' (a scratch database: tests use random schemas and key prefixes)"
