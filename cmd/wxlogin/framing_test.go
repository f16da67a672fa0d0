package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/wechatsim"
)

// TestServeGuardsFraming: serve answers a Transfer-Encoding other than chunked, and chunked with
// Content-Length, with a JSON 400 and closes the connection (GuardFraming is wired in).
func TestServeGuardsFraming(t *testing.T) {
	base := startServe(t, wechatsim.New(wechatsim.Options{}), nil)
	for _, te := range []string{"Transfer-Encoding: gzip\r\n", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"} {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "POST /v1/login/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+te+"\r\n3\r\n{}\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"invalid_request"`) {
			t.Errorf("%q: %d %s, want a JSON 400", te, resp.StatusCode, b)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%q: the connection stayed open (%v)", te, err)
		}
		c.Close()
	}
}
