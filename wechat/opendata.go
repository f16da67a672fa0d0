package wechat

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// ErrDecrypt is the one error every decryption failure returns, whatever the cause (bad base64,
// wrong key or iv length, bad padding, bad JSON, foreign watermark): distinguishable failures would
// be a padding oracle.
var ErrDecrypt = errors.New("wechat: encrypted data could not be decrypted")

// Decrypt decrypts a mini program's encrypted open data (AES-128-CBC, PKCS#7) with the user's
// session_key and returns the JSON plaintext. It returns ErrDecrypt unless the plaintext is a JSON
// object whose watermark.appid is appid.
func Decrypt(appid string, key wxlogin.Secret, encryptedData, iv string) ([]byte, error) {
	k, err1 := base64.StdEncoding.DecodeString(key.Reveal())
	ivb, err2 := base64.StdEncoding.DecodeString(iv)
	ct, err3 := base64.StdEncoding.DecodeString(encryptedData)
	if err1 != nil || err2 != nil || err3 != nil || len(k) != 16 || len(ivb) != aes.BlockSize ||
		len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, ErrDecrypt
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(pt, ct)

	// Check the padding without branching on its bytes, and parse the JSON whatever the padding
	// said, so that bad padding and bad JSON take the same path.
	n := int(pt[len(pt)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, n)
		match := subtle.ConstantTimeByteEq(pt[len(pt)-i], byte(n))
		// Where i is inside the padding, the byte must equal n.
		good &= subtle.ConstantTimeSelect(inPad, match, 1)
	}
	strip := subtle.ConstantTimeSelect(good, n, 0)
	pt = pt[:len(pt)-strip]

	var v struct {
		Watermark *Watermark `json:"watermark"`
	}
	jerr := json.Unmarshal(pt, &v)
	if good != 1 || jerr != nil || v.Watermark == nil || appid == "" || v.Watermark.AppID != appid {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// UserInfo is the decrypted data of wx.getUserInfo (legacy flow).
type UserInfo struct {
	OpenID    string    `json:"openId"`
	NickName  string    `json:"nickName"`
	Gender    int       `json:"gender"`
	Language  string    `json:"language"`
	City      string    `json:"city"`
	Province  string    `json:"province"`
	Country   string    `json:"country"`
	AvatarURL string    `json:"avatarUrl"`
	UnionID   string    `json:"unionId"`
	Watermark Watermark `json:"watermark"`
}

// DecryptUserInfo decrypts wx.getUserInfo data. Errors: ErrDecrypt only.
func DecryptUserInfo(appid string, key wxlogin.Secret, encryptedData, iv string) (*UserInfo, error) {
	pt, err := Decrypt(appid, key, encryptedData, iv)
	if err != nil {
		return nil, err
	}
	var u UserInfo
	if err := json.Unmarshal(pt, &u); err != nil {
		return nil, ErrDecrypt
	}
	return &u, nil
}

// DecryptPhoneNumber decrypts the legacy getPhoneNumber data. Errors: ErrDecrypt only.
func DecryptPhoneNumber(appid string, key wxlogin.Secret, encryptedData, iv string) (*PhoneInfo, error) {
	pt, err := Decrypt(appid, key, encryptedData, iv)
	if err != nil {
		return nil, err
	}
	var p PhoneInfo
	if err := json.Unmarshal(pt, &p); err != nil {
		return nil, ErrDecrypt
	}
	return &p, nil
}

// RawDataSignature returns hex(SHA1(rawData + session_key)), the signature WeChat sends with the
// plain rawData of wx.getUserInfo.
func RawDataSignature(rawData string, key wxlogin.Secret) string {
	sum := sha1.Sum([]byte(rawData + key.Reveal()))
	return hex.EncodeToString(sum[:])
}

// VerifyRawDataSignature reports, in constant time, whether signature (hex, any case) is
// RawDataSignature(rawData, key).
func VerifyRawDataSignature(rawData, signature string, key wxlogin.Secret) bool {
	want := RawDataSignature(rawData, key)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) == 1
}

// LoginStateSignature returns hex(HMAC-SHA256(key = the session_key string as WeChat returned it,
// message = body)); GET calls such as checksession sign the empty body.
func LoginStateSignature(key wxlogin.Secret, body []byte) string {
	m := hmac.New(sha256.New, []byte(key.Reveal()))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
