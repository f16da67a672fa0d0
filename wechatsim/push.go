package wechatsim

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

const (
	pushTimeout  = 5 * time.Second // WeChat waits this long for "success"
	pushRetries  = 3               // further attempts after a failed one
	maxPushReply = 64 << 10
)

// PushConfig is an app's message-push setting: the server URL WeChat POSTs events to, the Token
// that signs them, and in safe mode (Mode "safe") the 43-character EncodingAESKey that encrypts
// them. Mode is "plain" (default) or "safe".
type PushConfig struct {
	URL            string `json:"url"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key,omitempty"`
	Mode           string `json:"mode,omitempty"`
}

func (p PushConfig) validate() error {
	u, err := url.Parse(p.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return wxlogin.Errorf(wxlogin.EINVALID, "push url must be an absolute http(s) URL")
	case len(p.Token) < 3 || len(p.Token) > 32 || strings.Trim(p.Token, alnum) != "":
		return wxlogin.Errorf(wxlogin.EINVALID, "push token must be 3 to 32 letters or digits")
	case p.Mode != "" && p.Mode != "plain" && p.Mode != "safe":
		return wxlogin.Errorf(wxlogin.EINVALID, "push mode must be plain or safe")
	case p.Mode == "safe" && pushKey(p.EncodingAESKey) == nil:
		return wxlogin.Errorf(wxlogin.EINVALID, "encoding_aes_key must be 43 characters of base64 (safe mode)")
	}
	return nil
}

// pushKey returns the 32-byte AES key of an EncodingAESKey, nil when malformed.
func pushKey(k string) []byte {
	if len(k) != 43 {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(k + "=")
	if err != nil || len(b) != 32 {
		return nil
	}
	return b
}

// SetPush configures message push for appid. Errors: ENOTFOUND (unknown app), EINVALID (bad config).
func (s *Sim) SetPush(appid string, p PushConfig) error {
	if err := p.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.appLocked(appid); err != nil {
		return err
	}
	s.push[appid] = p
	return nil
}

// PushResult says what happened to a push: Status "delivered" (the server answered "success" or an
// empty body with HTTP 200) or "failed" (after 1 + 3 attempts); LastStatus is the HTTP status of the
// last attempt (0: no answer within 5 s or no connection).
type PushResult struct {
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error,omitempty"`
}

type pushEvent struct {
	ToUserName   string `json:"ToUserName"`
	FromUserName string `json:"FromUserName"`
	CreateTime   int64  `json:"CreateTime"`
	MsgType      string `json:"MsgType"`
	Event        string `json:"Event"`
	OpenID       string `json:"OpenID"`
	AppID        string `json:"AppID"`
	RevokeInfo   string `json:"RevokeInfo,omitempty"`
}

// Push sends event (user_authorization_revoke, user_authorization_cancellation or
// user_info_modified) for device user of appid to the app's push URL, as WeChat does: signed, and
// encrypted in safe mode; an attempt fails on a transport error, no answer within 5 s, or an answer
// other than HTTP 200 with "success" or an empty body, and is retried up to 3 times. Errors:
// ENOTFOUND (unknown app), EINVALID (no push configured, bad event, empty user).
func (s *Sim) Push(ctx context.Context, appid, user, event, revokeInfo string) (*PushResult, error) {
	switch event {
	case "user_authorization_revoke", "user_authorization_cancellation", "user_info_modified":
	default:
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "event must be user_authorization_revoke, user_authorization_cancellation or user_info_modified")
	}
	s.mu.Lock()
	u, err := s.deviceLocked(appid, user)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	cfg, ok := s.push[appid]
	now := s.nowLocked()
	s.mu.Unlock()
	if !ok {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "app %q has no push configured (POST /sim/push-config)", appid)
	}
	msg, err := marshalNoEscape(pushEvent{ToUserName: "gh_" + deriveID("gh", appid, "")[1:13], FromUserName: u.openid,
		CreateTime: now.Unix(), MsgType: "event", Event: event, OpenID: u.openid, AppID: appid, RevokeInfo: revokeInfo})
	if err != nil {
		return nil, err
	}
	res := &PushResult{Status: "failed"}
	for res.Attempts <= pushRetries && ctx.Err() == nil {
		res.Attempts++
		q, body, err := sealPush(cfg, appid, msg, strconv.FormatInt(now.Unix(), 10), randomDigits(10))
		if err != nil {
			return nil, err
		}
		status, reply, err := s.sendPush(ctx, cfg.URL, q, body)
		res.LastStatus, res.LastError = status, ""
		if err != nil {
			res.LastError = err.Error()
		} else if r := strings.TrimSpace(reply); status == http.StatusOK && (r == "success" || r == "") {
			res.Status = "delivered"
			break
		}
	}
	s.log.Debug("wechatsim: push", "appid", appid, "event", event, "status", res.Status, "attempts", res.Attempts)
	return res, nil
}

func (s *Sim) sendPush(ctx context.Context, target string, q url.Values, body []byte) (int, string, error) {
	u, _ := url.Parse(target) // validated
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.pushClient.Do(req)
	if err != nil {
		// Never echo the URL (it carries the signature).
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPushReply))
	if err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, string(b), nil
}

// pushSig returns hex(sha1(sorted values joined)).
func pushSig(values ...string) string {
	sort.Strings(values)
	h := sha1.Sum([]byte(strings.Join(values, "")))
	return hex.EncodeToString(h[:])
}

// sealPush returns the query and body of a push of msg under cfg.
func sealPush(cfg PushConfig, appid string, msg []byte, timestamp, nonce string) (url.Values, []byte, error) {
	q := url.Values{"signature": {pushSig(cfg.Token, timestamp, nonce)}, "timestamp": {timestamp}, "nonce": {nonce}}
	if cfg.Mode != "safe" {
		return q, msg, nil
	}
	key := pushKey(cfg.EncodingAESKey)
	var plain bytes.Buffer
	random := make([]byte, 16)
	rand.Read(random)
	plain.Write(random)
	binary.Write(&plain, binary.BigEndian, uint32(len(msg)))
	plain.Write(msg)
	plain.WriteString(appid)
	pad := 32 - plain.Len()%32
	plain.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	ct := plain.Bytes()
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(ct, ct)
	enc := base64.StdEncoding.EncodeToString(ct)
	var head pushEvent
	_ = json.Unmarshal(msg, &head)
	body, err := marshalNoEscape(struct {
		ToUserName string `json:"ToUserName"`
		Encrypt    string `json:"Encrypt"`
	}{head.ToUserName, enc})
	if err != nil {
		return nil, nil, err
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", pushSig(cfg.Token, timestamp, nonce, enc))
	return q, body, nil
}
