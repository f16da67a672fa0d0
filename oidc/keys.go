package oidc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
)

// keys signs ID tokens with the key token.Issuer signs access tokens with (the one the JWKS
// publishes) and verifies id_token_hints against the JWKS. token.Issuer keeps its private key to
// itself, so keys opens the same stored key with the same sealer (additional data
// token.PrivateKeyAD). When token/ grows a method that signs arbitrary claims, this goes.
type keys struct {
	issuer *token.Issuer
	store  token.KeyStore
	sealer wxlogin.Sealer

	mu  sync.Mutex
	cur *signingKey // the opened key whose id the issuer signs with
}

// signingKey implements op.SigningKey.
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// signingKey returns the opened key token.Issuer signs with now, opening it when it changed.
func (k *keys) signingKey(ctx context.Context) (*signingKey, error) {
	kid := k.issuer.SigningKeyID()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != nil && k.cur.id == kid {
		return k.cur, nil
	}
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc: loading signing keys: %w", err)
	}
	for _, sk := range stored {
		if sk.ID != kid {
			continue
		}
		opened, err := openKey(sk, k.sealer)
		if err != nil {
			return nil, err
		}
		k.cur = opened
		return opened, nil
	}
	return nil, fmt.Errorf("oidc: signing key %s is not in the store", kid)
}

// openKey unseals sk's private half and checks it is the public half's and fits the algorithm.
func openKey(sk *wxlogin.SigningKey, sealer wxlogin.Sealer) (*signingKey, error) {
	fail := fmt.Errorf("oidc: signing key %s cannot be opened (is the keyring right?)", sk.ID)
	der, err := sealer.Open(sk.Private, token.PrivateKeyAD(sk.ID))
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
	if err != nil || !bytes.Equal(pub, sk.Public) {
		return nil, fail
	}
	switch priv.(type) {
	case *ecdsa.PrivateKey:
		if sk.Algorithm != token.AlgES256 {
			return nil, fail
		}
		return &signingKey{id: sk.ID, alg: jose.ES256, key: priv}, nil
	case ed25519.PrivateKey:
		if sk.Algorithm != token.AlgEdDSA {
			return nil, fail
		}
		return &signingKey{id: sk.ID, alg: jose.EdDSA, key: priv}, nil
	}
	return nil, fail
}

// keySet returns the keys of the JWKS token.Issuer publishes.
func (k *keys) keySet() ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(k.issuer.JWKS(), &set); err != nil {
		return nil, fmt.Errorf("oidc: parsing the JWKS: %w", err)
	}
	return set.Keys, nil
}

// VerifySignature implements oidc.KeySet: it verifies jws with the published key its kid names,
// only when the token's alg is that key's (so "none", HS256 and every confusion fail).
func (k *keys) VerifySignature(_ context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: want exactly one signature")
	}
	h := jws.Signatures[0].Header
	set, err := k.keySet()
	if err != nil {
		return nil, err
	}
	for _, key := range set {
		if key.KeyID == h.KeyID && key.Algorithm == h.Algorithm && (key.Algorithm == string(jose.ES256) || key.Algorithm == string(jose.EdDSA)) {
			return jws.Verify(key)
		}
	}
	return nil, errors.New("oidc: no published key for the token's kid and alg")
}

// opKeys returns the JWKS as op.Keys (for op's Storage.KeySet).
func (k *keys) opKeys() ([]op.Key, error) {
	set, err := k.keySet()
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(set))
	for i, key := range set {
		out[i] = opKey{key}
	}
	return out, nil
}

type opKey struct{ k jose.JSONWebKey }

func (o opKey) ID() string                         { return o.k.KeyID }
func (o opKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(o.k.Algorithm) }
func (o opKey) Use() string                        { return o.k.Use }
func (o opKey) Key() any                           { return o.k.Key }
