package wechatsim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

var chinaTime = time.FixedZone("CST", 8*3600)

const (
	alnum      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	idAlphabet = alnum + "-_"
)

// randomFrom returns n characters drawn uniformly from alphabet (len ≤ 256).
func randomFrom(alphabet string, n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	limit := 256 - 256%len(alphabet)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// randomCode returns a wx.login code: 32 alphanumerics starting with "0", like 023MVZhy15eDoa0Et4iy1SLVhy1MVZhS.
func randomCode() string { return "0" + randomFrom(alnum, 31) }

// randomToken returns an access token shaped like WeChat's (136 characters).
func randomToken() string { return "86_" + randomFrom(idAlphabet, 133) }

func randomDigits(n int) string { return randomFrom("0123456789", n) }

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomBase64(nbytes int) string {
	b := make([]byte, nbytes)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// rid returns the trace suffix WeChat appends to errmsg: hex(unix time)-random-random.
func rid(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%08x-%08x-%08x", uint32(now.Unix()), binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:]))
}

// deriveID returns a deterministic 28-character id: "o", 5 characters from scope (so the ids of one app
// share a prefix, as real openids do) and 22 from (scope, user).
func deriveID(kind, scope, user string) string {
	h1 := sha256.Sum256([]byte("wechatsim\x00" + kind + "\x00" + scope))
	h2 := sha256.Sum256([]byte("wechatsim\x00" + kind + "\x00" + scope + "\x00" + user))
	var sb strings.Builder
	sb.WriteByte('o')
	for _, b := range h1[:5] {
		sb.WriteByte(idAlphabet[int(b)%len(idAlphabet)])
	}
	for _, b := range h2[:22] {
		sb.WriteByte(idAlphabet[int(b)%len(idAlphabet)])
	}
	return sb.String()
}

// signature returns hex(HMAC-SHA256(key = the session_key string, msg)) — the login-state signature.
func signature(sessionKey string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(sessionKey))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// rawDataSignature returns hex(SHA1(rawData + session_key)).
func rawDataSignature(rawData, sessionKey string) string {
	h := sha1.Sum([]byte(rawData + sessionKey))
	return hex.EncodeToString(h[:])
}

// encrypt returns base64(AES-128-CBC(key = base64-decode(sessionKey), iv, PKCS#7(plain))).
func encrypt(sessionKey string, iv, plain []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil || len(key) != 16 || len(iv) != aes.BlockSize {
		return "", wxlogin.Errorf(wxlogin.EINTERNAL, "wechatsim: bad session_key or iv")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// phoneNumber is what getuserphonenumber reports.
type phoneNumber struct {
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
}

// parsePhone accepts "13580006666" (China), "+86 13580006666" or "+1 5551234567"; "" yields a
// deterministic Chinese mobile number derived from user.
func parsePhone(s, user string) (phoneNumber, error) {
	if s == "" {
		h := sha256.Sum256([]byte("wechatsim\x00phone\x00" + user))
		n := binary.BigEndian.Uint64(h[:8]) % 1_000_000_000
		pure := fmt.Sprintf("13%09d", n)
		return phoneNumber{PhoneNumber: pure, PurePhoneNumber: pure, CountryCode: "86"}, nil
	}
	cc, pure := "86", s
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		var found bool
		cc, pure, found = strings.Cut(rest, " ")
		if !found || !digits(cc, 1, 4) {
			return phoneNumber{}, wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: phone must look like 13580006666 or \"+1 5551234567\"")
		}
	}
	if !digits(pure, 4, 15) {
		return phoneNumber{}, wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: phone must look like 13580006666 or \"+1 5551234567\"")
	}
	p := phoneNumber{PhoneNumber: pure, PurePhoneNumber: pure, CountryCode: cc}
	if cc != "86" {
		p.PhoneNumber = "+" + cc + " " + pure
	}
	return p, nil
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
