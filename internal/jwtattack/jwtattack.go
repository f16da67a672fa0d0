// Package jwtattack holds the attack vectors against wxlogin access tokens that both verifiers —
// token.Issuer.Verify (inside wxlogin) and verify.Verifier.Verify (inside business services) — must
// refuse, in one data set (attacks.json), and builds each vector's token from a valid one. It is
// used by those packages' tests only.
package jwtattack

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

//go:embed attacks.json
var attacksJSON []byte

// Vector is one way to build a token that must be refused. Unless Raw is set, the token starts as
// the valid token of a Base, and each field below changes it, in this order.
type Vector struct {
	Name string `json:"name"`
	// From names the test cases this vector replaced ("token/TestAttacks: alg none"), so that no
	// case is lost.
	From []string `json:"from"`
	// Only restricts the vector to bases whose key has this alg ("ES256", "EdDSA"): e.g. relabelling
	// an EdDSA signature as EdDSA is no attack.
	Only string `json:"only,omitempty"`
	// Raw is the whole token, literally; nothing else but Prefix and Suffix applies.
	Raw *string `json:"raw,omitempty"`
	// Header and Claims set fields of the valid token's header and claims (a JSON null sets null);
	// HeaderRemove and ClaimsRemove delete fields; At sets claims to the base's Now plus seconds.
	Header       map[string]json.RawMessage `json:"header,omitempty"`
	HeaderRemove []string                   `json:"header_remove,omitempty"`
	Claims       map[string]json.RawMessage `json:"claims,omitempty"`
	ClaimsRemove []string                   `json:"claims_remove,omitempty"`
	At           map[string]int64           `json:"at,omitempty"`
	// HeaderJSON and ClaimsJSON replace the encoded segment's bytes outright ("nope", "[]").
	HeaderJSON *string `json:"header_json,omitempty"`
	ClaimsJSON *string `json:"claims_json,omitempty"`
	// Sign says how the signature is made (see Sign* constants); "" is SignKey.
	Sign string `json:"sign,omitempty"`
	// Edit changes the assembled token's structure (see Edit* constants).
	Edit string `json:"edit,omitempty"`
	// Trim drops that many characters from the end; then Prefix is put before the token and Suffix,
	// repeated Repeat times (at least once), after it.
	Trim   int    `json:"trim,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	Repeat int    `json:"repeat,omitempty"`
}

// How a vector's signature is made, over the (changed) header and claims.
const (
	SignKey        = "key"         // the real key, with its own alg whatever the header says
	SignKeep       = "keep"        // the valid token's signature, unchanged
	SignFlip       = "flip"        // the valid token's signature with one bit flipped
	SignNone       = "none"        // empty
	SignOtherToken = "other-token" // the real key's signature of another valid token
	SignOtherKey   = "other-key"   // a fresh key of the real key's kind and alg
	SignEC         = "ec"          // a fresh P-256 key, ES256
	SignEd         = "ed"          // a fresh Ed25519 key, EdDSA
	SignRSA        = "rsa"         // a fresh RSA key, RS256
	SignHMACPKIX   = "hmac-pkix"   // HMAC-SHA256 keyed with the public key's PKIX DER
	SignHMACPEM    = "hmac-pem"    // ... with its PEM
	SignHMACJWKS   = "hmac-jwks"   // ... with the published JWKS document
	SignHMACX      = "hmac-x"      // ... with the JWK's "x" member (as text)
	SignHMACRaw    = "hmac-raw"    // ... with the raw public key bytes
)

// Structural edits of the assembled token.
const (
	EditDropSignature   = "drop-signature"   // header.payload, no third segment
	EditAppendSignature = "append-signature" // header.payload.signature.signature
	EditPadHeader       = "pad-header"       // "=" after the header segment
	EditStdSignature    = "std-signature"    // signature in standard base64 with "+/" after it
)

// Load returns the vectors of attacks.json; it fails on an unknown field, an unknown sign or edit,
// or a repeated name.
func Load() ([]Vector, error) {
	dec := json.NewDecoder(bytes.NewReader(attacksJSON))
	dec.DisallowUnknownFields()
	var vs []Vector
	if err := dec.Decode(&vs); err != nil {
		return nil, fmt.Errorf("jwtattack: attacks.json: %w", err)
	}
	names := map[string]bool{}
	for _, v := range vs {
		if v.Name == "" || names[v.Name] {
			return nil, fmt.Errorf("jwtattack: attacks.json: empty or repeated name %q", v.Name)
		}
		names[v.Name] = true
		switch v.Sign {
		case "", SignKey, SignKeep, SignFlip, SignNone, SignOtherToken, SignOtherKey, SignEC, SignEd, SignRSA,
			SignHMACPKIX, SignHMACPEM, SignHMACJWKS, SignHMACX, SignHMACRaw:
		default:
			return nil, fmt.Errorf("jwtattack: %s: unknown sign %q", v.Name, v.Sign)
		}
		switch v.Edit {
		case "", EditDropSignature, EditAppendSignature, EditPadHeader, EditStdSignature:
		default:
			return nil, fmt.Errorf("jwtattack: %s: unknown edit %q", v.Name, v.Edit)
		}
		if v.Only != "" && v.Only != "ES256" && v.Only != "EdDSA" {
			return nil, fmt.Errorf("jwtattack: %s: unknown alg %q", v.Name, v.Only)
		}
	}
	return vs, nil
}

// Base is what vectors start from: a valid access token signed by Key (an *ecdsa.PrivateKey on
// P-256 or an ed25519.PrivateKey), the JWKS that publishes Key, and the verifier's current time.
type Base struct {
	Token string
	Key   crypto.Signer
	JWKS  []byte
	Now   time.Time
}

// Builder builds the tokens of vectors from one Base.
type Builder struct {
	base            Base
	alg             string
	header, claims  map[string]json.RawMessage
	signingInput    string
	sig             []byte
	ec              *ecdsa.PrivateKey
	ed              ed25519.PrivateKey
	rsa             *rsa.PrivateKey
	pkix, raw, jwks []byte
	x               string
}

// NewBuilder returns a Builder for b, with fresh attacker keys; it fails when b.Token does not
// decode or b.Key is of another kind.
func NewBuilder(b Base) (*Builder, error) {
	bl := &Builder{base: b, jwks: b.JWKS}
	switch k := b.Key.(type) {
	case *ecdsa.PrivateKey:
		bl.alg = "ES256"
		pub, err := k.PublicKey.ECDH()
		if err != nil {
			return nil, err
		}
		bl.raw = pub.Bytes()
	case ed25519.PrivateKey:
		bl.alg = "EdDSA"
		bl.raw = k.Public().(ed25519.PublicKey)
	default:
		return nil, fmt.Errorf("jwtattack: key of type %T", b.Key)
	}
	var err error
	if bl.pkix, err = x509.MarshalPKIXPublicKey(b.Key.Public()); err != nil {
		return nil, err
	}
	seg := strings.Split(b.Token, ".")
	if len(seg) != 3 {
		return nil, errors.New("jwtattack: base token is not three segments")
	}
	if err := decodeSegment(seg[0], &bl.header); err != nil {
		return nil, err
	}
	if err := decodeSegment(seg[1], &bl.claims); err != nil {
		return nil, err
	}
	bl.signingInput = seg[0] + "." + seg[1]
	if bl.sig, err = base64.RawURLEncoding.DecodeString(seg[2]); err != nil {
		return nil, err
	}
	var set struct{ Keys []struct{ X string } }
	if err := json.Unmarshal(b.JWKS, &set); err != nil || len(set.Keys) == 0 {
		return nil, fmt.Errorf("jwtattack: JWKS: %v", err)
	}
	bl.x = set.Keys[0].X
	if bl.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if _, bl.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	if bl.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	return bl, nil
}

// Alg returns the alg of the base's key: "ES256" or "EdDSA".
func (b *Builder) Alg() string { return b.alg }

// Applies reports whether v is an attack on this base (see Vector.Only).
func (b *Builder) Applies(v Vector) bool { return v.Only == "" || v.Only == b.alg }

// Build returns the token of v.
func (b *Builder) Build(v Vector) (string, error) {
	var tok string
	if v.Raw != nil {
		tok = *v.Raw
	} else {
		h, c := clone(b.header), clone(b.claims)
		for k, val := range v.Header {
			h[k] = val
		}
		for _, k := range v.HeaderRemove {
			delete(h, k)
		}
		for k, val := range v.Claims {
			c[k] = val
		}
		for _, k := range v.ClaimsRemove {
			delete(c, k)
		}
		for k, secs := range v.At {
			c[k] = json.RawMessage(fmt.Sprint(b.base.Now.Add(time.Duration(secs) * time.Second).Unix()))
		}
		hb, cb := mustJSON(h), mustJSON(c)
		if v.HeaderJSON != nil {
			hb = []byte(*v.HeaderJSON)
		}
		if v.ClaimsJSON != nil {
			cb = []byte(*v.ClaimsJSON)
		}
		h64, c64 := base64.RawURLEncoding.EncodeToString(hb), base64.RawURLEncoding.EncodeToString(cb)
		sig, err := b.sign(v.Sign, h64+"."+c64)
		if err != nil {
			return "", fmt.Errorf("jwtattack: %s: %w", v.Name, err)
		}
		s64 := base64.RawURLEncoding.EncodeToString(sig)
		switch v.Edit {
		case EditDropSignature:
			tok = h64 + "." + c64
		case EditAppendSignature:
			tok = h64 + "." + c64 + "." + s64 + "." + s64
		case EditPadHeader:
			tok = h64 + "=." + c64 + "." + s64
		case EditStdSignature:
			tok = h64 + "." + c64 + "." + base64.RawStdEncoding.EncodeToString(sig) + "+/"
		default:
			tok = h64 + "." + c64 + "." + s64
		}
	}
	if v.Trim > 0 {
		tok = tok[:max(0, len(tok)-v.Trim)]
	}
	return v.Prefix + tok + strings.Repeat(v.Suffix, max(1, v.Repeat)), nil
}

// sign returns the signature of input the way mode says.
func (b *Builder) sign(mode, input string) ([]byte, error) {
	hmacWith := func(key []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(input))
		return m.Sum(nil)
	}
	switch mode {
	case "", SignKey:
		return signWith(b.base.Key, input)
	case SignKeep:
		return b.sig, nil
	case SignFlip:
		s := bytes.Clone(b.sig)
		s[len(s)-1] ^= 1
		return s, nil
	case SignNone:
		return nil, nil
	case SignOtherToken:
		c := clone(b.claims)
		c["jti"] = json.RawMessage(`"jwtattack-other"`)
		h64 := base64.RawURLEncoding.EncodeToString(mustJSON(b.header))
		return signWith(b.base.Key, h64+"."+base64.RawURLEncoding.EncodeToString(mustJSON(c)))
	case SignOtherKey:
		if b.alg == "EdDSA" {
			return signWith(b.ed, input)
		}
		return signWith(b.ec, input)
	case SignEC:
		return signWith(b.ec, input)
	case SignEd:
		return signWith(b.ed, input)
	case SignRSA:
		d := sha256.Sum256([]byte(input))
		return rsa.SignPKCS1v15(rand.Reader, b.rsa, crypto.SHA256, d[:])
	case SignHMACPKIX:
		return hmacWith(b.pkix), nil
	case SignHMACPEM:
		return hmacWith(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: b.pkix})), nil
	case SignHMACJWKS:
		return hmacWith(b.jwks), nil
	case SignHMACX:
		return hmacWith([]byte(b.x)), nil
	case SignHMACRaw:
		return hmacWith(b.raw), nil
	}
	return nil, fmt.Errorf("unknown sign %q", mode)
}

// signWith signs input as a JWS: ES256 as r||s, EdDSA as Ed25519.
func signWith(key crypto.Signer, input string) ([]byte, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		d := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out, nil
	case ed25519.PrivateKey:
		return ed25519.Sign(k, []byte(input)), nil
	}
	return nil, fmt.Errorf("key of type %T", key)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("jwtattack: base token: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("jwtattack: base token: %w", err)
	}
	return nil
}

func clone(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustJSON(m map[string]json.RawMessage) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // RawMessages decoded from JSON or written in attacks.json always marshal
	}
	return b
}
