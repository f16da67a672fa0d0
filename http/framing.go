package http

import (
	"bytes"
	"net"
	"strconv"
	"strings"
)

// badFramingHeader replaces the name of the Transfer-Encoding header of a request whose framing
// is ambiguous or unsupported (see GuardFraming); guardSlowClients answers such a request 400
// invalid_request and closes the connection.
const badFramingHeader = "X-Wxlogin-Bad-Framing"

// GuardFraming wraps ln so that requests whose framing is ambiguous get a JSON 400 and a closed
// connection instead of Go's own handling (RFC 9112 §6.3): a request with both Content-Length and
// Transfer-Encoding (Go would answer it and keep the connection open), and one whose
// Transfer-Encoding is anything but "chunked" alone (Go answers a plain-text 501). It reads each
// request's header block whole before passing it on, renaming such a Transfer-Encoding header to
// X-Wxlogin-Bad-Framing; the request then has no body but what Content-Length says, and the
// connection is closed after the answer. After a chunked request, or a header block larger than
// 64 KiB (Go refuses it itself), the connection's later bytes pass through unread.
func GuardFraming(ln net.Listener) net.Listener { return framingListener{ln} }

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

const maxFramingBlock = 64 << 10

type framingState int

const (
	stateHeaders framingState = iota // reading a header block
	stateBody                        // passing remaining bytes of a Content-Length body
	statePass                        // no longer inspecting
)

type framingConn struct {
	net.Conn
	state     framingState
	remaining int64
	raw       []byte // part of a header block, not yet passed on
	ready     []byte // passed on, not yet read
	err       error  // the underlying Read's error, returned (once) when ready is empty
	buf       [4096]byte
}

func (c *framingConn) Read(p []byte) (int, error) {
	for len(c.ready) == 0 {
		if c.err != nil { // returned once: a deadline (net/http aborts reads with one) is not the end
			err := c.err
			c.err = nil
			return 0, err
		}
		n, err := c.Conn.Read(c.buf[:])
		c.feed(c.buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				c.ready = append(c.ready, c.raw...) // the end: an unfinished block goes on as it is
				c.raw = nil
			}
			c.err = err
		}
	}
	n := copy(p, c.ready)
	c.ready = c.ready[n:]
	return n, nil
}

// feed processes bytes read from the connection.
func (c *framingConn) feed(b []byte) {
	for len(b) > 0 {
		switch c.state {
		case statePass:
			c.ready = append(c.ready, b...)
			return
		case stateBody:
			n := int64(len(b))
			if n > c.remaining {
				n = c.remaining
			}
			c.ready = append(c.ready, b[:n]...)
			b = b[n:]
			if c.remaining -= n; c.remaining == 0 {
				c.state = stateHeaders
			}
		case stateHeaders:
			c.raw = append(c.raw, b...)
			b = nil
			end := bytes.Index(c.raw, []byte("\r\n\r\n"))
			if end < 0 {
				if len(c.raw) > maxFramingBlock {
					c.ready = append(c.ready, c.raw...)
					c.raw, c.state = nil, statePass
				}
				return
			}
			block, rest := c.raw[:end+4], c.raw[end+4:]
			c.raw = nil
			var next framingState
			block, next, c.remaining = inspectBlock(block)
			c.ready = append(c.ready, block...)
			c.state = next
			if c.state == stateBody && c.remaining == 0 {
				c.state = stateHeaders
			}
			b = append([]byte(nil), rest...)
		}
	}
}

// inspectBlock returns the header block (Transfer-Encoding renamed when the framing is bad) and
// the state after it with the body length.
func inspectBlock(block []byte) ([]byte, framingState, int64) {
	lines := bytes.Split(block, []byte("\r\n"))
	var te []string
	cl, hasCL := int64(0), false
	for _, l := range lines[1:] {
		name, val, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case strings.EqualFold(string(name), "Content-Length"):
			n, err := strconv.ParseInt(strings.TrimSpace(string(val)), 10, 64)
			if err != nil || n < 0 {
				return block, statePass, 0 // Go refuses it
			}
			cl, hasCL = n, true
		case strings.EqualFold(string(name), "Transfer-Encoding"):
			for _, v := range strings.Split(string(val), ",") {
				te = append(te, strings.ToLower(strings.TrimSpace(v)))
			}
		}
	}
	switch {
	case te == nil && hasCL:
		return block, stateBody, cl
	case te == nil:
		return block, stateHeaders, 0
	case !hasCL && len(te) == 1 && te[0] == "chunked":
		return block, statePass, 0
	}
	out := make([]byte, 0, len(block)+16)
	for i, l := range lines {
		if i > 0 {
			out = append(out, "\r\n"...)
		}
		if name, val, ok := bytes.Cut(l, []byte(":")); ok && i > 0 && strings.EqualFold(string(name), "Transfer-Encoding") {
			out = append(out, badFramingHeader+":"...)
			out = append(out, val...)
			continue
		}
		out = append(out, l...)
	}
	return out, statePass, 0 // answered 400 and closed: what follows is not inspected
}
