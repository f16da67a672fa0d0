package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/wxlogin/wxlogin"
)

// timeArg binds a time.Time as the dialect stores it: unix nanoseconds or a UTC timestamp (which
// PostgreSQL truncates to microseconds), and the zero time as NULL.
type timeArg struct {
	t time.Time
	d *Dialect
}

// Value implements driver.Valuer. It returns nil for the zero time and an EINVALID
// *wxlogin.Error for a time outside the dialect's range.
func (a timeArg) Value() (driver.Value, error) {
	switch {
	case a.t.IsZero():
		return nil, nil
	case a.t.Before(a.d.MinTime) || a.t.After(a.d.MaxTime):
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "time %s is out of the storable range", a.t.UTC().Format(time.RFC3339))
	case a.d.UnixNanos:
		return a.t.UnixNano(), nil
	}
	return a.t.UTC(), nil
}

// timeCol scans a time column (unix nanoseconds or a timestamp) into a UTC time.Time, and NULL
// into the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.Unix(0, v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("time column holds %T", src)
	}
	return nil
}

// conflicts names what broke, by the key a Dialect's Classify reports for a unique violation: the
// constraint or unique index (PostgreSQL) or the "table.column" list (SQLite). Messages carry no
// values: ids, unionids, phone numbers and token hashes stay out.
var conflicts = map[string]string{}

func init() {
	for _, c := range [][3]string{
		{"users_pkey", "users.id", "user already exists"},
		{"users_unionid", "users.unionid", "unionid already belongs to another user"},
		{"users_phone", "users.phone_country_code, users.phone", "phone number already belongs to another user"},
		{"accounts_pkey", "accounts.user_id", "user already has an account"},
		{"accounts_username_key", "accounts.username", "username is taken"},
		{"wechat_identities_pkey", "wechat_identities.appid, wechat_identities.openid", "identity already exists"},
		{"sessions_pkey", "sessions.id", "session already exists"},
		{"refresh_tokens_pkey", "refresh_tokens.hash", "refresh token already exists"},
		{"signing_keys_pkey", "signing_keys.id", "signing key already exists"},
		{"oidc_auth_requests_pkey", "oidc_auth_requests.id", "auth request already exists"},
		{"oidc_auth_requests_code", "oidc_auth_requests.code_hash", "code already exists"},
		{"oidc_grants_pkey", "oidc_grants.session_id", "session already has a grant"},
		{"link_tokens_pkey", "link_tokens.hash", "link token already exists"},
		{"web_tickets_pkey", "web_tickets.hash", "ticket already exists"},
		{"qr_logins_pkey", "qr_logins.id", "QR login request already exists"},
		{"qr_logins_scene", "qr_logins.app_id, qr_logins.scene", "QR login scene already exists"},
		{"events_id", "events.id", "event already exists"},
	} {
		conflicts[c[0]], conflicts[c[1]] = c[2], c[2]
	}
}

func notFoundf(format string, a ...any) error { return wxlogin.Errorf(wxlogin.ENOTFOUND, format, a...) }

func errNil(what string) error { return wxlogin.Errorf(wxlogin.EINVALID, "%s is nil", what) }

// invalid returns EINVALID: "<what> is nil" when isNil, else msg.
func invalid(isNil bool, what, msg string) error {
	if isNil {
		return errNil(what)
	}
	return wxlogin.Errorf(wxlogin.EINVALID, "%s", msg)
}

// Err maps an error of operation op to the error a store returns: a *wxlogin.Error (from an
// argument, e.g. a time out of range) as is; a unique violation to ECONFLICT; a foreign key
// violation to ENOTFOUND ("<parent> not found", parent being what the row refers to); other
// integrity violations and values the engine cannot store to EINVALID; anything else (a
// serialization failure or a busy database included) wrapped as an internal error. Messages never
// echo values.
func (d *Dialect) Err(op, parent string, err error) error {
	if err == nil {
		return nil
	}
	var we *wxlogin.Error
	if errors.As(err, &we) {
		return we
	}
	switch class, key := d.Classify(err); class {
	case Unique:
		msg, ok := conflicts[key]
		if !ok {
			msg = "already exists"
		}
		return wxlogin.Errorf(wxlogin.ECONFLICT, "%s", msg)
	case ForeignKey:
		if parent == "" {
			parent = "referenced row"
		}
		return notFoundf("%s not found", parent)
	case Constraint:
		return wxlogin.Errorf(wxlogin.EINVALID, "%s: constraint failed", op)
	case BadValue:
		return wxlogin.Errorf(wxlogin.EINVALID, "%s: invalid value", op)
	}
	return fmt.Errorf("%s: %s: %w", d.Name, op, err)
}

// fail is d.Err that also notes a Retry for NewAttempt.
func (t *Tx) fail(op, parent string, err error) error {
	if err != nil && t.retry != nil {
		if class, _ := t.d.Classify(err); class == Retry {
			*t.retry = true
		}
	}
	return t.d.Err(op, parent, err)
}

// notFound returns ENOTFOUND with msg when err is sql.ErrNoRows, and t.fail(op, "", err) otherwise.
func (t *Tx) notFound(err error, msg, op string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFoundf("%s", msg)
	}
	return t.fail(op, "", err)
}
