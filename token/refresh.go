package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/wxlogin/wxlogin"
)

// NewRefreshToken returns a new refresh token (256 random bits, base64url without padding: 43
// characters) and its hash, the only form in which it may be stored.
func NewRefreshToken() (token wxlogin.Secret, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("token: crypto/rand failed: " + err.Error()) // the platform is broken; nothing is safe
	}
	t := base64.RawURLEncoding.EncodeToString(b[:])
	return wxlogin.Secret(t), HashRefreshToken(t)
}

// HashRefreshToken returns hex(sha256(token)), the key a refresh token is stored and found under.
func HashRefreshToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
