package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wxlogin/wxlogin"
)

// The instants an int64 of unix nanoseconds can hold.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeArg binds a time.Time as INTEGER unix nanoseconds, and the zero time as NULL.
type timeArg time.Time

// Value returns the time as unix nanoseconds, nil for the zero time, and an EINVALID *wxlogin.Error
// for a time an int64 of nanoseconds cannot hold.
func (t timeArg) Value() (driver.Value, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return nil, nil
	}
	if tt.Before(minTime) || tt.After(maxTime) {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "time %s is out of the storable range", tt.UTC().Format(time.RFC3339))
	}
	return tt.UnixNano(), nil
}

// timeCol scans an INTEGER of unix nanoseconds into a UTC time.Time, and NULL into the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("sqlite: time column holds %T, want INTEGER", src)
	}
	return nil
}

// boolArg binds a bool as INTEGER 0 or 1 (the STRICT tables take no other type).
func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// notFound returns ENOTFOUND with msg when err is sql.ErrNoRows, and dbErr(op, what, err) otherwise.
func notFound(err error, msg, op string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return wxlogin.Errorf(wxlogin.ENOTFOUND, "%s", msg)
	}
	return dbErr(op, "", err)
}

// conflictMessages names, by the "table.column" list SQLite reports for a failed UNIQUE or PRIMARY
// KEY constraint, what broke. Messages carry no values: ids, unionids and token hashes stay out.
var conflictMessages = map[string]string{
	"users.id":                              "user already exists",
	"users.unionid":                         "unionid already belongs to another user",
	"users.phone_country_code, users.phone": "phone number already belongs to another user",
	"accounts.user_id":                      "user already has an account",
	"accounts.username":                     "username is taken",
	"wechat_identities.appid, wechat_identities.openid": "identity already exists",
	"sessions.id":         "session already exists",
	"refresh_tokens.hash": "refresh token already exists",
	"signing_keys.id":     "signing key already exists",
}

// dbErr maps a driver error of operation op to the error the Store returns: a *wxlogin.Error from
// an argument (timeArg) as is; a UNIQUE/PRIMARY KEY violation to ECONFLICT; a FOREIGN KEY violation
// to ENOTFOUND ("<parent> not found", parent being what the row refers to); other constraint
// violations to EINVALID; anything else wrapped as an internal error.
func dbErr(op, parent string, err error) error {
	if err == nil {
		return nil
	}
	var we *wxlogin.Error
	if errors.As(err, &we) {
		return we
	}
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		msg := "already exists"
		// The driver reports e.g. "constraint failed: UNIQUE constraint failed: users.id (1555)".
		text := se.Error()
		if i := strings.LastIndex(text, "constraint failed: "); i >= 0 {
			cols, _, _ := strings.Cut(text[i+len("constraint failed: "):], " (")
			if m, ok := conflictMessages[strings.TrimSpace(cols)]; ok {
				msg = m
			}
		}
		return wxlogin.Errorf(wxlogin.ECONFLICT, "%s", msg)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		if parent == "" {
			parent = "referenced row"
		}
		return wxlogin.Errorf(wxlogin.ENOTFOUND, "%s not found", parent)
	default:
		return wxlogin.Errorf(wxlogin.EINVALID, "%s: constraint failed", op)
	}
}
