package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// SignClaims returns a JWT (header alg, kid and typ "JWT") of the JSON of the value claims returns,
// signed with the current signing key, the one the JWKS publishes and access tokens are signed with.
// claims is called once with that key's algorithm (AlgES256 or AlgEdDSA), for claims that depend on
// it (an ID token's at_hash). It returns claims' error, or an error (internal) when encoding or
// signing fails.
func (i *Issuer) SignClaims(claims func(alg string) (any, error)) (string, error) {
	s := i.state.Load().signer
	v, err := claims(s.method.Alg())
	if err != nil {
		return "", err
	}
	header, err := json.Marshal(map[string]string{"alg": s.method.Alg(), "kid": s.kid, "typ": "JWT"})
	if err != nil {
		return "", fmt.Errorf("token: encoding header: %w", err)
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("token: encoding claims: %w", err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sig, err := s.method.Sign(signing, s.key)
	if err != nil {
		return "", fmt.Errorf("token: signing with key %s: %w", s.kid, err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
