package jwtattack

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

// The union of the attack cases of token/TestAttacks (60), token/TestEdDSAAlgConfusion (4) and
// verify/TestVerifyAttacks (17, besides its two audience cases, which only verify's API has) before
// they became one set, and the vectors they became. The set may grow; it must not shrink.
const (
	minFrom    = 60 + 4 + 17
	minVectors = 73
)

func TestNoVectorLost(t *testing.T) {
	vs, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < minVectors {
		t.Fatalf("attacks.json holds %d vectors, fewer than the %d it held: a vector was lost", len(vs), minVectors)
	}
	from := map[string]string{}
	for _, v := range vs {
		for _, f := range v.From {
			if other, ok := from[f]; ok {
				t.Errorf("%q is claimed by both %q and %q", f, other, v.Name)
			}
			from[f] = v.Name
		}
	}
	if len(from) < minFrom {
		t.Fatalf("attacks.json carries %d of the %d original cases", len(from), minFrom)
	}
}

// testBase returns a base of a valid token (without the verifier-specific bits) signed by key.
func testBase(t *testing.T, key crypto.Signer, alg string) Base {
	t.Helper()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","kid":"k1","typ":"at+jwt"}`))
	c, _ := json.Marshal(map[string]any{"iss": "i", "sub": "usr_1", "sid": "ses_1", "aud": "app", "jti": "j",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	in := h + "." + base64.RawURLEncoding.EncodeToString(c)
	sig, err := signWith(key, in)
	if err != nil {
		t.Fatal(err)
	}
	return Base{Token: in + "." + base64.RawURLEncoding.EncodeToString(sig), Key: key, JWKS: []byte(`{"keys":[{"kid":"k1","x":"abc"}]}`), Now: now}
}

// verifies reports whether tok is three segments whose signature the base key made.
func verifies(key crypto.Signer, tok string) bool {
	seg := strings.Split(tok, ".")
	if len(seg) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(seg[2])
	if err != nil {
		return false
	}
	in := []byte(seg[0] + "." + seg[1])
	switch k := key.Public().(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(in)
		return len(sig) == 64 && ecdsa.Verify(k, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case ed25519.PublicKey:
		return ed25519.Verify(k, in, sig)
	}
	return false
}

func TestBuild(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	vs, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{{"ES256", ec}, {"EdDSA", ed}} {
		b, err := NewBuilder(testBase(t, tc.key, tc.alg))
		if err != nil {
			t.Fatal(err)
		}
		if b.Alg() != tc.alg {
			t.Fatalf("Alg = %s", b.Alg())
		}
		// The control: no change, signed by the key, is the base token's twin.
		control, err := b.Build(Vector{Name: "control"})
		if err != nil || !verifies(tc.key, control) {
			t.Fatalf("%s: control %q does not verify (%v)", tc.alg, control, err)
		}
		seen := map[string]string{}
		for _, v := range vs {
			if !b.Applies(v) {
				continue
			}
			tok, err := b.Build(v)
			if err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			if other, ok := seen[tok]; ok && v.Raw == nil {
				t.Errorf("%s: %q builds the same token as %q", tc.alg, v.Name, other)
			}
			seen[tok] = v.Name
			switch v.Sign {
			case "", SignKey, SignOtherToken:
				if v.Raw == nil && v.Edit == "" && v.Suffix == "" && v.Prefix == "" && v.Trim == 0 && v.HeaderJSON == nil && v.ClaimsJSON == nil {
					// Signed by the real key: the signature is good, so a verifier must refuse the
					// token for what the vector changed (except other-token, whose signature is not its own).
					if verifies(tc.key, tok) != (v.Sign != SignOtherToken) {
						t.Errorf("%s: %q: signature check = %v", tc.alg, v.Name, !(v.Sign != SignOtherToken))
					}
				}
			}
		}
	}
	// Spot checks of the builder's edits.
	b, _ := NewBuilder(testBase(t, ec, "ES256"))
	for _, tc := range []struct {
		v    Vector
		want func(string) bool
	}{
		{Vector{Edit: EditDropSignature, Sign: SignKeep}, func(s string) bool { return strings.Count(s, ".") == 1 }},
		{Vector{Edit: EditAppendSignature, Sign: SignKeep}, func(s string) bool { return strings.Count(s, ".") == 3 }},
		{Vector{Sign: SignNone}, func(s string) bool { return strings.HasSuffix(s, ".") }},
		{Vector{Sign: SignKeep, Prefix: "P ", Suffix: "x", Repeat: 3}, func(s string) bool {
			return strings.HasPrefix(s, "P ") && strings.HasSuffix(s, ".xxx") == false && strings.HasSuffix(s, "xxx")
		}},
		{Vector{Sign: SignKeep, HeaderRemove: []string{"kid"}}, func(s string) bool {
			h, _ := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
			return !strings.Contains(string(h), "kid") && strings.Contains(string(h), "at+jwt")
		}},
		{Vector{At: map[string]int64{"exp": -6}}, func(s string) bool {
			c, _ := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[1])
			return strings.Contains(string(c), `"exp":1735689594`)
		}},
	} {
		if s, err := b.Build(tc.v); err != nil || !tc.want(s) {
			t.Errorf("Build(%+v) = %q, %v", tc.v, s, err)
		}
	}
	if s, _ := b.Build(Vector{Sign: SignKeep}); s != b.base.Token {
		t.Errorf("keep with no change = %q, want the base token %q", s, b.base.Token)
	}
}
