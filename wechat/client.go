// Package wechat is the client for the WeChat server API that wxlogin uses (code2Session, access
// tokens, checkSessionKey, resetUserSessionKey, getPhoneNumber, getPaidUnionId, web OAuth,
// getwxacodeunlimit, getuserriskrank, checkEncryptedData) and the crypto of mini programs and
// message push (decryption of encrypted data, rawData and login-state signatures, push signatures and
// safe-mode encryption).
//
// No error or log line of this package carries the app secret, an access token, a code, a
// session_key or a URL with a query string.
//
// # Resilience
//
// Each API of a Client has its own circuit breaker: after Config.BreakerFailures (5) consecutive
// temporary failures — transport errors, timeouts, unreadable bodies, errcode -1 — it opens and
// fails calls at once with a *TransportError wrapping ErrCircuitOpen (IsTemporary is true), without
// sending them. Business errcodes (40029, 40163, 45011, …) mean WeChat is up and reset the count.
// After Config.BreakerCooldown (10 s) it lets one probe through: success closes it, a failure opens
// it for another cool-down. At most Config.MaxConcurrent (64) calls of a Client are in flight; a
// caller waits for a slot until its context ends or Config.MaxWait (5 s) passes, then gets a
// *TransportError wrapping ErrOverloaded.
//
// # Retries
//
// A call is repeated only where WeChat cannot act twice on it:
//   - code2Session and getPhoneNumber are never retried: WeChat may have consumed the code when the
//     answer was lost, and a second exchange fails (40163/40029) or, worse, succeeds twice. Neither
//     is resetUserSessionKey, each call of which replaces the key. net/http's Transport would
//     resend a GET on a reused connection that broke after the request was written (it retries
//     requests it considers replayable: GET/HEAD/OPTIONS/TRACE, or any method carrying an
//     Idempotency-Key header); these GETs are sent with an empty non-replayable body, which the
//     transport sends as a plain GET but never resends. getPhoneNumber is a POST, never replayable.
//     The price: on a kept-alive connection WeChat closed just as it was reused, such a call fails
//     with a temporary error even when WeChat never saw it; the client cannot tell the two apart.
//   - The access-token APIs are not retried on failure; a call rejected for its access token
//     (40001, 42001, 40014) gets a fresh token and is sent exactly once more — WeChat refused it
//     before acting on it.
//   - checkSession, getPaidUnionId, getuserriskrank and checkEncryptedData only read: one retry
//     after 100 ms on a transport error or -1, unless the breaker or the concurrency bound refused
//     the call. 45011 is never retried.
//   - getwxacodeunlimit is an access-token API: a 40001/42001 gets a fresh token and one more try;
//     nothing else is retried (a lost image is drawn again by the caller, if it wants).
//   - The web OAuth calls (OAuthExchange, OAuthRefresh, OAuthUserInfo, OAuthCheck) are never
//     retried and are sent non-replayable: a code works once, a refresh replaces the user's token,
//     and the user's token is no app access token (its 40001/42001 are IsOAuthTokenInvalid, not
//     IsTokenInvalid, and get no fresh-token retry).
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
	apiOAuthToken       = "/sns/oauth2/access_token"
	apiOAuthRefresh     = "/sns/oauth2/refresh_token"
	apiOAuthUserInfo    = "/sns/userinfo"
	apiOAuthCheck       = "/sns/auth"
	apiWXACodeUnlimit   = "/wxa/getwxacodeunlimit"
	apiUserRiskRank     = "/wxa/getuserriskrank"
	apiCheckEncrypted   = "/wxa/business/checkencryptedmsg"
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

	// BreakerFailures is how many consecutive temporary failures (transport errors, timeouts,
	// unreadable bodies, errcode -1) of one API open its circuit breaker; default
	// DefaultBreakerFailures, negative disables the breakers. Business errcodes (40029, 45011, …)
	// mean WeChat is up and do not count.
	BreakerFailures int
	// BreakerCooldown is how long an open breaker fails calls fast before it lets one probe through;
	// default DefaultBreakerCooldown.
	BreakerCooldown time.Duration
	// MaxConcurrent bounds the client's WeChat calls in flight; default DefaultMaxConcurrent,
	// negative means no bound. A call waits for a slot until its context ends or MaxWait passes
	// (default DefaultMaxWait), then fails with ErrOverloaded.
	MaxConcurrent int
	MaxWait       time.Duration
	// Observer receives measurements of every call; nil observes nothing.
	Observer Observer
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

	breakers map[string]*breaker // by API path
	sem      chan struct{}       // one slot per call in flight; nil: no bound
	maxWait  time.Duration
	obs      Observer

	mu      sync.Mutex
	flights map[wxlogin.Secret]*flight
	last    Token // the last token fetched or read from the cache, served while the cache fails
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
		maxWait:      cfg.MaxWait,
		obs:          cfg.Observer,
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	switch n := cfg.MaxConcurrent; {
	case n == 0:
		c.sem = make(chan struct{}, DefaultMaxConcurrent)
	case n > 0:
		c.sem = make(chan struct{}, n)
	}
	if cfg.BreakerFailures >= 0 {
		threshold, cooldown := cfg.BreakerFailures, cfg.BreakerCooldown
		if threshold == 0 {
			threshold = DefaultBreakerFailures
		}
		if cooldown <= 0 {
			cooldown = DefaultBreakerCooldown
		}
		c.breakers = make(map[string]*breaker)
		for _, api := range []string{apiCode2Session, apiToken, apiStableToken, apiCheckSession, apiResetSessionKey, apiGetPhoneNumber, apiGetPaidUnionID,
			apiOAuthToken, apiOAuthRefresh, apiOAuthUserInfo, apiOAuthCheck, apiWXACodeUnlimit, apiUserRiskRank, apiCheckEncrypted} {
			c.breakers[api] = &breaker{api: api, threshold: threshold, cooldown: cooldown}
		}
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
	// noReplay marks a GET that must never be sent twice (see the package doc, Retries): net/http
	// must not resend it on a reused connection that died after it was written.
	noReplay bool
	// image, when set, receives a success answer whose Content-Type is image/*: its body and
	// content type (getwxacodeunlimit). Any other answer is read as JSON.
	image *imageBody
}

