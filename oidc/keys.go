package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/wxlogin/wxlogin/token"
)

// keys gives the provider the keys of the JWKS token.Issuer publishes (whose current key signs ID
// tokens, through token.Issuer.SignClaims) and verifies id_token_hints against them.
type keys struct {
	issuer *token.Issuer
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
