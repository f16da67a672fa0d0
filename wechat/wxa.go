package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wxlogin/wxlogin"
)

// CheckSessionKey asks WeChat whether key is the user's current valid session_key; nil means it is.
// Errors: *APIError 87009 (IsInvalidSignature: the key was replaced or expired), 87007
// (IsSessionKeyExpired), 87008, -1, 45011; token errors after one retry; *TransportError. A transport
// error or -1 is retried once.
func (c *Client) CheckSessionKey(ctx context.Context, openid string, key wxlogin.Secret) error {
	sig := LoginStateSignature(key, nil)
	var out struct{}
	return c.withToken(ctx, func(token wxlogin.Secret) error {
		return c.doRead(ctx, call{
			api:    apiCheckSession,
			method: http.MethodGet,
			query: url.Values{
				"access_token": {token.Reveal()},
				"signature":    {sig},
				"openid":       {openid},
				"sig_method":   {"hmac_sha256"},
			},
			sensitive: []string{token.Reveal(), sig, key.Reveal()},
		}, &out)
	})
}

// ResetUserSessionKey makes WeChat replace the user's session_key, whose current value is key, and
// returns the new one (the old one stops working at once). Errors: *APIError 87009, 87007, 87008,
// 40097, -1, 45011; token errors after one retry; *TransportError.
func (c *Client) ResetUserSessionKey(ctx context.Context, openid string, key wxlogin.Secret) (wxlogin.Secret, error) {
	sig := LoginStateSignature(key, nil)
	var out struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
	}
	err := c.withToken(ctx, func(token wxlogin.Secret) error {
		return c.do(ctx, call{
			api:    apiResetSessionKey,
			method: http.MethodGet,
			query: url.Values{
				"access_token": {token.Reveal()},
				"openid":       {openid},
				"signature":    {sig},
				"sig_method":   {"hmac_sha256"},
			},
			sensitive: []string{token.Reveal(), sig, key.Reveal()},
			noReplay:  true, // each call replaces the key: never sent twice
		}, &out)
	})
	if err != nil {
		return "", err
	}
	if out.SessionKey == "" {
		return "", incomplete(apiResetSessionKey, "session_key")
	}
	return wxlogin.Secret(out.SessionKey), nil
}

// PhoneInfo is a user's phone number as WeChat reports it. CountryCode is accepted as a JSON string
// or number.
type PhoneInfo struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       Watermark `json:"watermark"`
}

// Watermark identifies the app and time WeChat produced data for.
type Watermark struct {
	AppID     string `json:"appid"`
	Timestamp int64  `json:"timestamp"`
}

// UnmarshalJSON decodes a phone_info object, with countryCode as a string or a number.
func (p *PhoneInfo) UnmarshalJSON(b []byte) error {
	type plain PhoneInfo
	var v struct {
		plain
		CountryCode json.RawMessage `json:"countryCode"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = PhoneInfo(v.plain)
	p.CountryCode = ""
	cc := bytes.TrimSpace(v.CountryCode)
	switch {
	case len(cc) == 0 || string(cc) == "null":
	case cc[0] == '"':
		if err := json.Unmarshal(cc, &p.CountryCode); err != nil {
			return err
		}
	default:
		var n json.Number
		if err := json.Unmarshal(cc, &n); err != nil {
			return err
		}
		p.CountryCode = n.String()
	}
	return nil
}

// GetPhoneNumber exchanges a getPhoneNumber button code for the user's phone number. openid is
// optional ("" leaves it out); when given, WeChat checks the code belongs to that user. Errors:
// *APIError 40029 (IsInvalidCode: unknown, expired, used, or a wx.login code), 40013 (code of another
// app), -1, 45011; token errors after one retry; *TransportError.
func (c *Client) GetPhoneNumber(ctx context.Context, code, openid string) (*PhoneInfo, error) {
	body := map[string]string{"code": code}
	if openid != "" {
		body["openid"] = openid
	}
	var out struct {
		PhoneInfo *PhoneInfo `json:"phone_info"`
	}
	err := c.withToken(ctx, func(token wxlogin.Secret) error {
		return c.do(ctx, call{
			api:       apiGetPhoneNumber,
			method:    http.MethodPost,
			query:     url.Values{"access_token": {token.Reveal()}},
			body:      body,
			sensitive: []string{token.Reveal(), code},
		}, &out)
	})
	if err != nil {
		return nil, err
	}
	if out.PhoneInfo == nil || out.PhoneInfo.PurePhoneNumber == "" && out.PhoneInfo.PhoneNumber == "" {
		return nil, incomplete(apiGetPhoneNumber, "phone_info")
	}
	return out.PhoneInfo, nil
}

// GetPaidUnionID returns the unionid of the user who paid transactionID within the last 5 minutes.
// Errors: *APIError 40003 (invalid openid), 89002 (app not bound to an Open Platform account), 89300
// (invalid trade), -1, 45011; token errors after one retry; *TransportError. A transport error or -1
// is retried once.
func (c *Client) GetPaidUnionID(ctx context.Context, openid, transactionID string) (string, error) {
	var out struct {
		UnionID string `json:"unionid"`
	}
	err := c.withToken(ctx, func(token wxlogin.Secret) error {
		return c.doRead(ctx, call{
			api:    apiGetPaidUnionID,
			method: http.MethodGet,
			query: url.Values{
				"access_token":   {token.Reveal()},
				"openid":         {openid},
				"transaction_id": {transactionID},
			},
			sensitive: []string{token.Reveal()},
		}, &out)
	})
	if err != nil {
		return "", err
	}
	if out.UnionID == "" {
		return "", incomplete(apiGetPaidUnionID, "unionid")
	}
	return out.UnionID, nil
}

// readRetryPause is how long a read-only call waits before its one retry.
const readRetryPause = 100 * time.Millisecond

// doRead performs a read-only call like do, and once more after readRetryPause when it failed
// temporarily (a transport error or -1) and ctx is still live. Calls the breaker or the concurrency
// bound refused, and 45011 (quota: retrying makes it worse), are not retried.
func (c *Client) doRead(ctx context.Context, r call, out any) error {
	err := c.do(ctx, r, out)
	var te *TransportError
	retry := IsSystemBusy(err) || errors.As(err, &te) && !errors.Is(err, ErrCircuitOpen) && !errors.Is(err, ErrOverloaded)
	if !retry || ctx.Err() != nil {
		return err
	}
	t := time.NewTimer(readRetryPause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return err
	case <-t.C:
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "wechat read-only call retried", slog.String("api", r.api))
	return c.do(ctx, r, out)
}
