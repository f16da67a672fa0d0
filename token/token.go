// Package token issues and verifies wxlogin's access tokens (JWTs signed with ES256 or EdDSA),
// publishes the verification keys as a JWKS, rotates signing keys without logging anyone out, and
// makes and hashes refresh tokens.
//
// Signing keys live in a KeyStore shared by every instance, their private halves sealed by a
// wxlogin.Sealer (additional data: the key id). The newest key not retired signs; a retired key
// keeps verifying until RetiredAt+TTL, when the last token it signed has expired. Verify never
// touches the store: each Issuer keeps the parsed keys in memory and picks up other instances'
// rotations on Reload, which the caller should run periodically (say every 30s to a minute).
package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wxlogin/wxlogin"
)

const (
	// TypeAccessToken is the JWT "typ" header of an access token (RFC 9068). Verify rejects any other.
	TypeAccessToken = "at+jwt"
	// DefaultAudience is the "aud" of a token issued for no particular app.
	DefaultAudience = "wxlogin"
	// DefaultTTL is the access-token lifetime when Options.TTL is zero.
	DefaultTTL = 2 * time.Hour
	// Leeway is the clock skew Verify tolerates on exp, iat and nbf.
	Leeway = 5 * time.Second

	maxTokenLen = 4096 // ours are ~500 bytes; anything far larger is not ours
)

// KeyStore stores signing keys. wxlogin.Store satisfies it.
type KeyStore interface {
	// SigningKeys returns every stored key, oldest first.
	SigningKeys(ctx context.Context) ([]*wxlogin.SigningKey, error)
	// CreateSigningKey returns an *wxlogin.Error with ECONFLICT when the id exists.
	CreateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error
	UpdateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error
}

// Options configures an Issuer. Keys and Sealer are required.
type Options struct {
	Keys      KeyStore
	Sealer    wxlogin.Sealer   // seals private keys at rest (additional data: the key id)
	Issuer    string           // "iss"; "wxlogin" when empty
	TTL       time.Duration    // access-token lifetime; DefaultTTL when zero
	Algorithm string           // of new keys: "ES256" (default) or "EdDSA"; takes effect at the next key creation
	Now       func() time.Time // time.Now when nil
}

// Claims are what an access token says.
type Claims struct {
	UserID    string    // sub
	SessionID string    // sid
	Audience  string    // aud: the appid, or DefaultAudience
	ID        string    // jti
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
}

// Issuer issues and verifies access tokens. It is safe for concurrent use.
type Issuer struct {
	store  KeyStore
	sealer wxlogin.Sealer
	iss    string
	ttl    time.Duration
	alg    string
	now    func() time.Time
	parser *jwt.Parser

	mu    sync.Mutex             // serializes Reload and Rotate
	state atomic.Pointer[keySet] // what Issue, Verify and JWKS read; never nil after New
}

// New returns an Issuer with the keys in opts.Keys. When the store holds no key that may sign, it
// generates one and stores it; instances starting together on an empty store end up with the same
// key. It returns an error when opts are invalid, the store fails, or the signing key in the store
// cannot be opened with opts.Sealer (a wrong keyring: New does not paper over it with a new key).
func New(ctx context.Context, opts Options) (*Issuer, error) {
	if opts.Keys == nil || opts.Sealer == nil {
		return nil, errors.New("token: Options.Keys and Options.Sealer are required")
	}
	i := &Issuer{store: opts.Keys, sealer: opts.Sealer, iss: opts.Issuer, ttl: opts.TTL, alg: opts.Algorithm, now: opts.Now}
	if i.iss == "" {
		i.iss = "wxlogin"
	}
	switch {
	case i.ttl == 0:
		i.ttl = DefaultTTL
	case i.ttl < time.Second:
		return nil, fmt.Errorf("token: TTL %v is too short", opts.TTL)
	}
	if i.alg == "" {
		i.alg = AlgES256
	}
	if _, ok := methods[i.alg]; !ok {
		return nil, fmt.Errorf("token: unsupported algorithm %q (want ES256 or EdDSA)", opts.Algorithm)
	}
	if i.now == nil {
		i.now = time.Now
	}
	i.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{AlgES256, AlgEdDSA}),
		jwt.WithIssuer(i.iss),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	)
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.ensureSigner(ctx); err != nil {
		return nil, err
	}
	return i, nil
}

// wireClaims is the JSON payload of an access token.
type wireClaims struct {
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub"`
	Audience  string    `json:"aud"` // one string; an array is refused
	ExpiresAt *unixTime `json:"exp"`
	IssuedAt  *unixTime `json:"iat"`
	NotBefore *unixTime `json:"nbf,omitempty"`
	ID        string    `json:"jti"`
	SessionID string    `json:"sid"`
}

