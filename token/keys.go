package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wxlogin/wxlogin"
)

// Signing algorithms.
const (
	AlgES256 = "ES256" // ECDSA P-256 with SHA-256
	AlgEdDSA = "EdDSA" // Ed25519
)

var methods = map[string]jwt.SigningMethod{
	AlgES256: jwt.SigningMethodES256,
	AlgEdDSA: jwt.SigningMethodEdDSA,
}

// keySet is an immutable snapshot of the keys an Issuer uses.
type keySet struct {
	signer *signer
	verify map[string]*publicKey // by kid
	list   []*publicKey          // store order (oldest first), for JWKS
}

type signer struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer // *ecdsa.PrivateKey or ed25519.PrivateKey
}

type publicKey struct {
	kid   string
	alg   string
	key   any       // *ecdsa.PublicKey or ed25519.PublicKey
	until time.Time // zero while the key may sign; else RetiredAt+TTL
	jwk   []byte    // its JWKS entry
}

// verifies reports whether the key still verifies tokens at now.
func (k *publicKey) verifies(now time.Time) bool {
	return k.until.IsZero() || !now.After(k.until.Add(Leeway))
}

// JWKS returns the JSON Web Key Set ({"keys":[...]}) of every key that still verifies tokens: the
// one that signs and the retired ones whose tokens may not have expired yet.
func (i *Issuer) JWKS() []byte {
	ks, now := i.state.Load(), i.now()
	var b bytes.Buffer
	b.WriteString(`{"keys":[`)
	n := 0
	for _, k := range ks.list {
		if !k.verifies(now) {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(k.jwk)
		n++
	}
	b.WriteString("]}")
	return b.Bytes()
}

// SigningKeyID returns the kid of the key that signs new tokens.
func (i *Issuer) SigningKeyID() string { return i.state.Load().signer.kid }

// Reload reads the keys from the store again, picking up keys created or retired by other
// instances. It returns an error when the store fails or the key that should sign cannot be
// opened; the keys it could read still verify, and the previous signing key keeps signing.
func (i *Issuer) Reload(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	_, err := i.load(ctx)
	return err
}

// Rotate makes a new key sign from now on and retires the previous one, which keeps verifying
// until RetiredAt+TTL so no token is cut short. Instances rotating at the same moment agree on one
// new key. Other instances sign with the new key after their next Reload. It returns an error when
// the store fails.
func (i *Issuer) Rotate(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	keys, err := i.load(ctx)
	if err != nil && keys == nil {
		return err
	}
	base := newestID(keys)
	if s := i.state.Load(); s != nil && s.signer != nil {
		base = s.signer.kid
	}
	newID, err := i.createNext(ctx, base, keys)
	if err != nil {
		return err
	}
	// Retire the keys older than the new one that may still sign. The new key was stored first,
	// so some key can always sign, whatever happens between the two steps. Younger keys are left
	// alone: they come from a rotation that overlapped this one, and the youngest should win.
	now := i.now()
	keys, err = i.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: loading signing keys: %w", err)
	}
	var created time.Time
	for _, k := range keys {
		if k.ID == newID {
			created = k.CreatedAt
		}
	}
	for _, k := range keys {
		if k.ID != newID && k.RetiredAt.IsZero() && !k.CreatedAt.After(created) {
			k.RetiredAt = now
			if err := i.store.UpdateSigningKey(ctx, k); err != nil {
				return fmt.Errorf("token: retiring signing key %s: %w", k.ID, err)
			}
		}
	}
	_, err = i.load(ctx)
	return err
}

// ensureSigner loads the keys and, when none may sign, creates one. i.mu must be held.
func (i *Issuer) ensureSigner(ctx context.Context) error {
	keys, err := i.load(ctx)
	if err != nil {
		return err
	}
	if i.state.Load().signer != nil {
		return nil
	}
	if _, err := i.createNext(ctx, newestID(keys), keys); err != nil {
		return err
	}
	if _, err := i.load(ctx); err != nil {
		return err
	}
	if i.state.Load().signer == nil {
		return errors.New("token: no signing key after creating one")
	}
	return nil
}

