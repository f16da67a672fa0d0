package verify_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/jwtattack"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/verify"
)

// memKeys is an in-memory token.KeyStore.
type memKeys struct {
	mu   sync.Mutex
	keys []*wxlogin.SigningKey
}

func (s *memKeys) SigningKeys(context.Context) ([]*wxlogin.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*wxlogin.SigningKey, len(s.keys))
	for i, k := range s.keys {
		c := *k
		out[i] = &c
	}
	return out, nil
}

func (s *memKeys) CreateSigningKey(_ context.Context, k *wxlogin.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.keys {
		if old.ID == k.ID {
			return wxlogin.Errorf(wxlogin.ECONFLICT, "exists")
		}
	}
	c := *k
	s.keys = append(s.keys, &c)
	return nil
}

func (s *memKeys) UpdateSigningKey(_ context.Context, k *wxlogin.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.keys {
		if old.ID == k.ID {
			c := *k
			s.keys[i] = &c
			return nil
		}
	}
	return wxlogin.Errorf(wxlogin.ENOTFOUND, "no key")
}

// clock is a settable clock shared by the issuer and the verifier.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type env struct {
	issuer *token.Issuer
	keys   *memKeys
	ring   *keyring.Keyring
	clock  *clock
	srv    *httptest.Server
	served atomic.Pointer[token.Issuer] // whose JWKS the server publishes
}

const appID = "wxbench0000000001"

