package token

import (
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestSignClaims(t *testing.T) {
	for _, alg := range []string{AlgES256, AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			iss := e.issuer(t, alg)
			var gotAlg string
			tok, err := iss.SignClaims(func(a string) (any, error) {
				gotAlg = a
				return map[string]any{"sub": "usr_1", "at_hash": "h-" + a}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if gotAlg != alg {
				t.Fatalf("claims got alg %q, want %q", gotAlg, alg)
			}
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d parts", len(parts))
			}
			h := decodeSegment(t, parts[0])
			if h["alg"] != alg || h["typ"] != "JWT" || h["kid"] != iss.SigningKeyID() {
				t.Fatalf("header = %v", h)
			}
			// The signature verifies with the published key of that kid, and only with alg.
			parsed, err := jwt.Parse(tok, func(tk *jwt.Token) (any, error) {
				return iss.state.Load().verify[tk.Header["kid"].(string)].key, nil
			}, jwt.WithValidMethods([]string{alg}))
			if err != nil {
				t.Fatal(err)
			}
			p := parsed.Claims.(jwt.MapClaims)
			if p["sub"] != "usr_1" || p["at_hash"] != "h-"+alg || len(p) != 2 {
				t.Fatalf("payload = %v", p)
			}
			// A tampered payload does not verify.
			bad := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
			if _, err := jwt.Parse(bad, func(*jwt.Token) (any, error) {
				return iss.state.Load().verify[iss.SigningKeyID()].key, nil
			}); err == nil {
				t.Fatal("tampered token verified")
			}

			boom := errors.New("boom")
			if _, err := iss.SignClaims(func(string) (any, error) { return nil, boom }); !errors.Is(err, boom) {
				t.Fatalf("SignClaims error = %v, want the claims' error", err)
			}
			if _, err := iss.SignClaims(func(string) (any, error) { return func() {}, nil }); err == nil {
				t.Fatal("SignClaims signed claims that cannot be encoded")
			}
		})
	}
}
