// Package keyring seals secrets at rest (session_keys, private signing keys) with AES-256-GCM under
// named data keys, so the data key can rotate without downtime: Seal always uses the primary key,
// Open accepts data sealed by any key the keyring knows.
//
// Sealed format: version byte (1) | len(id) byte | id | 12-byte random nonce | GCM ciphertext+tag.
// The header (version, length, id) is authenticated together with the caller's additional data.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/wxlogin/wxlogin"
)

const (
	version   = 1
	keySize   = 32
	nonceSize = 12
	maxIDLen  = 32
)

// ErrOpen is the one error Open returns, whatever went wrong: unknown key, truncated or tampered
// data, wrong additional data. It says nothing more, so it cannot serve as an oracle.
var ErrOpen = errors.New("keyring: cannot open sealed data")

// Key is one named data key. Secret must hold 32 bytes; ID is 1 to 32 characters of [A-Za-z0-9_-].
type Key struct {
	ID     string
	Secret []byte
}

// String returns the key's id only, never its secret.
func (k Key) String() string { return "keyring.Key{ID: " + k.ID + "}" }

// GoString returns the same as String, so %#v does not reveal the secret either.
func (k Key) GoString() string { return k.String() }

// Export returns the key in the form Parse reads ("id:base64"), as a Secret so it is not printed.
func (k Key) Export() wxlogin.Secret {
	return wxlogin.Secret(k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret))
}

// Keyring is a wxlogin.Sealer holding a primary key (which seals) and older keys (which only
// open). It is safe for concurrent use.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
	ids     []string // primary first, in the order given
}

var _ wxlogin.Sealer = (*Keyring)(nil)

// New returns a keyring that seals with primary and opens with primary or any of older. It
// returns an error when an id is invalid or repeated or a secret is not 32 bytes long.
func New(primary Key, older ...Key) (*Keyring, error) {
	all := append([]Key{primary}, older...)
	k := &Keyring{primary: primary.ID, aeads: make(map[string]cipher.AEAD, len(all))}
	for i, key := range all {
		if err := validID(key.ID); err != nil {
			return nil, fmt.Errorf("keyring: key %d: %w", i+1, err)
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("keyring: key id %q appears twice", key.ID)
		}
		if len(key.Secret) != keySize {
			return nil, fmt.Errorf("keyring: key %q: secret must be %d bytes, got %d", key.ID, keySize, len(key.Secret))
		}
		block, err := aes.NewCipher(key.Secret) // copies the key schedule; the caller's slice is not kept
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", key.ID, err)
		}
		k.aeads[key.ID] = aead
		k.ids = append(k.ids, key.ID)
	}
	return k, nil
}

// Parse reads a keyring from "id1:base64key,id2:base64key" (standard or URL-safe base64, padded or
// not); the first key is the primary. Its errors name the entry by position and never echo key
// material.
func Parse(s string) (*Keyring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("keyring: no keys given (want \"id:base64key[,id:base64key...]\")")
	}
	var keys []Key
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("keyring: entry %d: want \"id:base64key\"", i+1)
		}
		id = strings.TrimSpace(id)
		if err := validID(id); err != nil {
			// The id is not echoed: a mistyped entry may have a key in it.
			return nil, fmt.Errorf("keyring: entry %d: %w", i+1, err)
		}
		secret, err := decodeKey(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("keyring: entry %d (%s): key is not valid base64", i+1, id)
		}
		if len(secret) != keySize {
			return nil, fmt.Errorf("keyring: entry %d (%s): key must be %d bytes, got %d", i+1, id, keySize, len(secret))
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return New(keys[0], keys[1:]...)
}

func decodeKey(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// Generate returns a new key with id and 32 random bytes. It returns an error when id is invalid.
func Generate(id string) (Key, error) {
	if err := validID(id); err != nil {
		return Key{}, fmt.Errorf("keyring: %w", err)
	}
	secret := make([]byte, keySize)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, fmt.Errorf("keyring: %w", err)
	}
	return Key{ID: id, Secret: secret}, nil
}

// validID returns an error (without the id in it) unless id is 1-32 characters of [A-Za-z0-9_-].
func validID(id string) error {
	if len(id) == 0 || len(id) > maxIDLen {
		return fmt.Errorf("key id must be 1 to %d characters", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return errors.New("key id may hold only A-Z a-z 0-9 _ -")
		}
	}
	return nil
}

// PrimaryID returns the id of the key that seals.
func (k *Keyring) PrimaryID() string { return k.primary }

// String describes the keyring by its key ids, never by key material.
func (k *Keyring) String() string {
	return "keyring(primary=" + k.primary + ", keys=" + strings.Join(k.ids, ",") + ")"
}

// GoString returns the same as String.
func (k *Keyring) GoString() string { return k.String() }

// Seal encrypts plaintext with the primary key, binding additionalData, and returns the sealed
// form. It fails only when the system's random source does.
func (k *Keyring) Seal(plaintext, additionalData []byte) ([]byte, error) {
	aead := k.aeads[k.primary]
	hlen := 2 + len(k.primary)
	out := make([]byte, hlen+nonceSize, hlen+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = version
	out[1] = byte(len(k.primary))
	copy(out[2:], k.primary)
	nonce := out[hlen : hlen+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, aad(out[:hlen], additionalData)), nil
}

// Open decrypts data made by Seal of a keyring that shared the key used, with the same
// additionalData. Any failure returns ErrOpen; garbage input never panics.
func (k *Keyring) Open(sealed, additionalData []byte) ([]byte, error) {
	id, hlen, ok := header(sealed)
	if !ok {
		return nil, ErrOpen
	}
	aead, ok := k.aeads[id]
	if !ok || len(sealed) < hlen+nonceSize+aead.Overhead() {
		return nil, ErrOpen
	}
	nonce := sealed[hlen : hlen+nonceSize]
	plain, err := aead.Open(nil, nonce, sealed[hlen+nonceSize:], aad(sealed[:hlen], additionalData))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// NeedsReseal reports whether sealed was made with a key this keyring knows but which is not the
// primary, so the caller should Open and Seal it again. It returns false for the primary key and
// for data it could not open anyway (unknown key, unreadable header).
func (k *Keyring) NeedsReseal(sealed []byte) bool {
	id, _, ok := header(sealed)
	if !ok || id == k.primary {
		return false
	}
	_, known := k.aeads[id]
	return known
}

// KeyID returns the id of the key sealed was made with (ids are not secret), and false when sealed
// is not in the sealed format. It does not check that the data opens.
func KeyID(sealed []byte) (string, bool) {
	id, _, ok := header(sealed)
	return id, ok
}

// header returns the key id and the header length of sealed, and false when the header is not
// well formed.
func header(sealed []byte) (id string, hlen int, ok bool) {
	if len(sealed) < 2 || sealed[0] != version {
		return "", 0, false
	}
	n := int(sealed[1])
	if n == 0 || n > maxIDLen || len(sealed) < 2+n {
		return "", 0, false
	}
	return string(sealed[2 : 2+n]), 2 + n, true
}

// aad returns the data GCM authenticates: the header (self-delimiting) then the caller's data.
func aad(hdr, additionalData []byte) []byte {
	b := make([]byte, 0, len(hdr)+len(additionalData))
	b = append(b, hdr...)
	return append(b, additionalData...)
}
