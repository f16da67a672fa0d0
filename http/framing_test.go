package http_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// TestFraming sends requests with ambiguous or unsupported framing over raw connections to a
// server behind GuardFraming: each gets a JSON 400 and its connection is closed (RFC 9112 §6.3),
// while well-framed requests, pipelined on one connection, are all answered. Issue 14, item 6.
func TestFraming(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewUnstartedServer(e.srv.Config.Handler)
	srv.Listener = wxhttp.GuardFraming(srv.Listener)
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	const login = "POST /v1/login/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	body := `{"username":"nobody","password":"wrong-password!"}` // 50 bytes (0x32)
	chunk := "32\r\n" + body + "\r\n0\r\n\r\n"
	then := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tc := range []struct {
		name, raw string
	}{
		{"Content-Length and chunked", login + "Content-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + then},
		{"chunked and Content-Length", login + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunk + then},
		{"gzip", login + "Transfer-Encoding: gzip\r\n\r\n" + body + then},
		{"gzip, chunked", login + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunk + then},
		{"identity", login + "Transfer-Encoding: identity\r\nContent-Length: 50\r\n\r\n" + body + then},
		{"chunked twice", login + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + then},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resps := rawExchange(t, addr, tc.raw)
			if len(resps) != 1 {
				t.Fatalf("%d responses, want 1 and the connection closed", len(resps))
			}
			r := resps[0]
			var eb struct {
				Error struct{ Code string } `json:"error"`
			}
			if r.status != 400 || json.Unmarshal(r.body, &eb) != nil || eb.Error.Code != wxlogin.EINVALID {
				t.Fatalf("status %d body %s, want 400 invalid_request", r.status, r.body)
			}
		})
	}
	// Well-framed requests pipelined on one connection: each is answered in turn.
	raw := login + "Content-Length: 50\r\n\r\n" + body + login + "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk
	if resps := rawExchange(t, addr, raw); len(resps) != 2 || resps[0].status != 401 || resps[1].status != 401 {
		t.Fatalf("pipelined good requests: %+v, want two 401s", resps)
	}
}

type rawResponse struct {
	status int
	body   []byte
}

// rawExchange writes raw on a new connection, half-closes it, and reads every response until the
// server closes the connection.
func rawExchange(t *testing.T, addr, raw string) []rawResponse {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []rawResponse
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the connection stayed open after %d responses", len(out))
			}
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, rawResponse{resp.StatusCode, b})
		if len(out) > 5 || strings.EqualFold(resp.Header.Get("Connection"), "close") {
			// The server said it closes: make sure it does.
			if _, err := br.ReadByte(); err == nil {
				t.Fatalf("bytes after a Connection: close response")
			}
			return out
		}
	}
}
