package postgres

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wxlogin/wxlogin/sqlstore"
)

// dialect is PostgreSQL's: $n placeholders, timestamptz and boolean columns. The store accepts the
// instants of years 1 to 9999 (what RFC 3339 and time.Time's JSON encoding can write, well inside
// timestamptz's range).
var dialect = &sqlstore.Dialect{Name: "postgres", Numbered: true,
	MinTime: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), MaxTime: time.Date(10000, 1, 1, 0, 0, 0, -1, time.UTC),
	Classify: classify}

// classify says what an error means by its SQLSTATE: 23505 unique violation, 23503 foreign key
// violation, other class 23 integrity violations, class 22 bad data (e.g. a NUL byte or invalid
// UTF-8 in a string), 40001 serialization failure and 40P01 deadlock (to retry).
func classify(err error) (sqlstore.Class, string) {
	var pe *pgconn.PgError
	switch {
	case !errors.As(err, &pe) || len(pe.Code) != 5:
		return sqlstore.Other, ""
	case pe.Code == "23505":
		return sqlstore.Unique, pe.ConstraintName
	case pe.Code == "23503":
		return sqlstore.ForeignKey, ""
	case pe.Code == "40001" || pe.Code == "40P01":
		return sqlstore.Retry, ""
	case pe.Code[:2] == "23":
		return sqlstore.Constraint, ""
	case pe.Code[:2] == "22":
		return sqlstore.BadValue, ""
	}
	return sqlstore.Other, ""
}

// isRetryable reports whether err is PostgreSQL refusing a transaction that may succeed when run
// again: a serialization failure or a deadlock.
func isRetryable(err error) bool {
	class, _ := classify(err)
	return class == sqlstore.Retry
}
