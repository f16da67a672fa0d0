// Package verify checks wxlogin access tokens inside a business service, with the keys wxlogin
// publishes at GET /.well-known/jwks.json and no call to wxlogin per request.
//
//	v, err := verify.New(ctx, verify.Options{
//		JWKSURL:   "https://login.example.com/.well-known/jwks.json",
//		Issuer:    "wxlogin",
//		Audiences: []string{"wx1234567890abcdef"},
//	})
//	...
//	claims, err := v.Verify(r.Context(), bearerToken) // claims.UserID, claims.SessionID
//
// It is strict: the algorithm is the one the key's JWKS entry pins (EC P-256 → ES256, OKP Ed25519 →
// EdDSA; the token's "alg" must match it, so "none", HS256 with the public key as secret and every
// other confusion fail), "typ" must be "at+jwt", the kid must be a published key, iss must be
// Options.Issuer, aud one of Options.Audiences, and exp/iat/nbf hold within Options.Leeway. A kid it
// does not know makes it fetch the JWKS again, at most once per Options.RefetchInterval, so a key
// rotation is picked up without letting garbage tokens hammer wxlogin.
//
// A verified token is remembered by the SHA-256 of its text until it expires (a bounded cache), so
// checking the same token again costs one hash and one map lookup instead of a signature check.
//
// Revocation: a JWKS-only verifier cannot see that a session was logged out or revoked; it accepts
// the token until it expires (2 hours by default). A service that must honour logout at once asks
// wxlogin's POST /v1/introspect instead (or as well, for sensitive operations).
package verify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/wxlogin/wxlogin/internal/expiring"
)

// Defaults of Options.
const (
	DefaultLeeway          = 5 * time.Second
	DefaultRefetchInterval = 30 * time.Second
	DefaultMaxKeyAge       = 10 * time.Minute
	DefaultCacheSize       = 100_000

	typAccessToken = "at+jwt"
	maxTokenLen    = 4096
	maxJWKSBytes   = 1 << 20
)

// ErrInvalid is what Verify returns (wrapped) for every token it refuses; the wrapped text says why
// (for logs: it never contains the token).
var ErrInvalid = errors.New("verify: invalid access token")

// Options configures a Verifier. JWKSURL, Issuer and Audiences are required.
type Options struct {
	JWKSURL   string   // wxlogin's /.well-known/jwks.json
	Issuer    string   // the iss wxlogin is configured with ("wxlogin" by default)
	Audiences []string // accepted aud values: the appids whose tokens this service takes ("wxlogin" for app-less logins)
	// HTTPClient fetches the JWKS; nil means a client with a 10-second timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Leeway is the clock skew tolerated on exp, iat and nbf (0: DefaultLeeway).
	Leeway time.Duration
	// RefetchInterval is the least time between two JWKS fetches caused by unknown kids (0:
	// DefaultRefetchInterval).
	RefetchInterval time.Duration
	// MaxKeyAge: a Verify that finds the key set older than this fetches it again (so a withdrawn
	// key stops verifying); if that fetch fails the old set stays in use (0: DefaultMaxKeyAge).
	MaxKeyAge time.Duration
	// CacheSize bounds how many verified tokens are remembered (0: DefaultCacheSize; negative: no cache).
	CacheSize int
}