func newEnv(t testing.TB, alg string) *env {
	t.Helper()
	k, err := keyring.Generate("t1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: newClock(), keys: &memKeys{}, ring: ring}
	e.issuer, err = token.New(context.Background(), token.Options{Keys: e.keys, Sealer: ring, Issuer: "wxlogin-test",
		TTL: time.Hour, Algorithm: alg, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.served.Store(e.issuer)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(e.served.Load().JWKS())
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) verifier(t testing.TB, mod func(*verify.Options)) *verify.Verifier {
	t.Helper()
	o := verify.Options{JWKSURL: e.srv.URL + "/.well-known/jwks.json", Issuer: "wxlogin-test", Audiences: []string{appID},
		HTTPClient: e.srv.Client(), Now: e.clock.Now}
	if mod != nil {
		mod(&o)
	}
	v, err := verify.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) issue(t testing.TB, aud string) string {
	t.Helper()
	tok, _, err := e.issuer.Issue("usr_1", "ses_1", aud)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyRealTokens(t *testing.T) {
	for _, alg := range []string{token.AlgES256, token.AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, alg)
			v := e.verifier(t, nil)
			tok := e.issue(t, appID)
			for range 2 { // cold, then from the cache
				c, err := v.Verify(context.Background(), tok)
				if err != nil {
					t.Fatal(err)
				}
				if c.UserID != "usr_1" || c.SessionID != "ses_1" || c.Audience != appID || c.ID == "" ||
					c.KeyID != e.issuer.SigningKeyID() || !c.ExpiresAt.Equal(e.clock.Now().Truncate(time.Second).Add(time.Hour)) {
					t.Fatalf("claims %+v", c)
				}
				c.UserID = "changed" // callers get copies: the cache is not theirs to change
			}
		})
	}
}

// forge returns header.payload.signature with the given parts, signed by sign (nil: empty signature).
func forge(h, p map[string]any, sign func(signed string) []byte) string {
	hb, _ := json.Marshal(h)
	pb, _ := json.Marshal(p)
	s := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(pb)
	var sig []byte
	if sign != nil {
		sig = sign(s)
	}
	return s + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func parts(t *testing.T, tok string) (h, p map[string]any, sig string) {
	t.Helper()
	seg := strings.Split(tok, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(seg[0])
	pb, _ := base64.RawURLEncoding.DecodeString(seg[1])
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(pb, &p); err != nil {
		t.Fatal(err)
	}
	return h, p, seg[2]
}

// privateKey opens the issuer's current private key, as an attacker who stole it (or a test) would.
func (e *env) privateKey(t testing.TB) crypto.Signer {
	t.Helper()
	kid := e.issuer.SigningKeyID()
	ks, _ := e.keys.SigningKeys(context.Background())
	for _, k := range ks {
		if k.ID == kid {
			der, err := e.ring.Open(k.Private, []byte(kid))
			if err != nil {
				t.Fatal(err)
			}
			p, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatal(err)
			}
			return p.(crypto.Signer)
		}
	}
	t.Fatalf("no key %s", kid)
	return nil
}

// TestVerifyAttacks runs the shared attack vectors (internal/jwtattack/attacks.json, which token's
// tests run too) against ES256 and EdDSA keys, then the cases only this verifier's API has.
func TestVerifyAttacks(t *testing.T) {
	vectors, err := jwtattack.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{token.AlgES256, token.AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, alg)
			v := e.verifier(t, nil)
			good := e.issue(t, appID)
			b, err := jwtattack.NewBuilder(jwtattack.Base{Token: good, Key: e.privateKey(t), JWKS: e.issuer.JWKS(), Now: e.clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			// The control: the builder's unchanged token verifies (with the cache off, so every
			// vector below is checked from scratch and refused for the reason it names).
			cold := e.verifier(t, func(o *verify.Options) { o.CacheSize = -1 })
			control, err := b.Build(jwtattack.Vector{Name: "control"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cold.Verify(context.Background(), control); err != nil {
				t.Fatalf("control token rejected: %v", err)
			}
			if _, err := v.Verify(context.Background(), good); err != nil { // now cached
				t.Fatal(err)
			}
			for _, vec := range vectors {
				if !b.Applies(vec) {
					continue
				}
				tok, err := b.Build(vec)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(vec.Name, func(t *testing.T) {
					for name, ver := range map[string]*verify.Verifier{"cached": v, "uncached": cold} {
						c, err := ver.Verify(context.Background(), tok)
						if err == nil || !errors.Is(err, verify.ErrInvalid) || c != nil {
							t.Fatalf("%s: accepted (%v, %v)", name, c, err)
						}
						if tok != "" && strings.Contains(err.Error(), tok) {
							t.Fatalf("%s: error repeats the token", name)
						}
					}
				})
			}
			// The good token still works after all that (nothing poisoned the cache or the keys).
			if _, err := v.Verify(context.Background(), good); err != nil {
				t.Fatal(err)
			}
		})
	}

	// Audiences and the configured issuer are this verifier's options; token.Issuer has neither.
	e := newEnv(t, token.AlgES256)
	v := e.verifier(t, nil)
	good := e.issue(t, appID)
	for name, tok := range map[string]string{
		"wrong audience":   e.issue(t, "wxsomeoneelse00001"),
		"default audience": e.issue(t, ""),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tok)
			if err == nil || !errors.Is(err, verify.ErrInvalid) || c != nil {
				t.Fatalf("accepted (%v, %v)", c, err)
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatal("error repeats the token")
			}
		})
	}

	// Wrong issuer: a real issuer with another name, sharing nothing.
	t.Run("wrong issuer", func(t *testing.T) {
		v2 := e.verifier(t, func(o *verify.Options) { o.Issuer = "someone-else" })
		if _, err := v2.Verify(context.Background(), good); err == nil {
			t.Fatal("accepted a token of another issuer")
		}
	})
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyExpiry(t *testing.T) {
	e := newEnv(t, token.AlgEdDSA)
	v := e.verifier(t, nil)
	tok := e.issue(t, appID)
	if _, err := v.Verify(context.Background(), tok); err != nil { // now cached
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour + 3*time.Second) // within the leeway
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	e.clock.Advance(5 * time.Second)
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("expired token accepted from the cache")
	}
	v2 := e.verifier(t, func(o *verify.Options) { o.CacheSize = -1 })
	if _, err := v2.Verify(context.Background(), tok); err == nil {
		t.Fatal("expired token accepted")
	}

	// A token issued in the future (a clock far ahead at the issuer) is refused.
	e.clock.Advance(time.Minute)
	future := e.issue(t, appID)
	e.clock.Advance(-time.Minute)
	if _, err := v2.Verify(context.Background(), future); err == nil {
		t.Fatal("token issued a minute in the future accepted")
	}
}

