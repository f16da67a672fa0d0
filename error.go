// Package wxlogin holds the domain types of the wxlogin login server: users, WeChat identities,
// accounts, sessions, signing keys, audit events, the error codes every layer speaks, and the Store
// interface the storage backends implement. It imports neither net/http nor database/sql.
package wxlogin

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in the http package's table (docs/architecture.md §3).
const (
	EINVALID          = "invalid_request"      // 400
	EINVALIDCODE      = "invalid_code"         // 401: WeChat 40029/40163
	EUSERBLOCKED      = "user_blocked"         // 403: WeChat 40226
	EUNAUTHORIZED     = "unauthorized"         // 401
	ECREDENTIALS      = "invalid_credentials"  // 401
	EFORBIDDEN        = "forbidden"            // 403
	ENOTFOUND         = "not_found"            // 404
	ECONFLICT         = "conflict"             // 409
	ESESSIONKEYSTALE  = "session_key_stale"    // 409: encrypted data no longer decrypts
	ERATELIMITED      = "rate_limited"         // 429 + Retry-After
	EUPSTREAMUNAVAIL  = "upstream_unavailable" // 503 + Retry-After
	EUPSTREAM         = "upstream_error"       // 502
	EINTERNAL         = "internal"             // 500
	EMETHODNOTALLOWED = "method_not_allowed"   // 405
	EOVERLOADED       = "overloaded"           // 503 + Retry-After: too many requests in flight
	ETOOLARGE         = "payload_too_large"    // 413: the body is over the configured limit
	ENOACCOUNT        = "no_account"           // 403: sign-up is closed and the WeChat user has no account (with a link_token)
	ESNAPSHOTUSER     = "snapshot_user"        // 403: a WeChat snapshot-page visitor (virtual openid)
)

// ErrorCodes returns every error code above, in their order. It is what the http package's
// code→status table, http/openapi.yaml and the SDK's errors.ts are checked against
// (contract_codes_test.go): a new code goes in the const block and here.
func ErrorCodes() []string {
	return []string{
		EINVALID, EINVALIDCODE, EUSERBLOCKED, EUNAUTHORIZED, ECREDENTIALS, EFORBIDDEN, ENOTFOUND, ECONFLICT,
		ESESSIONKEYSTALE, ERATELIMITED, EUPSTREAMUNAVAIL, EUPSTREAM, EINTERNAL, EMETHODNOTALLOWED, EOVERLOADED,
		ETOOLARGE,
		ENOACCOUNT,
		ESNAPSHOTUSER,
	}
}

// Error is the one error type of wxlogin that callers may see. Its Message is safe to show to a
// client: it never carries a secret. Any other error is internal.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set, tells the client how long to wait (rate_limited, upstream_unavailable).
	RetryAfter time.Duration
}

// Error returns the message with its code.
func (e *Error) Error() string { return fmt.Sprintf("wxlogin: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, "" for nil, and EINTERNAL otherwise.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of the *Error in err's chain, and "internal error"
// for any other error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns the RetryAfter of the *Error in err's chain, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
