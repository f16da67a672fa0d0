package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wxlogin/wxlogin"
)

// The instants the store accepts: years 1 to 9999 (what RFC 3339 and time.Time's JSON encoding can
// write, well inside timestamptz's range).
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// timeArg binds a time.Time as timestamptz (truncated to microseconds) and the zero time as NULL.
type timeArg time.Time

// TimestamptzValue implements pgtype.TimestamptzValuer. It returns NULL for the zero time and an
// EINVALID *wxlogin.Error for a time outside years 1 to 9999.
func (t timeArg) TimestamptzValue() (pgtype.Timestamptz, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return pgtype.Timestamptz{}, nil
	}
	if tt.Before(minTime) || !tt.Before(maxTime) {
		return pgtype.Timestamptz{}, wxlogin.Errorf(wxlogin.EINVALID, "time %s is out of the storable range",
			tt.UTC().Format(time.RFC3339))
	}
	return pgtype.Timestamptz{Time: tt.UTC(), Valid: true}, nil
}

// timeCol scans a timestamptz into a UTC time.Time, and NULL into the zero time.
type timeCol struct{ t *time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner; ±infinity is an error.
func (c timeCol) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*c.t = time.Time{}
	case v.InfinityModifier != pgtype.Finite:
		return errors.New("postgres: time column holds infinity")
	default:
		*c.t = v.Time.UTC()
	}
	return nil
}

// conflictMessages names, by the constraint or unique index PostgreSQL reports for a unique
// violation (SQLSTATE 23505), what broke. Messages carry no values: ids, unionids, phone numbers
// and token hashes stay out.
var conflictMessages = map[string]string{
	"users_pkey":             "user already exists",
	"users_unionid":          "unionid already belongs to another user",
	"users_phone":            "phone number already belongs to another user",
	"accounts_pkey":          "user already has an account",
	"accounts_username_key":  "username is taken",
	"wechat_identities_pkey": "identity already exists",
	"sessions_pkey":          "session already exists",
	"refresh_tokens_pkey":    "refresh token already exists",
	"signing_keys_pkey":      "signing key already exists",
}

// isRetryable reports whether err is PostgreSQL refusing a transaction that may succeed when run
// again: a serialization failure (40001) or a deadlock (40P01).
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// notFound returns ENOTFOUND with msg when err is pgx.ErrNoRows, and t.dbErr(op, "", err) otherwise.
func (t *tx) notFound(err error, msg, op string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return wxlogin.Errorf(wxlogin.ENOTFOUND, "%s", msg)
	}
	return t.dbErr(op, "", err)
}

// dbErr maps an error of operation op to the error the Store returns: a *wxlogin.Error from an
// argument (timeArg) as is; a unique violation to ECONFLICT; a foreign key violation to ENOTFOUND
// ("<parent> not found", parent being what the row refers to); other integrity violations (class
// 23) and bad data (class 22, e.g. a NUL byte or invalid UTF-8 in a string) to EINVALID; anything
// else, serialization failures included, wrapped as an internal error. Messages never echo values.
// A serialization failure or deadlock also marks t for a retry (see Store.Update).
func (t *tx) dbErr(op, parent string, err error) error {
	if err == nil {
		return nil
	}
	var we *wxlogin.Error
	if errors.As(err, &we) {
		return we
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	switch {
	case pe.Code == "23505":
		msg, ok := conflictMessages[pe.ConstraintName]
		if !ok {
			msg = "already exists"
		}
		return wxlogin.Errorf(wxlogin.ECONFLICT, "%s", msg)
	case pe.Code == "23503":
		if parent == "" {
			parent = "referenced row"
		}
		return wxlogin.Errorf(wxlogin.ENOTFOUND, "%s not found", parent)
	case pe.Code == "40001" || pe.Code == "40P01":
		if t.retry != nil {
			*t.retry = true
		}
	case len(pe.Code) == 5 && pe.Code[:2] == "23":
		return wxlogin.Errorf(wxlogin.EINVALID, "%s: constraint failed", op)
	case len(pe.Code) == 5 && pe.Code[:2] == "22":
		return wxlogin.Errorf(wxlogin.EINVALID, "%s: invalid value", op)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
