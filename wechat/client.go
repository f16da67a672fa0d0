// Package wechat is the client for the WeChat server API that wxlogin uses (code2Session, access
// tokens, checkSessionKey, resetUserSessionKey, getPhoneNumber, getPaidUnionId) and the open-data
// crypto of mini programs (decryption of encrypted data, rawData and login-state signatures).
//
// No error or log line of this package carries the app secret, an access token, a code, a
// session_key or a URL with a query string.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// API paths, also the API field of errors.
const (
	apiCode2Session     = "/sns/jscode2session"
	apiToken            = "/cgi-bin/token"
	apiStableToken      = "/cgi-bin/stable_token"
	apiCheckSession     = "/wxa/checksession"
	apiResetSessionKey  = "/wxa/resetusersessionkey"
	apiGetPhoneNumber   = "/wxa/business/getuserphonenumber"
	apiGetPaidUnionID   = "/wxa/getpaidunionid"
	maxResponseBodySize = 1 << 20
	maxErrMsg           = 512 // bytes of errmsg kept in an APIError
)

// Config configures a Client. Only AppID and Secret are required.
type Config struct {
	BaseURL    string         // default DefaultBaseURL; tests and dev mode point it at the simulator
	AppID      string         // the mini program's appid
	Secret     wxlogin.Secret // app secret: only ever sent as a request parameter
	HTTPClient *http.Client   // default: 5 s timeout, no redirects
	Now        func() time.Time
	Logger     *slog.Logger // default: discard
	Tokens     TokenCache   // shared access-token cache; default NewMemoryTokenCache()
	// PlainToken makes the client use GET /cgi-bin/token instead of POST /cgi-bin/stable_token.
	// Every plain fetch replaces the previous token (after a 5-minute overlap), so use it only when
	// this client is the app's one token user.
	PlainToken bool
}

// Client calls the WeChat server API for one app. It is safe for concurrent use.
type Client struct {
	base       string
	appid      string
	secret     wxlogin.Secret
	hc         *http.Client
	now        func() time.Time
	log        *slog.Logger
	tokens     TokenCache
	plainToken bool

	// Access-token refresh tuning (see token.go); fixed in NewClient, shortened by tests.
	refreshAhead time.Duration
	lockTTL      time.Duration
	lockWait     time.Duration
	lockPoll     time.Duration

	mu      sync.Mutex
	flights map[wxlogin.Secret]*flight
}

