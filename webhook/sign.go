// Package webhook delivers wxlogin's events (the outbox, wxlogin.Event) to the business systems'
// endpoints: signed POSTs, at least once, in order per user, with exponential backoff, one worker
// per delivery across instances (store leases), every attempt logged. Receivers verify a delivery
// with Verify (or the few lines of docs/operations.md in another language).
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header names of a delivery.
const (
	HeaderEventID   = "Wxlogin-Event-Id"
	HeaderSignature = "Wxlogin-Signature"
)

// DefaultTolerance is how old a signature Verify accepts by default.
const DefaultTolerance = 5 * time.Minute

// Sign returns the Wxlogin-Signature of body sent at t: "t=<unix seconds>,v1=<hex
// HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Errors of Verify.
var (
	ErrMalformed = errors.New("webhook: malformed signature header")
	ErrSignature = errors.New("webhook: signature does not match")
	ErrExpired   = errors.New("webhook: signature timestamp outside the tolerance")
)

// Verify checks header (a Wxlogin-Signature) against the raw body and secret, and that its
// timestamp is within tolerance of now (DefaultTolerance when tolerance <= 0). Several v1 values
// are accepted (any may match), so that a secret can be rotated. Errors: ErrMalformed, ErrSignature,
// ErrExpired.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	want := mac(secret, ts, body)
	match := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			match = true
		}
	}
	if !match {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrExpired
	}
	return nil
}