// imageBody is an image answer.
type imageBody struct {
	data        []byte
	contentType string
}

// envelope is the part every WeChat response may carry.
type envelope struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// do performs r and decodes the JSON body into out. It returns an *APIError when the body carries a
// non-zero errcode (whatever the HTTP status), and a *TransportError when no JSON answer came back.
// A call refused by the circuit breaker or the concurrency bound fails at once with a
// *TransportError wrapping ErrCircuitOpen or ErrOverloaded, without being sent.
func (c *Client) do(ctx context.Context, r call, out any) error {
	done, err := c.admit(ctx, r.api)
	if err != nil {
		return err
	}
	start := c.now()
	status, err := c.roundTrip(ctx, r, out)
	d := c.now().Sub(start)
	c.observeCall(r.api, err, d)
	done(err)
	attrs := []slog.Attr{slog.String("api", r.api), slog.Int("status", status), slog.Duration("duration", d)}
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
	if r.noReplay && body == nil {
		// net/http resends an idempotent request on a reused connection that broke before the
		// first response byte, even after the request was written (Transport, isReplayable). A
		// request with a Body that is not http.NoBody and no GetBody is not replayable; the
		// transport finds this Body empty and sends a plain GET without a body.
		req.Body, req.GetBody, req.ContentLength = io.NopCloser(strings.NewReader("")), nil, 0
	}
	if r.image != nil {
		req.Header.Set("Accept", "image/*, application/json")
	} else {
		req.Header.Set("Accept", "application/json")
	}
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
	if r.image != nil {
		if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "image/") {
			if resp.StatusCode < 200 || resp.StatusCode > 299 || len(raw) == 0 {
				return resp.StatusCode, newTransportError(r.api, fmt.Errorf("HTTP %d: empty or failed image answer", resp.StatusCode), nil)
			}
			r.image.data, r.image.contentType = raw, ct
			return resp.StatusCode, nil
		}
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

// Session is the result of code2Session (wxlogin.WeChatSession).
type Session = wxlogin.WeChatSession

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
		noReplay:  true, // the code may already be spent: never sent twice
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
