package wechat

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// WeChat error codes the client branches on (docs/wechat-api.md §0).
const (
	CodeSystemBusy         = -1
	CodeInvalidCredential  = 40001 // access_token invalid or not latest; on the token APIs: wrong secret
	CodeInvalidOpenID      = 40003
	CodeInvalidAccessToken = 40014
	CodeInvalidCode        = 40029
	CodeCodeUsed           = 40163
	CodeUserBlocked        = 40226
	CodeTokenExpired       = 42001
	CodeDailyQuota         = 45009
	CodeMinuteQuota        = 45011
	CodeSessionKeyExpired  = 87007
	CodeInvalidSigMethod   = 87008
	CodeInvalidSignature   = 87009
	CodeNotBound           = 89002
	CodeInvalidTrade       = 89300

	CodeInvalidRefreshToken = 40030 // web OAuth refresh_token unknown
	CodeInvalidScene        = 40169 // getwxacodeunlimit: scene too long or outside the alphabet
	CodeMissingCode         = 41008
	CodeInvalidPage         = 41030 // getwxacodeunlimit: page not published or malformed
	CodeRefreshTokenExpired = 42002
	CodeAPIUnauthorized     = 48001 // also: /sns/userinfo with a snsapi_base token
)

// APIError is a failure WeChat reported in the response body (a non-zero errcode). API is the path of
// the call, e.g. "/sns/jscode2session". Msg is WeChat's errmsg with any value of the request that must
// stay secret (app secret, code, token, signature) replaced by "[redacted]", cut to 512 bytes. It is
// WeChat's wording for logs, not a message for end users.
type APIError struct {
	Code int
	Msg  string
	API  string
}

// Error returns "wechat: <API>: errcode <Code>: <Msg>"; it never contains a URL or a secret.
func (e *APIError) Error() string {
	return fmt.Sprintf("wechat: %s: errcode %d: %s", e.API, e.Code, e.Msg)
}

// TransportError is a failure to get a usable answer from WeChat: a timeout, a connection error, a
// body that is not JSON or too large, an HTTP error status without a JSON body, or a success body
// lacking required fields. Err never carries the request URL (a *url.Error is unwrapped).
type TransportError struct {
	API string
	Err error
	// RetryAfter, when set, is how long until WeChat may be tried again (a circuit breaker's
	// cool-down left).
	RetryAfter time.Duration
}

// Error returns "wechat: <API>: transport: <Err>".
func (e *TransportError) Error() string {
	return fmt.Sprintf("wechat: %s: transport: %v", e.API, e.Err)
}

// Unwrap returns Err, so errors.Is(err, context.DeadlineExceeded) works.
func (e *TransportError) Unwrap() error { return e.Err }

// redactedError replaces an error whose message contained a secret. It keeps the original only for
// errors.Is (e.g. context.DeadlineExceeded), never for its message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Is(target error) bool {
	return errors.Is(e.err, target)
}

// newTransportError returns a *TransportError for api. It strips *url.Error wrappers (their message
// holds the full URL, query and all) and redacts any of the sensitive values from what remains.
func newTransportError(api string, err error, sensitive []string) *TransportError {
	for {
		var ue *url.Error
		if !errors.As(err, &ue) {
			break
		}
		// errors.As may find the *url.Error below other wrappers: rebuild from its cause,
		// keeping nothing of the wrappers' messages, which could quote it.
		if ue.Err == nil {
			err = errors.New("request failed")
			break
		}
		err = ue.Err
	}
	msg := err.Error()
	if r := redact(msg, sensitive); r != msg {
		err = &redactedError{msg: r, err: err}
	}
	return &TransportError{API: api, Err: err}
}

