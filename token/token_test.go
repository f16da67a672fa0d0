package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/jwtattack"
	"github.com/wxlogin/wxlogin/keyring"
)

// memStore is an in-memory KeyStore with the semantics of wxlogin.Store: copies in and out,
// ECONFLICT on a taken id, ENOTFOUND on a missing one.
type memStore struct {
	mu    sync.Mutex
	keys  []*wxlogin.SigningKey
	reads int
	// beforeCreate, when set, runs (unlocked) at the start of CreateSigningKey.
	beforeCreate func()
	// afterCreate, when set, runs (unlocked) after a successful CreateSigningKey.
	afterCreate func(id string)
	fail        error
}

func (s *memStore) SigningKeys(ctx context.Context) ([]*wxlogin.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.fail != nil {
		return nil, s.fail
	}
	out := make([]*wxlogin.SigningKey, len(s.keys))
	for i, k := range s.keys {
		c := *k
		out[i] = &c
	}
	return out, nil
}

func (s *memStore) CreateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error {
	if s.beforeCreate != nil {
		s.beforeCreate()
	}
	s.mu.Lock()
	for _, old := range s.keys {
		if old.ID == k.ID {
			s.mu.Unlock()
			return wxlogin.Errorf(wxlogin.ECONFLICT, "signing key exists")
		}
	}
	c := *k
	s.keys = append(s.keys, &c)
	s.mu.Unlock()
	if s.afterCreate != nil {
		s.afterCreate(k.ID)
	}
	return nil
}

func (s *memStore) UpdateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.keys {
		if old.ID == k.ID {
			c := *k
			s.keys[i] = &c
			return nil
		}
	}
	return wxlogin.Errorf(wxlogin.ENOTFOUND, "no such signing key")
}

