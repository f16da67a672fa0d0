package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// Message push (§11): WeChat POSTs events to the URL configured for the app, signed with the app's
// push Token and, in safe mode, encrypted with its EncodingAESKey.

// The authorization events of message push.
const (
	EventUserAuthorizationRevoke       = "user_authorization_revoke"       // the user revoked some authorizations
	EventUserAuthorizationCancellation = "user_authorization_cancellation" // the user cancelled their account's authorization
	EventUserInfoModified              = "user_info_modified"              // the user changed their info
)

// ErrPushInvalid is the one error every rejected push returns, whatever the cause (bad or missing
// signature, bad base64, wrong key, bad padding, bad length, foreign appid, bad JSON).
var ErrPushInvalid = errors.New("wechat: push message rejected")

// PushEvent is a JSON push event. RevokeInfo is accepted as a string or a number ("1", "6", "8").
type PushEvent struct {
	ToUserName   string `json:"ToUserName"`
	FromUserName string `json:"FromUserName"`
	CreateTime   int64  `json:"CreateTime"`
	MsgType      string `json:"MsgType"`
	Event        string `json:"Event"`
	OpenID       string `json:"OpenID"`
	AppID        string `json:"AppID"`
	RevokeInfo   string `json:"RevokeInfo"`
	// Raw is the whole event JSON, for fields this type does not name.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an event with RevokeInfo as a string or a number.
func (e *PushEvent) UnmarshalJSON(b []byte) error {
	type plain PushEvent
	var v struct {
		plain
		RevokeInfo json.RawMessage `json:"RevokeInfo"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = PushEvent(v.plain)
	e.RevokeInfo = ""
	switch ri := bytes.TrimSpace(v.RevokeInfo); {
	case len(ri) == 0 || string(ri) == "null":
	case ri[0] == '"':
		if err := json.Unmarshal(ri, &e.RevokeInfo); err != nil {
			return err
		}
	default:
		var n json.Number
		if err := json.Unmarshal(ri, &n); err != nil {
			return err
		}
		e.RevokeInfo = n.String()
	}
	e.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// PushSignature returns hex(SHA1(the values sorted and joined)): with (token, timestamp, nonce) the
// signature query parameter, with the Encrypt field added the msg_signature of safe mode.
func PushSignature(values ...string) string {
	v := append([]string(nil), values...)
	sort.Strings(v)
	sum := sha1.Sum([]byte(strings.Join(v, "")))
	return hex.EncodeToString(sum[:])
}

func sigEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// PushReceiver verifies and opens the pushes of one app. Token is the push Token configured for the
// app; EncodingAESKey its 43-character key, "" for an app in plain mode. A receiver with an
// EncodingAESKey accepts only safe-mode pushes: a plain one could be a downgrade that skips the
// appid check.
type PushReceiver struct {
	AppID          string
	Token          wxlogin.Secret
	EncodingAESKey wxlogin.Secret
}

// VerifyURL checks the GET WeChat sends when the push URL is configured (signature, timestamp,
// nonce, echostr) and returns echostr, which the server must answer as its body. Errors:
// ErrPushInvalid.
func (p PushReceiver) VerifyURL(query url.Values) (string, error) {
	if p.Token == "" || query.Get("echostr") == "" ||
		!sigEqual(query.Get("signature"), PushSignature(p.Token.Reveal(), query.Get("timestamp"), query.Get("nonce"))) {
		return "", ErrPushInvalid
	}
	return query.Get("echostr"), nil
}

// Open verifies a pushed message (query and POST body) and returns its event. Plain mode: the body is
// the event, signed by signature. Safe mode (encrypt_type=aes): the body is {"ToUserName","Encrypt"},
// signature signs as in plain mode, msg_signature signs Encrypt too, and the decrypted message must
// end with p.AppID. Signatures are
// compared in constant time. Errors: ErrPushInvalid only.
func (p PushReceiver) Open(query url.Values, body []byte) (*PushEvent, error) {
	if p.Token == "" {
		return nil, ErrPushInvalid
	}
	token, ts, nonce := p.Token.Reveal(), query.Get("timestamp"), query.Get("nonce")
	msg := body
	// Both modes carry the plain signature.
	sigOK := sigEqual(query.Get("signature"), PushSignature(token, ts, nonce))
	switch query.Get("encrypt_type") {
	case "", "raw":
		if !sigOK || p.EncodingAESKey != "" {
			return nil, ErrPushInvalid
		}
	case "aes":
		var env struct {
			Encrypt string `json:"Encrypt"`
		}
		msgOK := false
		if json.Unmarshal(body, &env) == nil && env.Encrypt != "" {
			msgOK = sigEqual(query.Get("msg_signature"), PushSignature(token, ts, nonce, env.Encrypt))
		}
		if !sigOK || !msgOK {
			return nil, ErrPushInvalid
		}
		var err error
		if msg, err = p.decrypt(env.Encrypt); err != nil {
			return nil, ErrPushInvalid
		}
	default:
		return nil, ErrPushInvalid
	}
	var ev PushEvent
	if err := json.Unmarshal(msg, &ev); err != nil {
		return nil, ErrPushInvalid
	}
	return &ev, nil
}

// aesKey returns the 32-byte key of a 43-character EncodingAESKey.
func aesKey(encodingAESKey wxlogin.Secret) ([]byte, bool) {
	k := encodingAESKey.Reveal()
	if len(k) != 43 {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(k + "=")
	return key, err == nil && len(key) == 32
}

// pushBlock is the PKCS#7 block size of WeChat's message encryption (32, not AES's 16).
const pushBlock = 32

// decrypt opens an Encrypt field: AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 over 32-byte
// blocks; plaintext = 16 random bytes, 4-byte big-endian length, message, appid.
func (p PushReceiver) decrypt(encrypted string) ([]byte, error) {
	key, ok := aesKey(p.EncodingAESKey)
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if !ok || err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrPushInvalid
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrPushInvalid
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(pt, ct)
	n := int(pt[len(pt)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, pushBlock) & subtle.ConstantTimeLessOrEq(n, len(pt))
	for i := 1; i <= pushBlock && i <= len(pt); i++ {
		good &= subtle.ConstantTimeSelect(subtle.ConstantTimeLessOrEq(i, n), subtle.ConstantTimeByteEq(pt[len(pt)-i], byte(n)), 1)
	}
	pt = pt[:len(pt)-subtle.ConstantTimeSelect(good, n, 0)]
	if good != 1 || len(pt) < 20 {
		return nil, ErrPushInvalid
	}
	size := binary.BigEndian.Uint32(pt[16:20])
	if uint64(size) > uint64(len(pt)-20) {
		return nil, ErrPushInvalid
	}
	msg, appid := pt[20:20+size], pt[20+size:]
	if p.AppID == "" || subtle.ConstantTimeCompare(appid, []byte(p.AppID)) != 1 {
		return nil, ErrPushInvalid
	}
	return msg, nil
}

// Seal signs (and with safe, encrypts) msg as WeChat pushes it to p's app: it returns the query
// (signature, timestamp, nonce; in safe mode also encrypt_type=aes and msg_signature) and the body
// (msg itself, or {"ToUserName","Encrypt"} with msg's ToUserName). It is the sending side, for the
// simulator and tests. Errors: a Token or (safe) EncodingAESKey that is missing or malformed.
func (p PushReceiver) Seal(msg []byte, timestamp, nonce string, safe bool) (url.Values, []byte, error) {
	if p.Token == "" {
		return nil, nil, errors.New("wechat: push token is empty")
	}
	q := url.Values{"signature": {PushSignature(p.Token.Reveal(), timestamp, nonce)}, "timestamp": {timestamp}, "nonce": {nonce}}
	if !safe {
		return q, msg, nil
	}
	key, ok := aesKey(p.EncodingAESKey)
	if !ok {
		return nil, nil, errors.New("wechat: EncodingAESKey must be 43 base64 characters")
	}
	pt := make([]byte, 20, 20+len(msg)+len(p.AppID)+pushBlock)
	rand.Read(pt[:16])
	binary.BigEndian.PutUint32(pt[16:20], uint32(len(msg)))
	pt = append(append(pt, msg...), p.AppID...)
	pad := pushBlock - len(pt)%pushBlock
	pt = append(pt, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(pt, pt)
	enc := base64.StdEncoding.EncodeToString(pt)
	var head struct {
		ToUserName string `json:"ToUserName"`
	}
	json.Unmarshal(msg, &head)
	body, err := json.Marshal(struct {
		ToUserName string `json:"ToUserName"`
		Encrypt    string `json:"Encrypt"`
	}{head.ToUserName, enc})
	if err != nil {
		return nil, nil, err
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", PushSignature(p.Token.Reveal(), timestamp, nonce, enc))
	return q, body, nil
}