// redact replaces every value of sensitive in s by "[redacted]". Values shorter than 4 bytes are
// skipped: no real secret is that short, and replacing them would garble the message.
func redact(s string, sensitive []string) string {
	for _, v := range sensitive {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// APICode returns the errcode of the *APIError in err's chain, or 0 when there is none.
func APICode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func hasCode(err error, codes ...int) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// IsSystemBusy reports whether WeChat answered -1 (system busy, retry later).
func IsSystemBusy(err error) bool { return hasCode(err, CodeSystemBusy) }

// IsInvalidCode reports 40029: the code is unknown, expired, from another app, or (phone API) a
// wx.login code.
func IsInvalidCode(err error) bool { return hasCode(err, CodeInvalidCode) }

// IsCodeUsed reports 40163: the code was already exchanged.
func IsCodeUsed(err error) bool { return hasCode(err, CodeCodeUsed) }

// IsUserBlocked reports 40226: WeChat blocks this high-risk user's login.
func IsUserBlocked(err error) bool { return hasCode(err, CodeUserBlocked) }

// IsRateLimited reports 45011 (minute quota) and 45009 (daily quota).
func IsRateLimited(err error) bool { return hasCode(err, CodeMinuteQuota, CodeDailyQuota) }

// IsTokenInvalid reports whether an API that takes an access_token rejected it: 40001, 40014 or
// 42001. It is false for errors of the token APIs themselves, where 40001 means a wrong app secret.
func IsTokenInvalid(err error) bool {
	var e *APIError
	if !errors.As(err, &e) || isTokenAPI(e.API) || isOAuthUserAPI(e.API) {
		return false
	}
	return hasCode(err, CodeInvalidCredential, CodeInvalidAccessToken, CodeTokenExpired)
}

// IsInvalidSignature reports 87009: the login-state signature is wrong, which also means the
// session_key was replaced or expired.
func IsInvalidSignature(err error) bool { return hasCode(err, CodeInvalidSignature) }

// IsSessionKeyExpired reports 87007: the session_key does not exist or has expired.
func IsSessionKeyExpired(err error) bool { return hasCode(err, CodeSessionKeyExpired) }

// IsTemporary reports whether the failure is worth retrying later: -1, 45011 or a *TransportError.
func IsTemporary(err error) bool {
	var te *TransportError
	return errors.As(err, &te) || hasCode(err, CodeSystemBusy, CodeMinuteQuota)
}

func isTokenAPI(api string) bool { return api == apiToken || api == apiStableToken }

// isOAuthUserAPI reports the APIs that take a user's web OAuth access token, not the app's.
func isOAuthUserAPI(api string) bool { return api == apiOAuthUserInfo || api == apiOAuthCheck }

// IsInvalidOpenID reports 40003: the openid is unknown to the app (or not the OAuth token's).
func IsInvalidOpenID(err error) bool { return hasCode(err, CodeInvalidOpenID) }

// IsMissingCode reports 41008: the OAuth exchange was sent without a code.
func IsMissingCode(err error) bool { return hasCode(err, CodeMissingCode) }

// IsOAuthTokenInvalid reports whether /sns/userinfo or /sns/auth rejected the user's OAuth access
// token (40001, 40014, 42001): refresh it with OAuthRefresh or sign the user in again.
func IsOAuthTokenInvalid(err error) bool {
	var e *APIError
	if !errors.As(err, &e) || !isOAuthUserAPI(e.API) {
		return false
	}
	return hasCode(err, CodeInvalidCredential, CodeInvalidAccessToken, CodeTokenExpired)
}

// IsRefreshTokenInvalid reports 40030 (unknown refresh_token) and 42002 (refresh_token expired):
// the user must sign in again.
func IsRefreshTokenInvalid(err error) bool {
	return hasCode(err, CodeInvalidRefreshToken, CodeRefreshTokenExpired)
}

// IsScopeUnauthorized reports 48001: the API is not authorized, e.g. /sns/userinfo with a
// snsapi_base token.
func IsScopeUnauthorized(err error) bool { return hasCode(err, CodeAPIUnauthorized) }

// IsInvalidScene reports 40169: getwxacodeunlimit's scene is too long or outside the alphabet.
func IsInvalidScene(err error) bool { return hasCode(err, CodeInvalidScene) }

// IsInvalidPage reports 41030: getwxacodeunlimit's page is malformed or (check_path) not published.
func IsInvalidPage(err error) bool { return hasCode(err, CodeInvalidPage) }