// createNext stores a new key whose id derives from base. Ids are derived, not random, so that
// instances doing the same thing at the same time (starting on an empty store, rotating the same
// key) compute the same id and the store's unique id lets exactly one of them win; the others get
// ECONFLICT and adopt the winner's key. When the derived id is taken by a key that cannot sign (an
// old retired one), it walks on along the chain. It returns the id of the key that now signs.
func (i *Issuer) createNext(ctx context.Context, base string, keys []*wxlogin.SigningKey) (string, error) {
	taken := make(map[string]*wxlogin.SigningKey, len(keys))
	for _, k := range keys {
		taken[k.ID] = k
	}
	id := base
	for attempt := 0; attempt < 16; attempt++ {
		id = i.nextID(id)
		if k, ok := taken[id]; ok && !k.RetiredAt.IsZero() {
			continue
		}
		k, err := generate(id, i.alg, i.sealer, i.now())
		if err != nil {
			return "", err
		}
		err = i.store.CreateSigningKey(ctx, k)
		if err == nil {
			return id, nil
		}
		if wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
			return "", fmt.Errorf("token: storing signing key: %w", err)
		}
		// Someone else stored this id first. Adopt it if it may sign, else walk on.
		keys, err := i.store.SigningKeys(ctx)
		if err != nil {
			return "", fmt.Errorf("token: loading signing keys: %w", err)
		}
		for _, k := range keys {
			taken[k.ID] = k
		}
		if k, ok := taken[id]; ok && k.RetiredAt.IsZero() {
			return id, nil
		}
	}
	return "", errors.New("token: could not find a free signing key id")
}

// deploymentSeeder is a Sealer that tells deployments apart (keyring.Keyring): the same value in
// every instance sharing the data keys, another under other data keys.
type deploymentSeeder interface{ DeploymentSeed() []byte }

// nextID returns the id of the key that follows prev ("" for the first key of a store). Instances
// of one deployment compute the same id; the data keys' seed makes it differ between deployments,
// so two deployments (a dev stack and a server, say) never publish the same kid to a gateway that
// caches JWKS by kid. Stored keys keep the id they were stored with.
func (i *Issuer) nextID(prev string) string {
	var seed []byte
	if d, ok := i.sealer.(deploymentSeeder); ok {
		seed = d.DeploymentSeed()
	}
	h := sha256.Sum256([]byte("wxlogin signing key\x00" + i.iss + "\x00" + prev + "\x00" + hex.EncodeToString(seed)))
	return "key_" + hex.EncodeToString(h[:13])
}

// newestID returns the id of the most recently created key, "" when there is none.
func newestID(keys []*wxlogin.SigningKey) string {
	var newest *wxlogin.SigningKey
	for _, k := range keys {
		if newest == nil || !k.CreatedAt.Before(newest.CreatedAt) {
			newest = k
		}
	}
	if newest == nil {
		return ""
	}
	return newest.ID
}

// load reads the keys from the store and installs a new key set. The signer is the newest key
// that is not retired; when there is none, the previous signer stays (nil on the first load).
// It returns the keys read, and an error when the store fails (nil keys) or the signer cannot be
// opened (keys and the new verification keys installed, old signer kept).
func (i *Issuer) load(ctx context.Context) ([]*wxlogin.SigningKey, error) {
	keys, err := i.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: loading signing keys: %w", err)
	}
	now := i.now()
	prev := i.state.Load()
	ks := &keySet{verify: make(map[string]*publicKey, len(keys))}
	var newest *wxlogin.SigningKey
	for _, k := range keys {
		pk, err := parsePublic(k, i.ttl)
		if err != nil {
			continue // not a key this version understands; it cannot sign or verify
		}
		if !pk.verifies(now) {
			continue
		}
		ks.verify[pk.kid] = pk
		ks.list = append(ks.list, pk)
		if k.RetiredAt.IsZero() && (newest == nil || !k.CreatedAt.Before(newest.CreatedAt)) {
			newest = k
		}
	}
	var openErr error
	switch {
	case newest != nil && prev != nil && prev.signer != nil && prev.signer.kid == newest.ID:
		ks.signer = prev.signer
	case newest != nil:
		ks.signer, openErr = openSigner(newest, i.sealer)
	}
	if ks.signer == nil && prev != nil {
		ks.signer = prev.signer
		if ks.signer != nil {
			// Keep verifying what the old signer signs, even if the store no longer lists it.
			if pk, ok := prev.verify[ks.signer.kid]; ok {
				if _, dup := ks.verify[pk.kid]; !dup {
					ks.verify[pk.kid] = pk
					ks.list = append(ks.list, pk)
				}
			}
		}
	}
	if ks.signer != nil || prev == nil {
		i.state.Store(ks)
	}
	return keys, openErr
}

