package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a child process serving HTTP.
type proc struct {
	name string
	cmd  *exec.Cmd
	base string // http://host:port
	logs *os.File
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startProc starts bin with args and env, waits until it prints "listening on http://…" and
// returns it. Its stderr goes to logPath.
func startProc(ctx context.Context, name, bin string, args, env []string, logPath string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	logs, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logs: logs}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		close(found)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case base, ok := <-found:
		if !ok {
			p.stop()
			return nil, fmt.Errorf("%s exited before listening; see %s", name, logPath)
		}
		p.base = base
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not start within 60s; see %s", name, logPath)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	return p, nil
}

// stop sends SIGTERM and waits (SIGKILL after 20s).
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.logs.Close()
}

// memory returns the process's resident set (VmRSS) and its peak (VmHWM) from /proc.
func (p *proc) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// cpuTime returns the CPU time (user + system) the process has used so far, from /proc/<pid>/stat
// (in clock ticks of 1/100 s, Linux's USER_HZ).
func (p *proc) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after its closing parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: bad /proc stat", p.name)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: short /proc stat", p.name)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad /proc stat times", p.name)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// moduleRoot returns the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/wxlogin/wxlogin\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run go run ./bench inside the wxlogin module")
		}
		dir = parent
	}
}

// buildWxlogin builds ./cmd/wxlogin into dir and returns the binary's path.
func buildWxlogin(root, dir string) (string, error) {
	bin := filepath.Join(dir, "wxlogin")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/wxlogin")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/wxlogin: %v\n%s", err, out)
	}
	return bin, nil
}

// baselineBody is what the baseline answers: a small JSON object, about the size of /v1/me's.
var baselineBody = []byte(`{"id":"usr_0123456789abcdef0123456789","nickname":"","avatar_url":"","unionid":"oAbCdEfGhIjKlMnOpQrStUvWxYz01","identities":[{"appid":"wxbench00000000001","openid":"oAbCdEfGhIjKlMnOpQrStUvWxYz02","created_at":"2025-01-01T00:00:00Z"}],"created_at":"2025-01-01T00:00:00Z"}` + "\n")

// serveBaseline is the -baseline-server mode: a bare net/http handler returning baselineBody on a
// loopback port, in a process of its own like wxlogin serve.
func serveBaseline() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("baseline listening on http://%s\n", ln.Addr())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(baselineBody)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ctx, stop := signalContext()
	defer stop()
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
