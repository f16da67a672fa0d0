package wechat_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

type vector struct {
	AppID         string         `json:"appid"`
	SessionKey    wxlogin.Secret `json:"session_key"`
	IV            string         `json:"iv"`
	EncryptedData string         `json:"encrypted_data"`
	Plaintext     string         `json:"plaintext"`
}

func officialVector(t testing.TB) vector {
	t.Helper()
	b, err := os.ReadFile("testdata/wechat-official-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

var b64 = base64.StdEncoding.EncodeToString

// encrypt is AES-128-CBC of plaintext with pad appended as is (the caller chooses good or bad padding).
func encrypt(t testing.TB, key, iv, plaintext, pad []byte) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(append([]byte{}, plaintext...), pad...)
	if len(data)%aes.BlockSize != 0 {
		t.Fatalf("bad test data length %d", len(data))
	}
	out := make([]byte, len(data))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, data)
	return b64(out)
}

func pkcs7(n int) []byte {
	p := aes.BlockSize - n%aes.BlockSize
	return bytes.Repeat([]byte{byte(p)}, p)
}

func TestDecryptOfficialVector(t *testing.T) {
	v := officialVector(t)
	pt, err := wechat.Decrypt(v.AppID, v.SessionKey, v.EncryptedData, v.IV)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if string(pt) != v.Plaintext {
		t.Fatalf("plaintext\n%s\nwant\n%s", pt, v.Plaintext)
	}
	u, err := wechat.DecryptUserInfo(v.AppID, v.SessionKey, v.EncryptedData, v.IV)
	if err != nil {
		t.Fatal(err)
	}
	want := wechat.UserInfo{
		OpenID: "oGZUI0egBJY1zhBYw2KhdUfwVJJE", NickName: "Band", Gender: 1, Language: "zh_CN",
		City: "Guangzhou", Province: "Guangdong", Country: "CN",
		AvatarURL: "http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0",
		UnionID:   "ocMvos6NjeKLIBqg5Mr9QjxrP1FA", Watermark: wechat.Watermark{AppID: "wx4f4bc4dec97d474b", Timestamp: 1477314187},
	}
	if *u != want {
		t.Errorf("user info\n%+v\nwant\n%+v", *u, want)
	}
}

func TestDecryptPhoneNumber(t *testing.T) {
	key, iv := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	for _, pt := range []string{
		`{"phoneNumber":"13580006666","purePhoneNumber":"13580006666","countryCode":"86","watermark":{"appid":"wxapp","timestamp":1}}`,
		`{"phoneNumber":"13580006666","purePhoneNumber":"13580006666","countryCode":86,"watermark":{"appid":"wxapp","timestamp":1}}`,
	} {
		data := encrypt(t, key, iv, []byte(pt), pkcs7(len(pt)))
		p, err := wechat.DecryptPhoneNumber("wxapp", wxlogin.Secret(b64(key)), data, b64(iv))
		if err != nil || p.PurePhoneNumber != "13580006666" || p.CountryCode != "86" || p.Watermark.AppID != "wxapp" {
			t.Errorf("DecryptPhoneNumber(%s) = %+v, %v", pt, p, err)
		}
	}
}

// brokenInputs returns (name, appid, key, data, iv) inputs that must all fail with ErrDecrypt.
func brokenInputs(t testing.TB) [][5]string {
	v := officialVector(t)
	key, iv := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	k, i := b64(key), b64(iv)
	ct, _ := base64.StdEncoding.DecodeString(v.EncryptedData)
	flipLast := append([]byte{}, ct...)
	flipLast[len(flipLast)-1] ^= 1
	enc := func(pt string, pad []byte) string { return encrypt(t, key, iv, []byte(pt), pad) }
	good := `{"watermark":{"appid":"wxapp","timestamp":1}}` // 45 bytes
	key24 := b64([]byte("0123456789abcdef01234567"))
	return [][5]string{
		{"key not base64", v.AppID, "tiihtNczf5v6AKRyjwEU!Q==", v.EncryptedData, v.IV},
		{"iv not base64", v.AppID, v.SessionKey.Reveal(), v.EncryptedData, "r7BXXKkLb8qrSNn05n0q*A=="},
		{"data not base64", v.AppID, v.SessionKey.Reveal(), v.EncryptedData[:20] + "%" + v.EncryptedData[21:], v.IV},
		{"key 15 bytes", v.AppID, b64(key[:15]), v.EncryptedData, v.IV},
		{"key 24 bytes (AES-192)", "wxapp", key24, encrypt(t, []byte("0123456789abcdef01234567"), iv, []byte(good), pkcs7(len(good))), i},
		{"key empty", v.AppID, "", v.EncryptedData, v.IV},
		{"iv 8 bytes", v.AppID, v.SessionKey.Reveal(), v.EncryptedData, b64(iv[:8])},
		{"iv empty", v.AppID, v.SessionKey.Reveal(), v.EncryptedData, ""},
		{"data empty", v.AppID, v.SessionKey.Reveal(), "", v.IV},
		{"data 15 bytes", v.AppID, v.SessionKey.Reveal(), b64(ct[:15]), v.IV},
		{"data 17 bytes", v.AppID, v.SessionKey.Reveal(), b64(ct[:17]), v.IV},
		{"data truncated to 2 blocks", v.AppID, v.SessionKey.Reveal(), b64(ct[:32]), v.IV},
		{"wrong key", v.AppID, k, v.EncryptedData, v.IV},
		{"wrong iv", v.AppID, v.SessionKey.Reveal(), v.EncryptedData, i},
		{"last byte flipped", v.AppID, v.SessionKey.Reveal(), b64(flipLast), v.IV},
		{"other appid", "wx0000000000000000", v.SessionKey.Reveal(), v.EncryptedData, v.IV},
		{"empty appid", "", k, enc(`{"watermark":{"appid":"","timestamp":1}}`+"   ", pkcs7(43)), i},
		{"padding 0", "wxapp", k, enc(good+"\x00\x00", []byte{0}), i},
		{"padding 17", "wxapp", k, enc(good+strings.Repeat("\x11", 3), bytes.Repeat([]byte{17}, 16)), i},
		{"padding inconsistent", "wxapp", k, enc(good, []byte{1, 2, 3}), i},
		{"not json", "wxapp", k, enc("hello, world", pkcs7(12)), i},
		{"json null", "wxapp", k, enc("null", pkcs7(4)), i},
		{"json array", "wxapp", k, enc(`[1,2]`, pkcs7(5)), i},
		{"no watermark", "wxapp", k, enc(`{"openId":"x"}`, pkcs7(14)), i},
		{"watermark appid number", "wxapp", k, enc(`{"watermark":{"appid":1}}`, pkcs7(25)), i},
		{"trailing garbage", "wxapp", k, enc(good+"xyz", pkcs7(48)), i},
	}
}

