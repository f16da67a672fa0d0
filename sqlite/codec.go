package sqlite

import (
	"errors"
	"math"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wxlogin/wxlogin/sqlstore"
)

// dialect is SQLite's: ? placeholders, times as INTEGER unix nanoseconds (the instants an int64
// of them can hold), bools as INTEGER 0 or 1 (the STRICT tables take no other type).
var dialect = &sqlstore.Dialect{Name: "sqlite", UnixNanos: true, IntBools: true,
	MinTime: time.Unix(0, math.MinInt64), MaxTime: time.Unix(0, math.MaxInt64), Classify: classify}

// classify says what a driver error means. For a failed UNIQUE or PRIMARY KEY constraint the key
// is the "table.column" list SQLite reports.
func classify(err error) (sqlstore.Class, string) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return sqlstore.Other, ""
	}
	switch code := se.Code(); {
	case code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED:
		return sqlstore.Busy, ""
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		// The driver reports e.g. "constraint failed: UNIQUE constraint failed: users.id (1555)".
		const marker = "constraint failed: "
		text := se.Error()
		cols, _, _ := strings.Cut(text[strings.LastIndex(text, marker)+len(marker):], " (")
		return sqlstore.Unique, strings.TrimSpace(cols)
	case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ForeignKey, ""
	case code&0xff == sqlite3.SQLITE_CONSTRAINT:
		return sqlstore.Constraint, ""
	}
	return sqlstore.Other, ""
}

// isBusy reports whether err is SQLite telling us another connection holds a lock we need.
func isBusy(err error) bool {
	class, _ := classify(err)
	return class == sqlstore.Busy
}
