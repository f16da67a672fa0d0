package wechatsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
)

// PathCheckEncryptedMsg is checkEncryptedData.
const PathCheckEncryptedMsg = "/wxa/business/checkencryptedmsg"

// encryptedMsgTTL is how long checkencryptedmsg knows an encryptedData.
const encryptedMsgTTL = 3 * 24 * time.Hour

type encryptedPhone struct {
	appid  string
	issued time.Time
}

// EncryptedPhoneResult is what the legacy getPhoneNumber button hands the mini program.
type EncryptedPhoneResult struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

type plainPhone struct {
	phoneNumber
	Watermark watermark `json:"watermark"`
}

// EncryptedPhone plays the legacy getPhoneNumber button for user: phone ("" = derived from user, as
// PhoneCode) with watermark{timestamp, appid}, encrypted with the user's current session_key. The
// simulator remembers the hex SHA-256 of encryptedData for checkencryptedmsg (3 days). Errors:
// ENOTFOUND (unknown app; no valid session_key: call Login), EINVALID (bad phone).
func (s *Sim) EncryptedPhone(appid, user, phone string) (*EncryptedPhoneResult, error) {
	p, err := parsePhone(phone, user)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appLocked(appid)
	if err != nil {
		return nil, err
	}
	now := s.nowLocked()
	var key *sessionKey
	if u := a.users[user]; u != nil {
		key = validKey(u, now)
	}
	if key == nil {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "wechatsim: user %q of app %q has no valid session_key: log in first", user, appid)
	}
	plain, err := marshalNoEscape(plainPhone{phoneNumber: p, Watermark: watermark{Timestamp: now.Unix(), AppID: appid}})
	if err != nil {
		return nil, err
	}
	iv := make([]byte, 16)
	rand.Read(iv)
	enc, err := encrypt(key.value, iv, plain)
	if err != nil {
		return nil, err
	}
	s.pruneLocked(now)
	s.encPhones[encryptedMsgHash(enc)] = &encryptedPhone{appid: appid, issued: now}
	return &EncryptedPhoneResult{EncryptedData: enc, IV: base64.StdEncoding.EncodeToString(iv)}, nil
}

// encryptedMsgHash returns the hex SHA-256 of encryptedData (its base64 text).
func encryptedMsgHash(encryptedData string) string {
	h := sha256.Sum256([]byte(encryptedData))
	return hex.EncodeToString(h[:])
}

type checkEncryptedJSON struct {
	okJSON
	Vaild      bool  `json:"vaild"` // WeChat's spelling
	CreateTime int64 `json:"create_time,omitempty"`
}

// checkEncryptedMsg serves POST /wxa/business/checkencryptedmsg {"encrypted_msg_hash"} →
// {"errcode":0,"errmsg":"ok","vaild","create_time"}: vaild is true when the hash is the hex SHA-256 of an
// encryptedData the simulator issued for the token's app within the last 3 days. Errors: token
// errors, 43002, 44002/47001 body (47001 also for a hash that is not 64 hex digits).
func (s *Sim) checkEncryptedMsg(r *http.Request) (any, *wxError) {
	if r.Method != http.MethodPost {
		return nil, errRequirePost
	}
	s.mu.Lock()
	a, e := s.tokenAppLocked(r, s.nowLocked())
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	var req struct {
		Hash string `json:"encrypted_msg_hash"`
	}
	if e := readJSONBody(r, &req); e != nil {
		return nil, e
	}
	if b, err := hex.DecodeString(req.Hash); err != nil || len(b) != sha256.Size {
		return nil, errDataFormat
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	p := s.encPhones[encryptedMsgHashNormal(req.Hash)]
	if p == nil || p.appid != a.ID || !now.Before(p.issued.Add(encryptedMsgTTL)) {
		return checkEncryptedJSON{okJSON: okBody}, nil
	}
	return checkEncryptedJSON{okJSON: okBody, Vaild: true, CreateTime: p.issued.Unix()}, nil
}

// encryptedMsgHashNormal lowercases a hex hash.
func encryptedMsgHashNormal(h string) string {
	b, _ := hex.DecodeString(h)
	return hex.EncodeToString(b)
}