func (c *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.numeric(), nil }
func (c *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.numeric(), nil }
func (c *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.numeric(), nil }
func (c *wireClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *wireClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *wireClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// Validate requires the claims the jwt validator treats as optional (jwt.ClaimsValidator).
func (c *wireClaims) Validate() error {
	if c.Subject == "" || c.SessionID == "" || c.Audience == "" || c.ID == "" || c.IssuedAt == nil || c.ExpiresAt == nil {
		return errors.New("missing claim")
	}
	if c.ExpiresAt.sec <= c.IssuedAt.sec {
		return errors.New("exp not after iat")
	}
	return nil
}

// unixTime is a JWT NumericDate that must be a plain JSON integer (jwt.NumericDate also takes
// fractions and quoted strings, which no token of ours carries).
type unixTime struct{ sec int64 }

func newUnixTime(t time.Time) *unixTime { return &unixTime{t.Unix()} }

func (u *unixTime) time() time.Time { return time.Unix(u.sec, 0).UTC() }

func (u *unixTime) numeric() *jwt.NumericDate {
	if u == nil {
		return nil
	}
	return &jwt.NumericDate{Time: u.time()}
}

func (u unixTime) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, u.sec, 10), nil }

func (u *unixTime) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' || len(b) > 12 {
		return errors.New("time claim is not a plain integer")
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return errors.New("time claim is not a plain integer")
	}
	u.sec = n
	return nil
}

// Issue returns a signed access token for the session and its claims. audience is the appid the
// token is for; "" means DefaultAudience. It returns an error (internal) only when an argument is
// empty or signing fails.
func (i *Issuer) Issue(userID, sessionID, audience string) (string, *Claims, error) {
	if userID == "" || sessionID == "" {
		return "", nil, errors.New("token: Issue needs a user id and a session id")
	}
	if audience == "" {
		audience = DefaultAudience
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", nil, fmt.Errorf("token: %w", err)
	}
	now := i.now().Truncate(time.Second) // JWT times are whole seconds
	c := &Claims{
		UserID:    userID,
		SessionID: sessionID,
		Audience:  audience,
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		IssuedAt:  now,
		ExpiresAt: now.Add(i.ttl),
	}
	s := i.state.Load().signer
	t := jwt.NewWithClaims(s.method, &wireClaims{
		Issuer:    i.iss,
		Subject:   c.UserID,
		Audience:  c.Audience,
		ExpiresAt: newUnixTime(c.ExpiresAt),
		IssuedAt:  newUnixTime(c.IssuedAt),
		ID:        c.ID,
		SessionID: c.SessionID,
	})
	t.Header["kid"] = s.kid
	t.Header["typ"] = TypeAccessToken
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", nil, fmt.Errorf("token: signing with key %s: %w", s.kid, err)
	}
	return signed, c, nil
}

// errUnauthorized is what Verify says about every bad token, whatever the reason.
func errUnauthorized() error {
	return &wxlogin.Error{Code: wxlogin.EUNAUTHORIZED, Message: "invalid or expired access token"}
}

// Verify returns the claims of a valid access token issued by an Issuer sharing this one's keys.
// Any failure (malformed, bad signature, unknown kid, algorithm not the key's, wrong typ or iss,
// missing claim, expired) returns an *wxlogin.Error with EUNAUTHORIZED and one generic message.
func (i *Issuer) Verify(token string) (*Claims, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return nil, errUnauthorized()
	}
	ks := i.state.Load()
	var wc wireClaims
	t, err := i.parser.ParseWithClaims(token, &wc, func(t *jwt.Token) (any, error) {
		return ks.verificationKey(t, i.now())
	})
	if err != nil || !t.Valid {
		return nil, errUnauthorized()
	}
	return &Claims{
		UserID:    wc.Subject,
		SessionID: wc.SessionID,
		Audience:  wc.Audience,
		ID:        wc.ID,
		IssuedAt:  wc.IssuedAt.time(),
		ExpiresAt: wc.ExpiresAt.time(),
	}, nil
}

// verificationKey returns the public key named by the token's kid when the token's typ, alg and
// header are acceptable and the key still verifies at now.
func (ks *keySet) verificationKey(t *jwt.Token, now time.Time) (any, error) {
	if typ, _ := t.Header["typ"].(string); typ != TypeAccessToken {
		return nil, errors.New("wrong typ")
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("crit header not supported")
	}
	kid, _ := t.Header["kid"].(string)
	k, ok := ks.verify[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	if t.Method == nil || t.Method.Alg() != k.alg {
		return nil, errors.New("alg is not the key's")
	}
	if !k.verifies(now) {
		return nil, errors.New("key expired")
	}
	return k.key, nil
}
