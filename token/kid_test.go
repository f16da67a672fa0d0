package token

import (
	"bytes"
	"context"
	"testing"

	"github.com/wxlogin/wxlogin/keyring"
)

func keyringOf(t *testing.T, fill byte) *keyring.Keyring {
	t.Helper()
	k, err := keyring.New(keyring.Key{ID: "k1", Secret: bytes.Repeat([]byte{fill}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyIDsDifferAcrossDeployments: two deployments with the same issuer but their own database
// and data keys (a dev stack and a server) must never publish the same kid, neither for their
// first key nor after rotations; one deployment's instances still agree.
func TestKeyIDsDifferAcrossDeployments(t *testing.T) {
	ctx := context.Background()
	deploy := func(fill byte) *Issuer {
		e := &env{store: &memStore{}, clock: newClock(), sealer: keyringOf(t, fill)}
		return e.issuer(t, AlgES256)
	}
	a, b := deploy(1), deploy(2)
	seen := map[string]string{}
	for round := 0; round < 3; round++ {
		for name, iss := range map[string]*Issuer{"a": a, "b": b} {
			kid := iss.SigningKeyID()
			if other, dup := seen[kid]; dup && other != name {
				t.Fatalf("round %d: deployments %s and %s both sign with kid %s", round, other, name, kid)
			}
			seen[kid] = name
			if err := iss.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The same data keys on the same store (two instances of one deployment) agree on the id.
	e := &env{store: &memStore{}, clock: newClock(), sealer: keyringOf(t, 1)}
	if x, y := e.issuer(t, AlgES256), e.issuer(t, AlgES256); x.SigningKeyID() != y.SigningKeyID() || e.store.count() != 1 {
		t.Fatalf("one deployment's instances: %s and %s, %d keys", x.SigningKeyID(), y.SigningKeyID(), e.store.count())
	}
}

// TestStoredKeyKeepsItsID: a key stored under the old derivation keeps its id (tokens signed with
// it still name it), and the next rotation continues from it.
func TestStoredKeyKeepsItsID(t *testing.T) {
	e := newEnv(t)
	const oldID = "key_a7d3a11ca56b332f222fe2c7a6"
	k, err := generate(oldID, AlgES256, e.sealer, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateSigningKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	iss := e.issuer(t, AlgES256)
	if iss.SigningKeyID() != oldID {
		t.Fatalf("signs with %s, want the stored %s", iss.SigningKeyID(), oldID)
	}
	tok, _, err := iss.Issue("usr", "ses", "app")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(1)
	if err := iss.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if iss.SigningKeyID() == oldID {
		t.Fatal("rotation kept the old key")
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Fatalf("a token of the stored key no longer verifies: %v", err)
	}
}
