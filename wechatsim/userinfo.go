package wechatsim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// UserInfoResult is what wx.getUserInfo hands the mini program.
type UserInfoResult struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
	RawData       string `json:"rawData"`
	Signature     string `json:"signature"`
}

// What WeChat has returned for every user since 2021-04 (anonymous profile).
const (
	defaultNickname  = "微信用户"
	defaultAvatarURL = "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"
)

type rawUserInfo struct {
	NickName  string `json:"nickName"`
	Gender    int    `json:"gender"`
	Language  string `json:"language"`
	City      string `json:"city"`
	Province  string `json:"province"`
	Country   string `json:"country"`
	AvatarURL string `json:"avatarUrl"`
}

type watermark struct {
	Timestamp int64  `json:"timestamp"`
	AppID     string `json:"appid"`
}

type plainUserInfo struct {
	OpenID string `json:"openId"`
	rawUserInfo
	UnionID   string    `json:"unionId,omitempty"`
	Watermark watermark `json:"watermark"`
}

// UserInfo plays wx.getUserInfo for user with WeChat's anonymous profile; see UserInfoWith.
func (s *Sim) UserInfo(appid, user string) (*UserInfoResult, error) {
	return s.UserInfoWith(appid, user, "", "")
}

// UserInfoWith plays wx.getUserInfo for user: the profile (nickname and avatarURL, "" = WeChat's
// anonymous defaults) with openId, unionId (platform apps only) and watermark{timestamp, appid}, encrypted
// with the user's current session_key; rawData is the profile alone and signature is
// hex(sha1(rawData + session_key)). Errors: ENOTFOUND (unknown app; no valid session_key: call Login).
func (s *Sim) UserInfoWith(appid, user, nickname, avatarURL string) (*UserInfoResult, error) {
	s.mu.Lock()
	a, err := s.appLocked(appid)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	u := a.users[user]
	now := s.nowLocked()
	var key *sessionKey
	if u != nil {
		key = validKey(u, now)
	}
	if key == nil {
		s.mu.Unlock()
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "wechatsim: user %q of app %q has no valid session_key: log in first", user, appid)
	}
	keyValue, platform := key.value, a.Platform
	s.mu.Unlock()

	raw := rawUserInfo{NickName: defaultNickname, AvatarURL: defaultAvatarURL}
	if nickname != "" {
		raw.NickName = nickname
	}
	if avatarURL != "" {
		raw.AvatarURL = avatarURL
	}
	plain := plainUserInfo{OpenID: OpenID(appid, user), rawUserInfo: raw,
		Watermark: watermark{Timestamp: now.Unix(), AppID: appid}}
	if platform != "" {
		plain.UnionID = UnionID(platform, user)
	}
	rawJSON, err := marshalNoEscape(raw)
	if err != nil {
		return nil, err
	}
	plainJSON, err := marshalNoEscape(plain)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, 16)
	rand.Read(iv)
	enc, err := encrypt(keyValue, iv, plainJSON)
	if err != nil {
		return nil, err
	}
	return &UserInfoResult{
		EncryptedData: enc,
		IV:            base64.StdEncoding.EncodeToString(iv),
		RawData:       string(rawJSON),
		Signature:     rawDataSignature(string(rawJSON), keyValue),
	}, nil
}

// marshalNoEscape encodes v as compact JSON without HTML escaping (as WeChat does).
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(buf.String(), "\n")), nil
}