// Claims are what a verified access token says.
type Claims struct {
	UserID    string // sub
	SessionID string // sid
	Audience  string // aud: the appid the token is for
	ID        string // jti
	KeyID     string // kid of the key that signed it
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Verifier verifies access tokens. It is safe for concurrent use.
type Verifier struct {
	url       string
	issuer    string
	audiences map[string]bool
	client    *http.Client
	now       func() time.Time
	leeway    time.Duration
	refetch   time.Duration
	maxAge    time.Duration

	keys      atomic.Pointer[keySet]
	fetchMu   sync.Mutex // one fetch at a time
	lastFetch atomic.Int64
	fetches   atomic.Int64

	cache *expiring.Map[[sha256.Size]byte, *entry] // verified tokens by SHA-256 until they expire; nil when disabled
}

type keySet struct {
	byKid   map[string]*jwk
	fetched time.Time
}

type jwk struct {
	alg string // "ES256" or "EdDSA"
	ec  *ecdsa.PublicKey
	ed  ed25519.PublicKey
}

func (k *jwk) equal(o *jwk) bool {
	if k.alg != o.alg {
		return false
	}
	if k.alg == "ES256" {
		return k.ec.Equal(o.ec)
	}
	return k.ed.Equal(o.ed)
}

// New returns a Verifier with the JWKS fetched once. It returns an error when the options are
// incomplete or the JWKS cannot be fetched or holds no usable key.
func New(ctx context.Context, opts Options) (*Verifier, error) {
	if opts.JWKSURL == "" || opts.Issuer == "" || len(opts.Audiences) == 0 {
		return nil, errors.New("verify: Options.JWKSURL, Issuer and Audiences are required")
	}
	v := &Verifier{url: opts.JWKSURL, issuer: opts.Issuer, audiences: map[string]bool{}, client: opts.HTTPClient,
		now: opts.Now, leeway: opts.Leeway, refetch: opts.RefetchInterval, maxAge: opts.MaxKeyAge}
	for _, a := range opts.Audiences {
		if a != "" {
			v.audiences[a] = true
		}
	}
	if len(v.audiences) == 0 {
		return nil, errors.New("verify: Options.Audiences holds no audience")
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.leeway <= 0 {
		v.leeway = DefaultLeeway
	}
	if v.refetch <= 0 {
		v.refetch = DefaultRefetchInterval
	}
	if v.maxAge <= 0 {
		v.maxAge = DefaultMaxKeyAge
	}
	switch {
	case opts.CacheSize == 0:
		v.cache = expiring.New[[sha256.Size]byte, *entry](DefaultCacheSize)
	case opts.CacheSize > 0:
		v.cache = expiring.New[[sha256.Size]byte, *entry](opts.CacheSize)
	}
	if err := v.fetch(ctx); err != nil {
		return nil, err
	}
	if len(v.keys.Load().byKid) == 0 {
		return nil, errors.New("verify: the JWKS holds no ES256 or EdDSA key")
	}
	return v, nil
}

// Fetches returns how many times the JWKS was fetched (for monitoring and tests).
func (v *Verifier) Fetches() int64 { return v.fetches.Load() }

// Verify returns the claims of a valid access token. Every refusal is an error wrapping
// ErrInvalid. ctx bounds a JWKS fetch an unknown kid or an old key set may cause.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return nil, invalid("empty or oversized token")
	}
	now := v.now()
	ks := v.keys.Load()
	if now.Sub(ks.fetched) > v.maxAge && v.fetchMu.TryLock() {
		// One caller refreshes an old key set; the others go on with the one they have.
		if v.keys.Load() == ks {
			_ = v.fetchLocked(ctx) // on failure the old keys stay in use
		}
		v.fetchMu.Unlock()
		ks = v.keys.Load()
	}
	var sum [32]byte
	if v.cache != nil {
		sum = sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token))) // read-only view: no copy of the token
		if e, ok := v.cache.Get(sum, now); ok {                                 // an expired entry is a miss: verify refuses the token
			if ks.byKid[e.claims.KeyID] == e.key {
				out := e.claims
				return &out, nil
			}
			v.cache.Invalidate(sum) // its key was withdrawn or replaced: verify from scratch
		}
	}
	c, k, err := v.verify(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.Put(sum, &entry{claims: *c, key: k}, c.ExpiresAt.Add(v.leeway))
	}
	return c, nil
}

type header struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

type payload struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"` // wxlogin issues one string; an array fails to decode
	Exp *int64 `json:"exp"` // plain integers only
	Iat *int64 `json:"iat"`
	Nbf *int64 `json:"nbf"`
	Jti string `json:"jti"`
	Sid string `json:"sid"`
}

func invalid(why string) error { return fmt.Errorf("%w: %s", ErrInvalid, why) }

// verify checks token completely (signature and claims) at now and returns its claims and the key
// that verified it.
func (v *Verifier) verify(ctx context.Context, token string, now time.Time) (*Claims, *jwk, error) {
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, nil, invalid("not a JWS compact token")
	}
	var h header
	if err := decodeSegment(h64, &h); err != nil {
		return nil, nil, invalid("bad header")
	}
	if h.Typ != typAccessToken {
		return nil, nil, invalid("typ is not at+jwt")
	}
	if h.Crit != nil {
		return nil, nil, invalid("crit header not supported")
	}
	if h.Kid == "" {
		return nil, nil, invalid("no kid")
	}
	k, err := v.key(ctx, h.Kid)
	if err != nil {
		return nil, nil, err
	}
	if h.Alg != k.alg {
		return nil, nil, invalid("alg is not the key's")
	}
	sig, err := base64.RawURLEncoding.DecodeString(s64)
	if err != nil {
		return nil, nil, invalid("bad signature encoding")
	}
	signed := token[:len(h64)+1+len(p64)]
	switch k.alg {
	case "ES256":
		if len(sig) != 64 {
			return nil, nil, invalid("bad signature")
		}
		digest := sha256.Sum256([]byte(signed))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k.ec, digest[:], r, s) {
			return nil, nil, invalid("bad signature")
		}
	case "EdDSA":
		if !ed25519.Verify(k.ed, []byte(signed), sig) {
			return nil, nil, invalid("bad signature")
		}
	default:
		return nil, nil, invalid("unsupported alg")
	}
	var p payload
	if err := decodeSegment(p64, &p); err != nil {
		return nil, nil, invalid("bad claims")
	}
	switch {
	case p.Iss != v.issuer:
		return nil, nil, invalid("wrong issuer")
	case !v.audiences[p.Aud]:
		return nil, nil, invalid("wrong audience")
	case p.Sub == "" || p.Sid == "" || p.Jti == "" || p.Exp == nil || p.Iat == nil:
		return nil, nil, invalid("missing claim")
	case *p.Exp <= *p.Iat:
		return nil, nil, invalid("exp not after iat")
	}
	exp, iat := time.Unix(*p.Exp, 0).UTC(), time.Unix(*p.Iat, 0).UTC()
	switch {
	case now.After(exp.Add(v.leeway)):
		return nil, nil, invalid("expired")
	case iat.After(now.Add(v.leeway)):
		return nil, nil, invalid("issued in the future")
	case p.Nbf != nil && time.Unix(*p.Nbf, 0).After(now.Add(v.leeway)):
		return nil, nil, invalid("not valid yet")
	}
	return &Claims{UserID: p.Sub, SessionID: p.Sid, Audience: p.Aud, ID: p.Jti, KeyID: h.Kid, IssuedAt: iat, ExpiresAt: exp}, k, nil
}