// PrivateKeyAD returns the additional data the private half of signing key kid is sealed with
// (the key id), so a sealed private key copied to another row does not open.
func PrivateKeyAD(kid string) []byte { return []byte(kid) }

// generate returns a new stored key with id and alg, its private half sealed.
func generate(id, alg string, sealer wxlogin.Sealer, now time.Time) (*wxlogin.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("token: generating key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("token: encoding key: %w", err)
	}
	sealed, err := sealer.Seal(der, PrivateKeyAD(id))
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("token: sealing key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("token: encoding public key: %w", err)
	}
	return &wxlogin.SigningKey{ID: id, Algorithm: alg, Private: sealed, Public: pub, CreatedAt: now}, nil
}

// openSigner unseals k's private key and checks it matches k's public key.
func openSigner(k *wxlogin.SigningKey, sealer wxlogin.Sealer) (*signer, error) {
	fail := fmt.Errorf("token: signing key %s cannot be opened (is the keyring right?)", k.ID)
	method, ok := methods[k.Algorithm]
	if !ok {
		return nil, fail
	}
	der, err := sealer.Open(k.Private, PrivateKeyAD(k.ID))
	if err != nil {
		return nil, fail
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fail
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fail
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil || !bytes.Equal(pub, k.Public) {
		return nil, fail
	}
	switch priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Algorithm != AlgES256 {
			return nil, fail
		}
	case ed25519.PrivateKey:
		if k.Algorithm != AlgEdDSA {
			return nil, fail
		}
	default:
		return nil, fail
	}
	return &signer{kid: k.ID, method: method, key: priv}, nil
}

// parsePublic returns k's public key with its JWKS entry, checking it fits k's algorithm.
func parsePublic(k *wxlogin.SigningKey, ttl time.Duration) (*publicKey, error) {
	parsed, err := x509.ParsePKIXPublicKey(k.Public)
	if err != nil {
		return nil, err
	}
	pk := &publicKey{kid: k.ID, alg: k.Algorithm, key: parsed}
	if !k.RetiredAt.IsZero() {
		pk.until = k.RetiredAt.Add(ttl)
	}
	jwk := map[string]string{"kid": k.ID, "alg": k.Algorithm, "use": "sig"}
	switch pub := parsed.(type) {
	case *ecdsa.PublicKey:
		if k.Algorithm != AlgES256 || pub.Curve != elliptic.P256() {
			return nil, errors.New("key does not fit its algorithm")
		}
		point, err := pub.Bytes() // 0x04 | X (32 bytes) | Y (32 bytes)
		if err != nil {
			return nil, err
		}
		jwk["kty"], jwk["crv"] = "EC", "P-256"
		jwk["x"] = base64.RawURLEncoding.EncodeToString(point[1:33])
		jwk["y"] = base64.RawURLEncoding.EncodeToString(point[33:])
	case ed25519.PublicKey:
		if k.Algorithm != AlgEdDSA {
			return nil, errors.New("key does not fit its algorithm")
		}
		jwk["kty"], jwk["crv"] = "OKP", "Ed25519"
		jwk["x"] = base64.RawURLEncoding.EncodeToString(pub)
	default:
		return nil, errors.New("unsupported key type")
	}
	if pk.jwk, err = json.Marshal(jwk); err != nil {
		return nil, err
	}
	return pk, nil
}
