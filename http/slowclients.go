package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Defaults of the slow-client guard (Config.MaxInFlightPerClient, BodyMinRate, BodyReadGrace).
const (
	defaultBodyReadGrace = 5 * time.Second
)

// guardSlowClients keeps a few slow or greedy clients from taking everyone's capacity (issue 14,
// item 1). It sits outside limitInFlight, so:
//   - a client address, and a bearer token (one user's session), each hold at most perClient
//     requests in flight, body reading included; past that they get 503 overloaded at once and
//     the connection is closed (0: no bound; health probes exempt); the token is kept only as a
//     hash prefix, for the request's duration;
//   - a request's body is read whole (up to the body limit) BEFORE the request takes one of the
//     shared in-flight slots, so bodies that trickle in do not count against the shared cap;
//   - the body must arrive within grace + its size / minRate bytes per second (minRate 0: no
//     minimum rate), capped at readTimeout, else the request gets 400 and the connection is closed;
//   - a body declared larger than the limit (Content-Length) is refused before it is read, and so
//     before `100 Continue` is sent to a client that asked with Expect.
func (s *server) guardSlowClients(perClient int, minRate int64, grace, readTimeout time.Duration, next http.Handler) http.Handler {
	if grace <= 0 {
		grace = defaultBodyReadGrace
	}
	var mu sync.Mutex
	held := map[string]int{}
	release := func(ip string) {
		mu.Lock()
		if held[ip]--; held[ip] <= 0 {
			delete(held, ip)
		}
		mu.Unlock()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		if r.Header[badFramingHeader] != nil { // GuardFraming: ambiguous or unsupported framing
			w.Header().Set("Connection", "close")
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "Transfer-Encoding must be chunked alone, without Content-Length"))
			return
		}
		if perClient > 0 {
			// One address, and one bearer token (a user's session), each hold at most perClient.
			keys := []string{"ip:" + s.clientIP(r)}
			if tok, ok := bearerToken(r); ok {
				h := sha256.Sum256([]byte(tok))
				keys = append(keys, "tok:"+hex.EncodeToString(h[:12]))
			}
			mu.Lock()
			for _, k := range keys {
				if held[k] >= perClient {
					mu.Unlock()
					w.Header().Set("Connection", "close")
					s.writeError(w, r, &wxlogin.Error{Code: wxlogin.EOVERLOADED, Message: "too many requests in flight from this client; try again shortly", RetryAfter: time.Second})
					return
				}
			}
			for _, k := range keys {
				held[k]++
			}
			mu.Unlock()
			defer func() {
				for _, k := range keys {
					release(k)
				}
			}()
		}
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			max := s.bodyLimit(r)
			if r.ContentLength > max {
				w.Header().Set("Connection", "close")
				s.writeError(w, r, wxlogin.Errorf(wxlogin.ETOOLARGE, "the body is larger than %d bytes", max))
				return
			}
			expect := r.ContentLength
			if expect < 0 { // chunked: the most it may send
				expect = max
			}
			rc := http.NewResponseController(w)
			deadline := time.Time{}
			if minRate > 0 {
				d := grace + time.Duration(float64(expect)/float64(minRate)*float64(time.Second))
				if readTimeout > 0 && d > readTimeout { // never later than the server's own read deadline
					d = readTimeout
				}
				deadline = time.Now().Add(d)
				_ = rc.SetReadDeadline(deadline) // unsupported writers (tests' recorders) read without one
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			if err != nil {
				w.Header().Set("Connection", "close")
				if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
					s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "the body arrived too slowly (at least %d bytes per second)", minRate))
					return
				}
				s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "the body could not be read"))
				return
			}
			if !deadline.IsZero() {
				_ = rc.SetReadDeadline(time.Time{})
			}
			if int64(len(body)) > max {
				w.Header().Set("Connection", "close")
				s.writeError(w, r, wxlogin.Errorf(wxlogin.ETOOLARGE, "the body is larger than %d bytes", max))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// avatarFraming is what a multipart avatar upload may add to the image: the part's headers and
// the boundaries.
const avatarFraming = 16 << 10

// bodyLimit returns the most bytes r's body may hold: max_body_bytes, or for an avatar upload the
// avatar limit plus its multipart framing when that is larger.
func (s *server) bodyLimit(r *http.Request) int64 {
	if r.URL.Path == "/v1/me/avatar" {
		if m := s.svc.AvatarMaxBytes() + avatarFraming; m > s.cfg.MaxBodyBytes {
			return m
		}
	}
	return s.cfg.MaxBodyBytes
}