// NewClient returns a Client for cfg with the defaults filled in.
func NewClient(cfg Config) *Client {
	c := &Client{
		base:         strings.TrimRight(cfg.BaseURL, "/"),
		appid:        cfg.AppID,
		secret:       cfg.Secret,
		hc:           cfg.HTTPClient,
		now:          cfg.Now,
		log:          cfg.Logger,
		tokens:       cfg.Tokens,
		plainToken:   cfg.PlainToken,
		refreshAhead: defaultRefreshAhead,
		lockTTL:      defaultLockTTL,
		lockWait:     defaultLockWait,
		lockPoll:     defaultLockPoll,
		flights:      make(map[wxlogin.Secret]*flight),
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.hc == nil {
		c.hc = &http.Client{
			Timeout: 5 * time.Second,
			// WeChat does not redirect; following one would resend the secret elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.tokens == nil {
		c.tokens = NewMemoryTokenCache()
	}
	return c
}

// AppID returns the appid the client calls for.
func (c *Client) AppID() string { return c.appid }

// call describes one request. Query and Body values listed in Sensitive never reach an error or a
// log line.
type call struct {
	api       string
	method    string
	query     url.Values
	body      any // JSON-encoded when non-nil (POST)
	sensitive []string
}

// envelope is the part every WeChat response may carry.
type envelope struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// do performs r and decodes the JSON body into out. It returns an *APIError when the body carries a
// non-zero errcode (whatever the HTTP status), and a *TransportError when no JSON answer came back.
func (c *Client) do(ctx context.Context, r call, out any) error {
	start := c.now()
	status, err := c.roundTrip(ctx, r, out)
	attrs := []slog.Attr{slog.String("api", r.api), slog.Int("status", status), slog.Duration("duration", c.now().Sub(start))}
	if err != nil {
		// WeChat's refusals (a used code, a replaced key) are routine; failing to reach it is not.
		level := slog.LevelWarn
		var ae *APIError
		if errors.As(err, &ae) && !IsSystemBusy(err) {
			level = slog.LevelInfo
		}
		attrs = append(attrs, slog.Int("errcode", APICode(err)), slog.String("error", err.Error()))
		c.log.LogAttrs(ctx, level, "wechat call failed", attrs...)
		return err
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "wechat call", attrs...)
	return nil
}

func (c *Client) roundTrip(ctx context.Context, r call, out any) (status int, err error) {
	u := c.base + r.api
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return 0, fmt.Errorf("wechat: %s: encoding request: %w", r.api, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		// The message of a URL parse error quotes the URL.
		return 0, newTransportError(r.api, errors.New("invalid base URL"), r.sensitive)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, newTransportError(r.api, err, r.sensitive)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBodySize+1))
	if err != nil {
		return resp.StatusCode, newTransportError(r.api, fmt.Errorf("reading body (HTTP %d): %w", resp.StatusCode, err), r.sensitive)
	}
	if len(raw) > maxResponseBodySize {
		return resp.StatusCode, newTransportError(r.api, fmt.Errorf("response body over %d bytes (HTTP %d)", maxResponseBodySize, resp.StatusCode), nil)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		// Never quote the body: it is not ours to log and might echo the request.
		return resp.StatusCode, newTransportError(r.api, fmt.Errorf("HTTP %d: body is not a JSON object", resp.StatusCode), nil)
	}
	if env.ErrCode != nil && *env.ErrCode != 0 {
		return resp.StatusCode, &APIError{Code: *env.ErrCode, Msg: truncate(redact(env.ErrMsg, r.sensitive), maxErrMsg), API: r.api}
	}
	if env.ErrCode == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return resp.StatusCode, newTransportError(r.api, fmt.Errorf("HTTP %d without errcode", resp.StatusCode), nil)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, newTransportError(r.api, fmt.Errorf("HTTP %d: unexpected response shape", resp.StatusCode), nil)
	}
	return resp.StatusCode, nil
}

// truncate returns s cut to at most n bytes, on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// incomplete returns the *TransportError for a success body that lacks a required field.
func incomplete(api, field string) error {
	return &TransportError{API: api, Err: fmt.Errorf("response lacks %s", field)}
}

// Session is the result of code2Session.
type Session struct {
	OpenID     string
	UnionID    string // "" unless the app is bound to an Open Platform account
	SessionKey wxlogin.Secret
}

// Code2Session exchanges a wx.login code for the user's openid, session_key and (for apps bound to
// an Open Platform account) unionid. Errors: *APIError -1, 40029 (IsInvalidCode), 40163
// (IsCodeUsed), 40226 (IsUserBlocked), 45011 (IsRateLimited); *TransportError.
func (c *Client) Code2Session(ctx context.Context, code string) (*Session, error) {
	var out struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		UnionID    string `json:"unionid"`
	}
	err := c.do(ctx, call{
		api:    apiCode2Session,
		method: http.MethodGet,
		query: url.Values{
			"appid":      {c.appid},
			"secret":     {c.secret.Reveal()},
			"js_code":    {code},
			"grant_type": {"authorization_code"},
		},
		sensitive: []string{c.secret.Reveal(), code},
	}, &out)
	if err != nil {
		return nil, err
	}
	if out.OpenID == "" {
		return nil, incomplete(apiCode2Session, "openid")
	}
	if out.SessionKey == "" {
		return nil, incomplete(apiCode2Session, "session_key")
	}
	return &Session{OpenID: out.OpenID, UnionID: out.UnionID, SessionKey: wxlogin.Secret(out.SessionKey)}, nil
}