func TestUnknownKidRefetchesAtMostOncePerInterval(t *testing.T) {
	e := newEnv(t, token.AlgES256)
	v := e.verifier(t, func(o *verify.Options) { o.RefetchInterval = time.Minute })
	if v.Fetches() != 1 {
		t.Fatalf("fetches after New = %d", v.Fetches())
	}
	h, p, sig := parts(t, e.issue(t, appID))
	h["kid"] = "key_unknown"
	bad := forge(h, p, func(string) []byte { b, _ := base64.RawURLEncoding.DecodeString(sig); return b })
	for range 50 {
		if _, err := v.Verify(context.Background(), bad); err == nil {
			t.Fatal("accepted")
		}
	}
	if v.Fetches() != 1 {
		t.Fatalf("unknown kids within the interval fetched the JWKS %d times", v.Fetches()-1)
	}

	// A rotation: the new key's tokens make the verifier refetch once the interval has passed.
	if err := e.issuer.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, appID)
	if _, err := v.Verify(context.Background(), fresh); err == nil {
		t.Fatal("a new kid was fetched before the interval passed")
	}
	e.clock.Advance(time.Minute)
	if _, err := v.Verify(context.Background(), fresh); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if v.Fetches() != 2 {
		t.Fatalf("fetches = %d, want 2", v.Fetches())
	}
	for range 20 { // the garbage kid again: the interval starts over
		v.Verify(context.Background(), bad)
	}
	if v.Fetches() != 2 {
		t.Fatalf("fetches = %d, want 2", v.Fetches())
	}
}

func TestWithdrawnKeyStopsVerifying(t *testing.T) {
	// A key set older than MaxKeyAge is fetched again; a token whose key is gone is refused even
	// when it was cached.
	e := newEnv(t, token.AlgES256)
	v := e.verifier(t, func(o *verify.Options) { o.MaxKeyAge = time.Minute })
	tok := e.issue(t, appID)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	// The JWKS server now publishes a different issuer's keys only.
	other := newEnv(t, token.AlgES256)
	e.served.Store(other.issuer)
	e.clock.Advance(2 * time.Minute)
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("token of a withdrawn key accepted")
	}
}

func TestNewErrors(t *testing.T) {
	e := newEnv(t, token.AlgES256)
	ctx := context.Background()
	for name, o := range map[string]verify.Options{
		"no url":       {Issuer: "i", Audiences: []string{"a"}},
		"no issuer":    {JWKSURL: e.srv.URL, Audiences: []string{"a"}},
		"no audiences": {JWKSURL: e.srv.URL, Issuer: "i"},
		"bad url":      {JWKSURL: "http://127.0.0.1:1/jwks", Issuer: "i", Audiences: []string{"a"}},
	} {
		if _, err := verify.New(ctx, o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }))
	defer empty.Close()
	if _, err := verify.New(ctx, verify.Options{JWKSURL: empty.URL, Issuer: "i", Audiences: []string{"a"}}); err == nil {
		t.Error("empty JWKS accepted")
	}
}

func TestCacheIsBounded(t *testing.T) {
	e := newEnv(t, token.AlgEdDSA)
	v := e.verifier(t, func(o *verify.Options) { o.CacheSize = 32 })
	var toks []string
	for range 200 {
		toks = append(toks, e.issue(t, appID))
	}
	for _, tok := range toks {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range toks { // evicted ones verify again from scratch
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B, alg string, cacheSize int) {
	e := newEnv(b, alg)
	v := e.verifier(b, func(o *verify.Options) { o.CacheSize = cacheSize })
	tok := e.issue(b, appID)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCold verifies the signature and claims every time (no cache).
func BenchmarkVerifyCold(b *testing.B) {
	b.Run("ES256", func(b *testing.B) { benchVerify(b, token.AlgES256, -1) })
	b.Run("EdDSA", func(b *testing.B) { benchVerify(b, token.AlgEdDSA, -1) })
}

// BenchmarkVerifyCached verifies a token seen before: a SHA-256 and a map lookup.
func BenchmarkVerifyCached(b *testing.B) {
	b.Run("ES256", func(b *testing.B) { benchVerify(b, token.AlgES256, 0) })
}

// BenchmarkVerifyCachedParallel is the cached check from every core at once.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	e := newEnv(b, token.AlgES256)
	v := e.verifier(b, nil)
	var toks []string
	for range 64 {
		toks = append(toks, e.issue(b, appID))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(context.Background(), toks[i%len(toks)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