// decodeSegment decodes one base64url JSON segment into v; unknown fields are ignored, trailing
// data is not.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// key returns the key kid names, fetching the JWKS again when kid is unknown and the last fetch is
// at least RefetchInterval ago.
func (v *Verifier) key(ctx context.Context, kid string) (*jwk, error) {
	if k, ok := v.keys.Load().byKid[kid]; ok {
		return k, nil
	}
	if time.Duration(v.now().UnixNano()-v.lastFetch.Load()) < v.refetch {
		return nil, invalid("unknown kid")
	}
	v.fetchMu.Lock()
	if k, ok := v.keys.Load().byKid[kid]; ok { // someone else's fetch brought it
		v.fetchMu.Unlock()
		return k, nil
	}
	var err error
	if time.Duration(v.now().UnixNano()-v.lastFetch.Load()) >= v.refetch {
		err = v.fetchLocked(ctx)
	}
	v.fetchMu.Unlock()
	if k, ok := v.keys.Load().byKid[kid]; ok {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: unknown kid (JWKS fetch failed: %v)", ErrInvalid, err)
	}
	return nil, invalid("unknown kid")
}

func (v *Verifier) fetch(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	return v.fetchLocked(ctx)
}

type jwkJSON struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// fetchLocked fetches the JWKS and installs its usable keys. v.fetchMu must be held.
func (v *Verifier) fetchLocked(ctx context.Context) error {
	v.lastFetch.Store(v.now().UnixNano())
	v.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url, nil)
	if err != nil {
		return fmt.Errorf("verify: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("verify: fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("verify: fetching the JWKS: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("verify: reading the JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return errors.New("verify: the JWKS is too large")
	}
	var set struct {
		Keys []jwkJSON `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("verify: the JWKS is not valid JSON: %w", err)
	}
	ks := &keySet{byKid: map[string]*jwk{}, fetched: v.now()}
	old := v.keys.Load()
	for _, j := range set.Keys {
		k := parseJWK(j)
		if k == nil || j.Kid == "" {
			continue
		}
		if old != nil && old.byKid[j.Kid] != nil && old.byKid[j.Kid].equal(k) {
			k = old.byKid[j.Kid] // the same key: cached tokens it verified stay valid
		}
		ks.byKid[j.Kid] = k
	}
	v.keys.Store(ks)
	return nil
}

// parseJWK returns the key of a JWKS entry, or nil when it is not a signing key of a kind wxlogin
// uses, or its "alg" contradicts its type.
func parseJWK(j jwkJSON) *jwk {
	if j.Use != "" && j.Use != "sig" {
		return nil
	}
	x, err := base64.RawURLEncoding.DecodeString(j.X)
	if err != nil {
		return nil
	}
	switch {
	case j.Kty == "EC" && j.Crv == "P-256" && (j.Alg == "" || j.Alg == "ES256"):
		y, err := base64.RawURLEncoding.DecodeString(j.Y)
		if err != nil || len(x) != 32 || len(y) != 32 {
			return nil
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil
		}
		return &jwk{alg: "ES256", ec: pub}
	case j.Kty == "OKP" && j.Crv == "Ed25519" && (j.Alg == "" || j.Alg == "EdDSA"):
		if len(x) != ed25519.PublicKeySize {
			return nil
		}
		return &jwk{alg: "EdDSA", ed: ed25519.PublicKey(x)}
	}
	return nil
}

// entry is a verified token: its claims and the key that verified them (a cache hit counts only
// while the current key set still holds that very key).
type entry struct {
	claims Claims
	key    *jwk
}
