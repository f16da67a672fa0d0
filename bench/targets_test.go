package main

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTargetFor: issue 21's targets by store, an any-store target for both, none for scenario 5.
func TestTargetFor(t *testing.T) {
	for _, c := range []struct {
		n    int
		be   string
		want float64
		ok   bool
	}{
		{1, "sqlite", 0.8, true}, {1, "postgres", 0.8, true},
		{4, "sqlite", 0.12, true}, {4, "postgres", 0, false},
		{6, "sqlite", 0.2, true}, {6, "postgres", 0.1, true},
		{5, "sqlite", 0, false},
	} {
		if got, ok := targetFor(c.n, c.be); got != c.want || ok != c.ok {
			t.Errorf("targetFor(%d, %s) = %v, %v; want %v, %v", c.n, c.be, got, ok, c.want, c.ok)
		}
	}
}

// TestPrintTargets: every target gets a line with its ratio and whether it is met; one whose run
// is missing says "not run".
func TestPrintTargets(t *testing.T) {
	b := &bench{o: options{postgres: "postgres://x"}}
	b.rows = []*row{
		{scenario: names[6], backend: "sqlite", ratio: 0.25},
		{scenario: names[6], backend: "postgres", ratio: 0.05},
		{scenario: names[1], backend: "sqlite", ratio: 0.81},
	}
	out := captureStdout(t, b.printTargets)
	for _, want := range []string{
		"refresh      sqlite    0.25     ≥0.20   yes",
		"refresh      postgres  0.05     ≥0.10   NO",
		"GET /v1/me   sqlite    0.81     ≥0.80   yes",
		"GET /v1/me   postgres  not run",
		"login, returning user  sqlite",
	} {
		if !strings.Contains(squash(out), squash(want)) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(squash(out), "login, returning user postgres") || strings.Contains(out, "new user") {
		t.Errorf("a target that does not exist is listed:\n%s", out)
	}
}

// TestCPUTime: a busy child's CPU time grows.
func TestCPUTime(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 5")
	if err := cmd.Start(); err != nil {
		t.Skip("no sh:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p := &proc{name: "sh", cmd: cmd}
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := p.cpuTime()
		if err != nil {
			t.Fatal(err)
		}
		if d > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no CPU time seen for a busy loop")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	fn()
	os.Stdout = old
	w.Close()
	return <-done
}