func (s *memStore) key(id string) *wxlogin.SigningKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.ID == id {
			c := *k
			return &c
		}
	}
	return nil
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testSealer(t testing.TB) *keyring.Keyring {
	t.Helper()
	k, err := keyring.New(keyring.Key{ID: "test", Secret: bytes.Repeat([]byte{42}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type env struct {
	store  *memStore
	clock  *clock
	sealer wxlogin.Sealer
}

func newEnv(t testing.TB) *env {
	return &env{store: &memStore{}, clock: newClock(), sealer: testSealer(t)}
}

func (e *env) issuer(t testing.TB, alg string) *Issuer {
	t.Helper()
	i, err := New(context.Background(), e.opts(alg))
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func (e *env) opts(alg string) Options {
	return Options{Keys: e.store, Sealer: e.sealer, Issuer: "wxlogin-test", TTL: time.Hour, Algorithm: alg, Now: e.clock.Now}
}

// privateKey opens the stored private key of kid, as an attacker who stole it (or a test) would.
func (e *env) privateKey(t testing.TB, kid string) crypto.Signer {
	t.Helper()
	k := e.store.key(kid)
	if k == nil {
		t.Fatalf("no key %s", kid)
	}
	der, err := e.sealer.Open(k.Private, []byte(kid))
	if err != nil {
		t.Fatal(err)
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return p.(crypto.Signer)
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgES256, AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			e.clock.Advance(300 * time.Millisecond) // issue times are whole seconds
			iss := e.issuer(t, alg)
			tok, c, err := iss.Issue("usr_1", "ses_1", "wxapp1")
			if err != nil {
				t.Fatal(err)
			}
			want := &Claims{
				UserID: "usr_1", SessionID: "ses_1", Audience: "wxapp1", ID: c.ID,
				IssuedAt:  e.clock.Now().Truncate(time.Second),
				ExpiresAt: e.clock.Now().Truncate(time.Second).Add(time.Hour),
			}
			if len(c.ID) < 20 || *c != *want {
				t.Fatalf("Issue claims = %+v, want %+v", c, want)
			}
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d parts", len(parts))
			}
			h := decodeSegment(t, parts[0])
			if h["alg"] != alg || h["typ"] != "at+jwt" || h["kid"] != iss.SigningKeyID() {
				t.Fatalf("header = %v", h)
			}
			p := decodeSegment(t, parts[1])
			if p["iss"] != "wxlogin-test" || p["sub"] != "usr_1" || p["sid"] != "ses_1" || p["aud"] != "wxapp1" || p["jti"] != c.ID ||
				p["iat"] != float64(c.IssuedAt.Unix()) || p["exp"] != float64(c.ExpiresAt.Unix()) {
				t.Fatalf("payload = %v", p)
			}

			e.clock.Advance(59 * time.Minute)
			got, err := iss.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if !got.IssuedAt.Equal(c.IssuedAt) || !got.ExpiresAt.Equal(c.ExpiresAt) {
				t.Fatalf("Verify times = %v %v, want %v %v", got.IssuedAt, got.ExpiresAt, c.IssuedAt, c.ExpiresAt)
			}
			got.IssuedAt, got.ExpiresAt = c.IssuedAt, c.ExpiresAt
			if *got != *c {
				t.Fatalf("Verify = %+v, want %+v", got, c)
			}

			// Another token has another jti.
			_, c2, _ := iss.Issue("usr_1", "ses_1", "wxapp1")
			if c2.ID == c.ID {
				t.Fatal("two tokens share a jti")
			}
		})
	}
}

func TestIssueDefaults(t *testing.T) {
	e := newEnv(t)
	iss, err := New(context.Background(), Options{Keys: e.store, Sealer: e.sealer, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, c, err := iss.Issue("usr_1", "ses_1", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Audience != DefaultAudience || c.ExpiresAt.Sub(c.IssuedAt) != DefaultTTL {
		t.Fatalf("claims = %+v", c)
	}
	parts := strings.Split(tok, ".")
	if h := decodeSegment(t, parts[0]); h["alg"] != AlgES256 {
		t.Fatalf("default alg = %v", h["alg"])
	}
	if p := decodeSegment(t, parts[1]); p["iss"] != "wxlogin" {
		t.Fatalf("default iss = %v", p["iss"])
	}
	for _, args := range [][2]string{{"", "ses"}, {"usr", ""}} {
		if _, _, err := iss.Issue(args[0], args[1], "a"); err == nil {
			t.Fatalf("Issue(%q, %q) succeeded", args[0], args[1])
		}
	}
}

func TestNewErrors(t *testing.T) {
	e := newEnv(t)
	cases := map[string]Options{
		"no store":  {Sealer: e.sealer},
		"no sealer": {Keys: e.store},
		"bad alg":   {Keys: e.store, Sealer: e.sealer, Algorithm: "HS256"},
		"none alg":  {Keys: e.store, Sealer: e.sealer, Algorithm: "none"},
		"tiny ttl":  {Keys: e.store, Sealer: e.sealer, TTL: time.Millisecond},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(context.Background(), opts); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
	if e.store.count() != 0 {
		t.Fatal("a failed New stored a key")
	}
	e.store.fail = errors.New("disk on fire")
	if _, err := New(context.Background(), e.opts("")); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("New with a failing store = %v", err)
	}
}

func TestPrivateKeyStoredSealed(t *testing.T) {
	e := newEnv(t)
	iss := e.issuer(t, AlgES256)
	k := e.store.key(iss.SigningKeyID())
	if k.Algorithm != AlgES256 || !k.RetiredAt.IsZero() || !k.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("stored key = %+v", k)
	}
	if _, err := x509.ParsePKCS8PrivateKey(k.Private); err == nil {
		t.Fatal("private key stored in the clear")
	}
	if _, err := e.sealer.Open(k.Private, []byte("other-id")); err == nil {
		t.Fatal("private key not bound to its id")
	}
	priv := e.privateKey(t, k.ID).(*ecdsa.PrivateKey)
	pub, err := x509.ParsePKIXPublicKey(k.Public)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Fatal("stored public key is not the private key's")
	}
}

func TestNewWithWrongSealerFails(t *testing.T) {
	e := newEnv(t)
	e.issuer(t, AlgES256)
	other, _ := keyring.Generate("other")
	kr, _ := keyring.New(other)
	opts := e.opts(AlgES256)
	opts.Sealer = kr
	if _, err := New(context.Background(), opts); err == nil {
		t.Fatal("New succeeded with a keyring that cannot open the signing key")
	}
	if e.store.count() != 1 {
		t.Fatalf("New with the wrong keyring stored a new key (%d keys)", e.store.count())
	}
}

// jwkSet is the JSON of a JWKS.
type jwkSet struct {
	Keys []map[string]string `json:"keys"`
}

func parseJWKS(t *testing.T, b []byte) jwkSet {
	t.Helper()
	var s jwkSet
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("JWKS %s: %v", b, err)
	}
	return s
}

func (s jwkSet) kids() []string {
	var ids []string
	for _, k := range s.Keys {
		ids = append(ids, k["kid"])
	}
	return ids
}

// publicKeyFromJWK builds a public key from a JWK alone, as a business service would.
func publicKeyFromJWK(t *testing.T, k map[string]string) any {
	t.Helper()
	x, err := base64.RawURLEncoding.DecodeString(k["x"])
	if err != nil {
		t.Fatal(err)
	}
	switch k["kty"] {
	case "EC":
		y, err := base64.RawURLEncoding.DecodeString(k["y"])
		if err != nil || len(x) != 32 || len(y) != 32 || k["crv"] != "P-256" {
			t.Fatalf("bad EC JWK %v", k)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			t.Fatal(err)
		}
		return pub
	case "OKP":
		if len(x) != ed25519.PublicKeySize || k["crv"] != "Ed25519" {
			t.Fatalf("bad OKP JWK %v", k)
		}
		return ed25519.PublicKey(x)
	}
	t.Fatalf("unknown kty in %v", k)
	return nil
}

func TestJWKS(t *testing.T) {
	for _, alg := range []string{AlgES256, AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			iss := e.issuer(t, alg)
			raw := iss.JWKS()
			for _, private := range []string{`"d"`, `"p"`, `"q"`} {
				if bytes.Contains(raw, []byte(private)) {
					t.Fatalf("JWKS has a private member %s: %s", private, raw)
				}
			}
			set := parseJWKS(t, raw)
			if len(set.Keys) != 1 {
				t.Fatalf("JWKS = %s", raw)
			}
			k := set.Keys[0]
			if k["kid"] != iss.SigningKeyID() || k["alg"] != alg || k["use"] != "sig" {
				t.Fatalf("JWK = %v", k)
			}
			pub := publicKeyFromJWK(t, k)
			stored, _ := x509.ParsePKIXPublicKey(e.store.key(k["kid"]).Public)
			if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(stored) {
				t.Fatal("JWK is not the stored public key")
			}

			// A business service verifies our token with nothing but the JWKS.
			tok, _, _ := iss.Issue("usr_1", "ses_1", "wxapp1")
			parsed, err := jwt.Parse(tok, func(t *jwt.Token) (any, error) { return pub, nil },
				jwt.WithValidMethods([]string{alg}), jwt.WithIssuer("wxlogin-test"), jwt.WithAudience("wxapp1"),
				jwt.WithTimeFunc(e.clock.Now))
			if err != nil || !parsed.Valid {
				t.Fatalf("token does not verify with the JWKS key: %v", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	e := newEnv(t)
	iss := e.issuer(t, AlgES256)
	ctx := context.Background()
	oldKid := iss.SigningKeyID()
	oldTok, _, _ := iss.Issue("usr_1", "ses_1", "app")

	e.clock.Advance(10 * time.Minute)
	rotatedAt := e.clock.Now()
	if err := iss.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	newKid := iss.SigningKeyID()
	if newKid == oldKid {
		t.Fatal("Rotate kept the signing key")
	}
	if k := e.store.key(oldKid); !k.RetiredAt.Equal(rotatedAt) {
		t.Fatalf("old key RetiredAt = %v, want %v", k.RetiredAt, rotatedAt)
	}
	if k := e.store.key(newKid); !k.RetiredAt.IsZero() {
		t.Fatal("new key is retired")
	}
	newTok, _, _ := iss.Issue("usr_2", "ses_2", "app")
	if h := decodeSegment(t, strings.Split(newTok, ".")[0]); h["kid"] != newKid {
		t.Fatalf("new token kid = %v, want %s", h["kid"], newKid)
	}
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := iss.Verify(tok); err != nil {
			t.Fatalf("%s token: %v", name, err)
		}
	}
	if got := parseJWKS(t, iss.JWKS()).kids(); len(got) != 2 {
		t.Fatalf("JWKS kids after rotation = %v, want both", got)
	}

	// A token the old key signed just before it retired lives until rotatedAt+TTL: it must verify
	// until then, on this instance and on a fresh one.
	lastOld := forge(t, e.privateKey(t, oldKid), jwt.SigningMethodES256, header(oldKid), claims(rotatedAt, time.Hour))
	e.clock.Advance(time.Hour - time.Minute) // 1 min before the old key's end
	fresh := e.issuer(t, AlgES256)
	for name, i := range map[string]*Issuer{"rotating": iss, "fresh": fresh} {
		if _, err := i.Verify(lastOld); err != nil {
			t.Fatalf("%s issuer rejects the old key's last token before it expired: %v", name, err)
		}
		if got := parseJWKS(t, i.JWKS()).kids(); len(got) != 2 {
			t.Fatalf("%s JWKS = %v, want both keys", name, got)
		}
	}
	if fresh.SigningKeyID() != newKid {
		t.Fatalf("fresh issuer signs with %s, want %s", fresh.SigningKeyID(), newKid)
	}

	// After RetiredAt+TTL (+leeway) the old key is gone from JWKS and verifies nothing, even a
	// token forged with it whose exp is still in the future.
	e.clock.Advance(time.Minute + Leeway + time.Second)
	late := forge(t, e.privateKey(t, oldKid), jwt.SigningMethodES256, header(oldKid), claims(e.clock.Now(), time.Hour))
	for name, i := range map[string]*Issuer{"rotating": iss, "fresh": fresh} {
		if got := parseJWKS(t, i.JWKS()).kids(); len(got) != 1 || got[0] != newKid {
			t.Fatalf("%s JWKS after the old key's end = %v, want [%s]", name, got, newKid)
		}
		if _, err := i.Verify(late); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
			t.Fatalf("%s issuer accepted a token of an expired key: %v", name, err)
		}
		if err := i.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := i.Verify(late); wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED {
			t.Fatalf("%s issuer accepted a token of an expired key after Reload: %v", name, err)
		}
	}
	fresher, _, _ := iss.Issue("usr_3", "ses_3", "app")
	if _, err := fresh.Verify(fresher); err != nil {
		t.Fatal(err)
	}

	// Rotating again chains on: a third key, the second retired.
	if err := iss.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if id := iss.SigningKeyID(); id == newKid || id == oldKid || e.store.count() != 3 {
		t.Fatalf("second rotation: signer %s, %d keys", id, e.store.count())
	}
	if e.store.key(newKid).RetiredAt.IsZero() {
		t.Fatal("second rotation did not retire the second key")
	}
}

func TestReloadPicksUpRotation(t *testing.T) {
	e := newEnv(t)
	a, b := e.issuer(t, AlgES256), e.issuer(t, AlgES256)
	if a.SigningKeyID() != b.SigningKeyID() {
		t.Fatal("two issuers on one store sign with different keys")
	}
	ctx := context.Background()
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if b.SigningKeyID() == a.SigningKeyID() {
		t.Fatal("b changed key without Reload")
	}
	tokA, _, _ := a.Issue("usr_1", "ses_1", "app")
	oldB, _, _ := b.Issue("usr_1", "ses_1", "app")
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if b.SigningKeyID() != a.SigningKeyID() {
		t.Fatalf("after Reload b signs with %s, a with %s", b.SigningKeyID(), a.SigningKeyID())
	}
	tokB, _, _ := b.Issue("usr_2", "ses_2", "app")
	for name, tc := range map[string]struct {
		i   *Issuer
		tok string
	}{"b verifies a": {b, tokA}, "a verifies b": {a, tokB}, "a verifies b's pre-reload token": {a, oldB}} {
		if _, err := tc.i.Verify(tc.tok); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if got, want := string(b.JWKS()), string(a.JWKS()); got != want {
		t.Fatalf("JWKS differ after Reload:\n%s\n%s", got, want)
	}
}

func TestConcurrentNewAgree(t *testing.T) {
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t)
			// Hold every creator until all have read the empty store, so all of them try to create.
			var ready sync.WaitGroup
			ready.Add(n)
			e.store.beforeCreate = func() { ready.Done(); ready.Wait() }
			issuers := make([]*Issuer, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for j := range n {
				wg.Go(func() { issuers[j], errs[j] = New(context.Background(), e.opts(AlgES256)) })
			}
			wg.Wait()
			for j, err := range errs {
				if err != nil {
					t.Fatalf("issuer %d: %v", j, err)
				}
			}
			if e.store.count() != 1 {
				t.Fatalf("store has %d keys, want 1", e.store.count())
			}
			for j, i := range issuers {
				if i.SigningKeyID() != issuers[0].SigningKeyID() {
					t.Fatalf("issuer %d signs with %s, issuer 0 with %s", j, i.SigningKeyID(), issuers[0].SigningKeyID())
				}
				tok, _, _ := i.Issue("usr", "ses", "app")
				for _, other := range issuers {
					if _, err := other.Verify(tok); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

func TestConcurrentRotateAgree(t *testing.T) {
	e := newEnv(t)
	a, b := e.issuer(t, AlgEdDSA), e.issuer(t, AlgEdDSA)
	var ready sync.WaitGroup
	ready.Add(2)
	e.store.beforeCreate = func() { ready.Done(); ready.Wait() }
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { errA = a.Rotate(context.Background()) })
	wg.Go(func() { errB = b.Rotate(context.Background()) })
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.SigningKeyID() != b.SigningKeyID() {
		t.Fatalf("after concurrent rotation a signs with %s, b with %s", a.SigningKeyID(), b.SigningKeyID())
	}
	if e.store.count() != 2 {
		t.Fatalf("store has %d keys, want 2", e.store.count())
	}
	signing := 0
	for _, k := range e.store.keys {
		if k.RetiredAt.IsZero() {
			signing++
		}
	}
	if signing != 1 {
		t.Fatalf("%d keys may sign, want 1", signing)
	}
}

func TestOverlappingRotations(t *testing.T) {
	// b rotates in the middle of a's rotation (after a stored its new key, before a retired the
	// old one). The youngest key must end up the only one that signs, not none.
	e := newEnv(t)
	a, b := e.issuer(t, AlgES256), e.issuer(t, AlgES256)
	ctx := context.Background()
	var errB error
	e.store.afterCreate = func(string) {
		e.store.afterCreate = nil
		e.clock.Advance(time.Second)
		errB = b.Rotate(ctx)
	}
	e.clock.Advance(time.Second)
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if errB != nil {
		t.Fatal(errB)
	}
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if e.store.count() != 3 {
		t.Fatalf("store has %d keys, want 3", e.store.count())
	}
	var signing []string
	for _, k := range e.store.keys {
		if k.RetiredAt.IsZero() {
			signing = append(signing, k.ID)
		}
	}
	if len(signing) != 1 || signing[0] != e.store.keys[2].ID {
		t.Fatalf("keys that may sign: %v, want only the youngest %s", signing, e.store.keys[2].ID)
	}
	if a.SigningKeyID() != signing[0] || b.SigningKeyID() != signing[0] {
		t.Fatalf("a signs with %s, b with %s, want %s", a.SigningKeyID(), b.SigningKeyID(), signing[0])
	}
}

func TestVerificationKeyChecksAlg(t *testing.T) {
	// jwt's own key-type checks would also refuse these; this pins our check on its own.
	e := newEnv(t)
	iss := e.issuer(t, AlgES256)
	ks := iss.state.Load()
	kid := iss.SigningKeyID()
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodEdDSA, jwt.SigningMethodES384, jwt.SigningMethodHS256, jwt.SigningMethodRS256} {
		tok := &jwt.Token{Method: m, Header: map[string]any{"alg": m.Alg(), "kid": kid, "typ": "at+jwt"}}
		if key, err := ks.verificationKey(tok, e.clock.Now()); err == nil {
			t.Fatalf("%s on an ES256 key: got key %T", m.Alg(), key)
		}
	}
	tok := &jwt.Token{Method: jwt.SigningMethodES256, Header: map[string]any{"alg": "ES256", "kid": kid, "typ": "at+jwt"}}
	if _, err := ks.verificationKey(tok, e.clock.Now()); err != nil {
		t.Fatalf("control: %v", err)
	}
}

func TestNewAfterAllKeysRetired(t *testing.T) {
	e := newEnv(t)
	iss := e.issuer(t, AlgES256)
	// Retire the only key by hand (an operator's doing); the next instance makes a new one.
	k := e.store.key(iss.SigningKeyID())
	k.RetiredAt = e.clock.Now()
	if err := e.store.UpdateSigningKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	next := e.issuer(t, AlgEdDSA)
	if next.SigningKeyID() == k.ID || e.store.count() != 2 {
		t.Fatalf("signer %s, %d keys", next.SigningKeyID(), e.store.count())
	}
	tok, _, _ := iss.Issue("usr", "ses", "app") // the old instance still signs with the retired key
	if _, err := next.Verify(tok); err != nil {
		t.Fatalf("retired key's token rejected within TTL: %v", err)
	}
}

func TestVerifyDoesNotTouchStore(t *testing.T) {
	e := newEnv(t)
	iss := e.issuer(t, AlgES256)
	e.store.mu.Lock()
	e.store.reads = 0
	e.store.fail = errors.New("store down")
	e.store.mu.Unlock()
	tok, _, err := iss.Issue("usr", "ses", "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Fatal(err)
	}
	iss.Verify("garbage")
	iss.JWKS()
	if e.store.reads != 0 {
		t.Fatalf("hot path read the store %d times", e.store.reads)
	}
	// A failed Reload keeps everything working.
	if err := iss.Reload(context.Background()); err == nil {
		t.Fatal("Reload with a failing store succeeded")
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Fatal(err)
	}
}

// header returns a valid access-token header for kid.
func header(kid string) map[string]any {
	return map[string]any{"kid": kid, "typ": "at+jwt"}
}

// claims returns valid access-token claims issued at iat, living ttl.
func claims(iat time.Time, ttl time.Duration) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "wxlogin-test", "sub": "usr_1", "sid": "ses_1", "aud": "app", "jti": "j1",
		"iat": iat.Unix(), "exp": iat.Add(ttl).Unix(),
	}
}

// forge signs arbitrary header fields and claims with key.
func forge(t *testing.T, key any, m jwt.SigningMethod, h map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	for k, v := range h {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func withHeader(kid, k string, v any) map[string]any {
	h := header(kid)
	h[k] = v
	if v == nil {
		h[k] = nil
	}
	return h
}

// TestAttacks runs the shared attack vectors (internal/jwtattack/attacks.json, which verify's tests
// run too) against an ES256 issuer — with tokens of its current key and of a retired key still
// within its TTL — and an EdDSA issuer: each is refused with EUNAUTHORIZED and one generic message.
func TestAttacks(t *testing.T) {
	vectors, err := jwtattack.Load()
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]bool{}
	for _, alg := range []string{AlgES256, AlgEdDSA} {
		e := newEnv(t)
		iss := e.issuer(t, alg)
		retired := iss.SigningKeyID()
		retiredPriv := e.privateKey(t, retired)
		now := e.clock.Now()
		// Rotate, so that retired is a retired key still within its TTL and issued tokens are signed
		// by the new one.
		if err := iss.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
		valid, _, _ := iss.Issue("usr_1", "ses_1", "app")
		var m jwt.SigningMethod = jwt.SigningMethodES256
		if alg == AlgEdDSA {
			m = jwt.SigningMethodEdDSA
		}
		bases := map[string]jwtattack.Base{
			"current key": {Token: valid, Key: e.privateKey(t, iss.SigningKeyID()), JWKS: iss.JWKS(), Now: now},
			"retired key": {Token: forge(t, retiredPriv, m, header(retired), claims(now, time.Hour)), Key: retiredPriv, JWKS: iss.JWKS(), Now: now},
		}
		for bname, base := range bases {
			t.Run(alg+"/"+bname, func(t *testing.T) {
				b, err := jwtattack.NewBuilder(base)
				if err != nil {
					t.Fatal(err)
				}
				// The control: the builder's unchanged token is accepted, so each vector below is
				// refused for the reason it names.
				control, err := b.Build(jwtattack.Vector{Name: "control"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := iss.Verify(control); err != nil {
					t.Fatalf("control token rejected: %v", err)
				}
				ran := 0
				for _, v := range vectors {
					if !b.Applies(v) {
						continue
					}
					tok, err := b.Build(v)
					if err != nil {
						t.Fatal(err)
					}
					ran++
					t.Run(v.Name, func(t *testing.T) {
						c, err := iss.Verify(tok)
						if wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED || c != nil {
							t.Fatalf("Verify = %+v, %v; want EUNAUTHORIZED", c, err)
						}
						msgs[wxlogin.ErrorMessage(err)] = true
					})
				}
				if ran < len(vectors)-3 {
					t.Fatalf("ran %d of %d vectors", ran, len(vectors))
				}
				if _, err := iss.Verify(base.Token); err != nil {
					t.Fatalf("valid token rejected after the attacks: %v", err)
				}
			})
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("Verify gives %d different messages (%v); want one generic message", len(msgs), msgs)
	}
}

func TestRefreshToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, hash := NewRefreshToken()
		s := tok.Reveal()
		if len(s) != 43 || strings.ContainsAny(s, "+/=") {
			t.Fatalf("token %q is not 43 chars of unpadded base64url", s)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token decodes to %d bytes, %v", len(raw), err)
		}
		if seen[s] {
			t.Fatal("repeated refresh token")
		}
		seen[s] = true
		if hash != HashRefreshToken(s) || len(hash) != 64 || hash == s {
			t.Fatalf("hash %q", hash)
		}
		if fmt.Sprint(tok) == s || fmt.Sprintf("%v %+v %#v", tok, tok, tok) != "[redacted] [redacted] [redacted]" {
			t.Fatal("refresh token prints")
		}
	}
	// Entropy, roughly: across all tokens every base64url character appears, evenly.
	counts := map[rune]int{}
	for s := range seen {
		for _, r := range s[:42] { // the last char carries only 4 bits
			counts[r]++
		}
	}
	if len(counts) != 64 {
		t.Fatalf("only %d distinct characters in 1000 tokens", len(counts))
	}
	for r, n := range counts {
		if n < 400 || n > 950 { // expected 42000/64 ≈ 656
			t.Fatalf("character %q appears %d times", r, n)
		}
	}
	// Known answer: sha256("abc").
	if got := HashRefreshToken("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashRefreshToken(abc) = %s", got)
	}
}

func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	iss := e.issuer(f, AlgES256)
	valid, _, _ := iss.Issue("usr", "ses", "app")
	f.Add(valid)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := iss.Verify(tok)
		if err != nil {
			if wxlogin.ErrorCode(err) != wxlogin.EUNAUTHORIZED || c != nil {
				t.Fatalf("Verify = %v, %v", c, err)
			}
			return
		}
		if c.UserID != "usr" || c.SessionID != "ses" {
			t.Fatalf("Verify accepted a forged token: %+v", c)
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range []string{AlgES256, AlgEdDSA} {
		b.Run(alg, func(b *testing.B) {
			iss := newEnv(b).issuer(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := iss.Issue("usr_0123456789abcdef", "ses_0123456789abcdef", "wx1234567890abcdef"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{AlgES256, AlgEdDSA} {
		b.Run(alg, func(b *testing.B) {
			iss := newEnv(b).issuer(b, alg)
			tok, _, _ := iss.Issue("usr_0123456789abcdef", "ses_0123456789abcdef", "wx1234567890abcdef")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
