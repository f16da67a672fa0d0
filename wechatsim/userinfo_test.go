package wechatsim

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestEncryptOfficialVector checks the simulator's encryption against WeChat's own sample.
func TestEncryptOfficialVector(t *testing.T) {
	b, err := os.ReadFile("testdata/wechat-official-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		SessionKey    string `json:"session_key"`
		IV            string `json:"iv"`
		EncryptedData string `json:"encrypted_data"`
		Plaintext     string `json:"plaintext"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	iv, _ := base64.StdEncoding.DecodeString(v.IV)
	got, err := encrypt(v.SessionKey, iv, []byte(v.Plaintext))
	if err != nil {
		t.Fatal(err)
	}
	if got != v.EncryptedData {
		t.Fatalf("encrypt(official plaintext) differs from the official encryptedData")
	}
	if pt := decryptOpenData(t, v.SessionKey, v.IV, v.EncryptedData); string(pt) != v.Plaintext {
		t.Fatalf("test decryption of the official vector is wrong")
	}
}

func TestUserInfo(t *testing.T) {
	h := newHarness(t, Options{})
	for _, tc := range []struct {
		appid       string
		wantUnionID bool
	}{{appA, true}, {appC, false}} {
		t.Run(tc.appid, func(t *testing.T) {
			_, key := h.session(tc.appid, "u")
			m := h.ctl(http.MethodPost, "/sim/userinfo", map[string]string{"appid": tc.appid, "user": "u",
				"nickname": "Band & <Co>", "avatar_url": "https://example.com/a.png?x=1&y=2"}, http.StatusOK)
			raw, iv := m["rawData"].(string), m["iv"].(string)
			if len(iv) != 24 {
				t.Fatalf("iv %q", iv)
			}
			sum := sha1.Sum([]byte(raw + key))
			if m["signature"] != hex.EncodeToString(sum[:]) {
				t.Fatalf("signature does not verify")
			}
			var rawObj map[string]any
			if err := json.Unmarshal([]byte(raw), &rawObj); err != nil {
				t.Fatalf("rawData is not JSON: %v", err)
			}
			for _, k := range []string{"openId", "unionId", "watermark"} {
				if _, ok := rawObj[k]; ok {
					t.Fatalf("rawData carries %s: %s", k, raw)
				}
			}
			if rawObj["nickName"] != "Band & <Co>" || !strings.Contains(raw, "x=1&y=2") {
				t.Fatalf("rawData %s", raw)
			}
			var plain struct {
				OpenID    string `json:"openId"`
				NickName  string `json:"nickName"`
				AvatarURL string `json:"avatarUrl"`
				Gender    *int   `json:"gender"`
				UnionID   string `json:"unionId"`
				Watermark struct {
					AppID     string `json:"appid"`
					Timestamp int64  `json:"timestamp"`
				} `json:"watermark"`
			}
			pt := decryptOpenData(t, key, iv, m["encryptedData"].(string))
			if err := json.Unmarshal(pt, &plain); err != nil {
				t.Fatalf("plaintext is not JSON: %v", err)
			}
			if plain.Watermark.AppID != tc.appid || plain.Watermark.Timestamp != h.sim.Now().Unix() {
				t.Fatalf("watermark %+v", plain.Watermark)
			}
			if plain.OpenID != h.sim.OpenID(tc.appid, "u") || plain.NickName != "Band & <Co>" || plain.Gender == nil {
				t.Fatalf("plaintext %s", pt)
			}
			if (plain.UnionID != "") != tc.wantUnionID || (tc.wantUnionID && plain.UnionID != h.sim.UnionID(platform, "u")) {
				t.Fatalf("unionId %q, want present=%v", plain.UnionID, tc.wantUnionID)
			}
		})
	}
}

func TestUserInfoFollowsSessionKey(t *testing.T) {
	h := newHarness(t, Options{})
	_, old := h.session(appA, "u")
	res, err := h.sim.UserInfo(appA, "u")
	if err != nil {
		t.Fatal(err)
	}
	if res.RawData == "" || !strings.Contains(res.RawData, defaultNickname) {
		t.Fatalf("default profile missing: %s", res.RawData)
	}
	h.login(appA, "u") // replaces the key: data encrypted before no longer decrypts with the new one
	res2, _ := h.sim.UserInfo(appA, "u")
	sum := sha1.Sum([]byte(res2.RawData + old))
	if res2.Signature == hex.EncodeToString(sum[:]) {
		t.Fatal("userinfo still signed with the replaced key")
	}
	// No key: the control plane answers 409; an unknown app 404.
	if err := h.sim.ExpireSessionKey(appA, "u"); err != nil {
		t.Fatal(err)
	}
	h.ctl(http.MethodPost, "/sim/userinfo", map[string]string{"appid": appA, "user": "u"}, http.StatusConflict)
	h.ctl(http.MethodPost, "/sim/userinfo", map[string]string{"appid": "wxnope", "user": "u"}, http.StatusNotFound)
}
