package wxlogin

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// Secret is a string that must never be printed: fmt, slog and JSON show it as "[redacted]".
// Reveal returns the value itself, for the few places that must send or use it.
type Secret string

const redacted = "[redacted]"

// String returns "[redacted]" (non-empty secrets) or "" (empty ones).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the same as String, so %#v does not reveal the value either.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText returns the redacted form: a Secret never leaves the process through an encoder.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// Sealer encrypts secrets at rest (session_keys, private signing keys). Open returns an error when
// the sealed bytes were not made by this Sealer with the same additional data.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// NewID returns prefix + "_" + 26 random lowercase hex-ish characters (104 bits of randomness).
func NewID(prefix string) string {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("wxlogin: crypto/rand failed: " + err.Error()) // the platform is broken; nothing is safe
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}
