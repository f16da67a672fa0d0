package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func mustGenerate(t testing.TB, id string) Key {
	t.Helper()
	k, err := Generate(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustNew(t testing.TB, primary Key, older ...Key) *Keyring {
	t.Helper()
	k, err := New(primary, older...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	kr := mustNew(t, mustGenerate(t, "k1"))
	for _, tc := range []struct{ name, plain, ad string }{
		{"empty", "", ""},
		{"session key", "tiihtNczf5v6AKRyjwEUhQ==", "wx123/openid-1"},
		{"binary", "\x00\x01\xff", "\x00"},
		{"long", strings.Repeat("x", 10000), "ad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := kr.Seal([]byte(tc.plain), []byte(tc.ad))
			if err != nil {
				t.Fatal(err)
			}
			if tc.plain != "" && bytes.Contains(sealed, []byte(tc.plain)) {
				t.Fatal("sealed data contains the plaintext")
			}
			if sealed[0] != version || int(sealed[1]) != 2 || string(sealed[2:4]) != "k1" {
				t.Fatalf("header = %x, want version 1, id k1", sealed[:4])
			}
			if got, want := len(sealed), 2+2+nonceSize+len(tc.plain)+16; got != want {
				t.Fatalf("len(sealed) = %d, want %d", got, want)
			}
			got, err := kr.Open(sealed, []byte(tc.ad))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.plain {
				t.Fatalf("Open = %q, want %q", got, tc.plain)
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	kr := mustNew(t, mustGenerate(t, "k1"))
	a, _ := kr.Seal([]byte("same"), nil)
	b, _ := kr.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal")
	}
}

func TestOpenFailures(t *testing.T) {
	k1 := mustGenerate(t, "k1")
	kr := mustNew(t, k1)
	sealed, err := kr.Seal([]byte("secret"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	// Another keyring whose key has the same id but a different secret.
	other := mustNew(t, Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)})
	cases := []struct {
		name   string
		kr     *Keyring
		sealed []byte
		ad     string
	}{
		{"wrong ad", kr, sealed, "other"},
		{"missing ad", kr, sealed, ""},
		{"flipped version", kr, flip(0), "ad"},
		{"flipped id length", kr, flip(1), "ad"},
		{"flipped id", kr, flip(2), "ad"},
		{"flipped nonce", kr, flip(5), "ad"},
		{"flipped ciphertext", kr, flip(len(sealed) - 20), "ad"},
		{"flipped tag", kr, flip(len(sealed) - 1), "ad"},
		{"truncated", kr, sealed[:len(sealed)-1], "ad"},
		{"extended", kr, append(bytes.Clone(sealed), 0), "ad"},
		{"same id other secret", other, sealed, "ad"},
		{"unknown key", mustNew(t, mustGenerate(t, "k2")), sealed, "ad"},
		{"nil", kr, nil, "ad"},
		{"header only", kr, sealed[:4], "ad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.kr.Open(tc.sealed, []byte(tc.ad))
			if !errors.Is(err, ErrOpen) || err != ErrOpen {
				t.Fatalf("Open = %q, %v; want ErrOpen", got, err)
			}
			if got != nil {
				t.Fatalf("Open returned data %q with an error", got)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := mustGenerate(t, "k1"), mustGenerate(t, "k2")
	old := mustNew(t, k1)
	sealedOld, _ := old.Seal([]byte("v1"), []byte("ad"))

	rotated := mustNew(t, k2, k1)
	if rotated.PrimaryID() != "k2" {
		t.Fatalf("PrimaryID = %q", rotated.PrimaryID())
	}
	got, err := rotated.Open(sealedOld, []byte("ad"))
	if err != nil || string(got) != "v1" {
		t.Fatalf("rotated keyring cannot open old data: %q, %v", got, err)
	}
	if !rotated.NeedsReseal(sealedOld) {
		t.Fatal("NeedsReseal(old) = false, want true")
	}
	sealedNew, _ := rotated.Seal(got, []byte("ad"))
	if rotated.NeedsReseal(sealedNew) {
		t.Fatal("NeedsReseal(new) = true, want false")
	}
	if string(sealedNew[2:4]) != "k2" {
		t.Fatalf("new data sealed with %q, want k2", sealedNew[2:4])
	}
	// The old keyring (not yet rolled out everywhere) cannot open k2 data; after k1 is dropped,
	// k1 data no longer opens.
	if _, err := old.Open(sealedNew, []byte("ad")); err != ErrOpen {
		t.Fatalf("old keyring opened k2 data: %v", err)
	}
	if _, err := mustNew(t, k2).Open(sealedOld, []byte("ad")); err != ErrOpen {
		t.Fatalf("keyring without k1 opened k1 data: %v", err)
	}
	if id, ok := KeyID(sealedOld); id != "k1" || !ok {
		t.Fatalf("KeyID(old) = %q, %v; want k1, true", id, ok)
	}
	if id, ok := KeyID(sealedNew); id != "k2" || !ok {
		t.Fatalf("KeyID(new) = %q, %v; want k2, true", id, ok)
	}
	for _, b := range [][]byte{nil, {1}, {9, 2, 'k', '1'}, {1, 0}} {
		if id, ok := KeyID(b); ok {
			t.Fatalf("KeyID(%x) = %q, true for data not in the sealed format", b, id)
		}
	}
	for _, b := range [][]byte{nil, {1}, {9, 2, 'k', '1'}, {1, 2, 'z', 'z'}} {
		if rotated.NeedsReseal(b) {
			t.Fatalf("NeedsReseal(%x) = true for data it cannot open", b)
		}
	}
}

func TestNewErrors(t *testing.T) {
	good := mustGenerate(t, "good")
	cases := []struct {
		name    string
		primary Key
		older   []Key
	}{
		{"empty id", Key{ID: "", Secret: good.Secret}, nil},
		{"long id", Key{ID: strings.Repeat("a", 33), Secret: good.Secret}, nil},
		{"bad id char", Key{ID: "a:b", Secret: good.Secret}, nil},
		{"short secret", Key{ID: "a", Secret: make([]byte, 16)}, nil},
		{"long secret", Key{ID: "a", Secret: make([]byte, 33)}, nil},
		{"duplicate id", good, []Key{{ID: "good", Secret: make([]byte, 32)}}},
		{"bad older", good, []Key{{ID: "x"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.primary, tc.older...); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
	if _, err := Generate("bad id"); err == nil {
		t.Fatal("Generate accepted a bad id")
	}
}

func TestParse(t *testing.T) {
	k1, k2 := mustGenerate(t, "k1"), mustGenerate(t, "k_2-B")
	s := fmt.Sprintf("%s, %s", k1.Export().Reveal(), k2.Export().Reveal())
	kr, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if kr.PrimaryID() != "k1" {
		t.Fatalf("PrimaryID = %q", kr.PrimaryID())
	}
	// Both keys were read correctly: data sealed by each opens.
	for _, k := range []Key{k1, k2} {
		sealed, _ := mustNew(t, k).Seal([]byte("x"), nil)
		if _, err := kr.Open(sealed, nil); err != nil {
			t.Fatalf("parsed keyring cannot open data of %s: %v", k.ID, err)
		}
	}
	// URL-safe and unpadded base64 are accepted too.
	raw := bytes.Repeat([]byte{0xfb, 0xff}, 16)
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		if _, err := Parse("a:" + enc.EncodeToString(raw)); err != nil {
			t.Fatalf("Parse rejected %v-encoded key: %v", enc, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("S3cr"), 8)) // the "secret"
	short := base64.StdEncoding.EncodeToString([]byte("S3cretS3cretS3cr"))
	cases := []struct{ name, in string }{
		{"empty", ""},
		{"blank", "  "},
		{"no colon", key},
		{"empty id", ":" + key},
		{"bad id", "k 1:" + key},
		{"key as id", key + ":" + key},
		{"bad base64", "k1:" + key[:10] + "!" + key[11:]},
		{"short key", "k1:" + short},
		{"empty key", "k1:"},
		{"duplicate", "k1:" + key + ",k1:" + key},
		{"trailing comma", "k1:" + key + ","},
		{"second bad", "k1:" + key + ",k2:" + short},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse succeeded: %v", kr)
			}
			msg := err.Error()
			for _, secret := range []string{key, key[:12], short, short[:12], "S3cr"} {
				if strings.Contains(msg, secret) {
					t.Fatalf("error %q echoes key material", msg)
				}
			}
		})
	}
}

func TestStringsHideKeys(t *testing.T) {
	k := mustGenerate(t, "k1")
	kr := mustNew(t, k, mustGenerate(t, "k0"))
	b64 := base64.StdEncoding.EncodeToString(k.Secret)
	for _, s := range []string{
		kr.String(), fmt.Sprintf("%v %+v %#v", kr, kr, kr),
		fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprint(k.Export()),
	} {
		if strings.Contains(s, b64) || strings.Contains(s, fmt.Sprint(k.Secret)) || strings.Contains(s, fmt.Sprintf("%x", k.Secret)) {
			t.Fatalf("%q shows key material", s)
		}
	}
	if !strings.Contains(kr.String(), "k1") || !strings.Contains(kr.String(), "k0") {
		t.Fatalf("String() = %q, want the key ids", kr.String())
	}
}

func TestGarbageNeverPanics(t *testing.T) {
	kr := mustNew(t, mustGenerate(t, "k1"))
	for n := 0; n < 64; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 37)
		}
		if n > 0 {
			b[0] = version
		}
		if n > 1 {
			b[1] = byte(n % 40)
		}
		if _, err := kr.Open(b, nil); err != ErrOpen {
			t.Fatalf("Open(%x) = %v, want ErrOpen", b, err)
		}
		kr.NeedsReseal(b)
	}
}

func FuzzOpen(f *testing.F) {
	kr := mustNew(f, Key{ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)}, Key{ID: "k0", Secret: bytes.Repeat([]byte{2}, 32)})
	good, _ := kr.Seal([]byte("hello"), []byte("ad"))
	f.Add(good, []byte("ad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 2, 'k', '1'}, []byte("ad"))
	f.Add([]byte{1, 255}, []byte(nil))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		plain, err := kr.Open(sealed, ad)
		if err != nil {
			if err != ErrOpen || plain != nil {
				t.Fatalf("Open = %q, %v", plain, err)
			}
		} else {
			// Only genuine seals open, and the only genuine seal in the corpus is "hello" under "ad".
			// (The fuzzing worker processes each seal their own copy, so compare contents, not bytes.)
			if string(plain) != "hello" || string(ad) != "ad" {
				t.Fatalf("Open accepted forged data %x", sealed)
			}
		}
		kr.NeedsReseal(sealed)
		// Whatever the fuzzer picks as plaintext and AD round-trips.
		again, err := kr.Seal(sealed, ad)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := kr.Open(again, ad); err != nil || !bytes.Equal(got, sealed) {
			t.Fatalf("round trip of fuzz input failed: %v", err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	kr := mustNew(b, mustGenerate(b, "k1"))
	plain := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Seal(plain, []byte("wx123/openid")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	kr := mustNew(b, mustGenerate(b, "k1"))
	sealed, _ := kr.Seal(make([]byte, 16), []byte("wx123/openid"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Open(sealed, []byte("wx123/openid")); err != nil {
			b.Fatal(err)
		}
	}
}