func TestDecryptFailuresLookAlike(t *testing.T) {
	// Sanity: the helper's good plaintext does decrypt, so the failures below are the broken part.
	key, iv := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	good := `{"watermark":{"appid":"wxapp","timestamp":1}}`
	if _, err := wechat.Decrypt("wxapp", wxlogin.Secret(b64(key)), encrypt(t, key, iv, []byte(good), pkcs7(len(good))), b64(iv)); err != nil {
		t.Fatalf("good data: %v", err)
	}
	for _, in := range brokenInputs(t) {
		t.Run(in[0], func(t *testing.T) {
			pt, err := wechat.Decrypt(in[1], wxlogin.Secret(in[2]), in[3], in[4])
			if err != wechat.ErrDecrypt || pt != nil {
				t.Errorf("got %q, %v; want ErrDecrypt", pt, err)
			}
			if _, err := wechat.DecryptUserInfo(in[1], wxlogin.Secret(in[2]), in[3], in[4]); err != wechat.ErrDecrypt {
				t.Errorf("DecryptUserInfo: %v", err)
			}
			if _, err := wechat.DecryptPhoneNumber(in[1], wxlogin.Secret(in[2]), in[3], in[4]); err != wechat.ErrDecrypt {
				t.Errorf("DecryptPhoneNumber: %v", err)
			}
		})
	}
}

func TestRawDataSignature(t *testing.T) {
	// The example of WeChat's documentation ("signature = sha1( rawData + session_key )").
	const rawData = `{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}`
	const key = wxlogin.Secret("HyVFkGl5F5OQWJZZaNzBBg==")
	const sig = "75e81ceda165f4ffa64f4068af58c64b8f54b88c"
	if got := wechat.RawDataSignature(rawData, key); got != sig {
		t.Errorf("RawDataSignature = %s, want %s", got, sig)
	}
	for _, tc := range []struct {
		raw, sig string
		key      wxlogin.Secret
		want     bool
	}{
		{rawData, sig, key, true},
		{rawData, strings.ToUpper(sig), key, true},
		{rawData + " ", sig, key, false},
		{rawData, sig, "tiihtNczf5v6AKRyjwEUhQ==", false},
		{rawData, sig[:39], key, false},
		{rawData, "", key, false},
	} {
		if got := wechat.VerifyRawDataSignature(tc.raw, tc.sig, tc.key); got != tc.want {
			t.Errorf("VerifyRawDataSignature(%q…, %q) = %v", tc.raw[:10], tc.sig, got)
		}
	}
}

func TestLoginStateSignature(t *testing.T) {
	const key = wxlogin.Secret("tiihtNczf5v6AKRyjwEUhQ==")
	// hex(HMAC-SHA256(key = the 24 base64 characters, message)), computed independently.
	if got := wechat.LoginStateSignature(key, nil); got != "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735" {
		t.Errorf("empty body: %s", got)
	}
	if got := wechat.LoginStateSignature(key, []byte(`{"a":1}`)); got != "6c93a2a687bf8d92bada8f79ffaea4501e44f9253bc7ff2b529120f4fa8ec9ba" {
		t.Errorf(`body {"a":1}: %s`, got)
	}
}

func FuzzDecrypt(f *testing.F) {
	v := officialVector(f)
	f.Add(v.AppID, v.SessionKey.Reveal(), v.EncryptedData, v.IV)
	for _, in := range brokenInputs(f) {
		f.Add(in[1], in[2], in[3], in[4])
	}
	f.Fuzz(func(t *testing.T, appid, key, data, iv string) {
		pt, err := wechat.Decrypt(appid, wxlogin.Secret(key), data, iv)
		if err != nil {
			if err != wechat.ErrDecrypt {
				t.Fatalf("error %v is not ErrDecrypt", err)
			}
			return
		}
		var w struct {
			Watermark struct {
				AppID string `json:"appid"`
			} `json:"watermark"`
		}
		if !json.Valid(pt) || json.Unmarshal(pt, &w) != nil || w.Watermark.AppID != appid || appid == "" {
			t.Fatalf("accepted %q for appid %q", pt, appid)
		}
	})
}
