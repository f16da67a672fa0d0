// Package sqlstore is the SQL of wxlogin's stores, written once: every query of wxlogin.Tx (the
// admin ones included), the scans of their rows, the migration bookkeeping and the mapping of
// errors, over a small Dialect per engine (placeholders, time and bool encoding, error classes),
// as dex's storage/sql does with its flavors. The sqlite and postgres packages keep only what
// really differs: opening, the write strategy (group commit; SERIALIZABLE with retries), bulk
// seeding and their migrations/*.sql.
//
// To add a store method: declare it on wxlogin.Tx (or wxlogin.Store) at the root; write its query
// once here, with ? placeholders, binding times and bools through t.d.Time and t.d.Bool and
// scanning times through timeCol; add a storetest case that pins its behaviour, errors included,
// and run it on both stores; add the tables or indexes it needs as a new migration file in both
// sqlite/migrations and postgres/migrations (TestSchemasAgree in this package fails when they
// differ), and name a new unique key's message in conflicts (codec.go).
package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Querier is what *sql.DB, *sql.Conn and *sql.Tx have in common: where a Tx sends its statements.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Dialect is what differs between the SQL engines a Tx runs on. Its fields are set once, before
// the first use; a Dialect is then safe for concurrent use.
type Dialect struct {
	Name      string    // "sqlite", "postgres": the prefix of wrapped errors
	Numbered  bool      // placeholders are $1, $2, …: queries written with ? are rewritten
	UnixNanos bool      // times are INTEGER unix nanoseconds (else the engine's timestamps)
	IntBools  bool      // bools are INTEGER 0 or 1 (else the engine's booleans)
	MinTime   time.Time // the earliest storable instant
	MaxTime   time.Time // the latest storable instant
	// Classify says what an error of the driver means and, for a unique violation, which key broke:
	// the constraint's name, or its "table.column[, table.column]" list (the keys of conflicts).
	Classify func(err error) (Class, string)

	rebound sync.Map // query with ? → query with $n
}

// Class is what a driver error means to the store.
type Class int

const (
	Other      Class = iota // an internal error
	Unique                  // a unique or primary key violation: ECONFLICT
	ForeignKey              // a foreign key violation: ENOTFOUND (the parent row is missing)
	Constraint              // another integrity violation: EINVALID
	BadValue                // a value the engine cannot store (NUL byte, invalid UTF-8): EINVALID
	Retry                   // a serialization failure or deadlock: the transaction may succeed again
	Busy                    // another process holds a lock the statement needs
)

// Q returns query with its ? placeholders in the dialect's style.
func (d *Dialect) Q(query string) string {
	if !d.Numbered {
		return query
	}
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, part := range strings.SplitAfter(query, "?") {
		if strings.HasSuffix(part, "?") {
			n++
			part = part[:len(part)-1] + "$" + strconv.Itoa(n)
		}
		b.WriteString(part)
	}
	d.rebound.Store(query, b.String())
	return b.String()
}

// Time returns t as the dialect binds it (see timeArg); Seed and Migrate use it.
func (d *Dialect) Time(t time.Time) any { return timeArg{t, d} }

// Bool returns b as the dialect binds it.
func (d *Dialect) Bool(b bool) any {
	if !d.IntBools {
		return b
	}
	if b {
		return int64(1)
	}
	return int64(0)
}

// Tx implements wxlogin.Tx with the dialect's SQL: reads go to r, writes to w. In a transaction
// both are the one *sql.Tx; on a Store they may be two pools (SQLite's reader and writer), and
// every method is a single statement, so each runs in its own (implicit) transaction.
type Tx struct {
	d     *Dialect
	r, w  Querier
	retry *bool // set when a statement failed with Retry (see NewAttempt)
}

// NewTx returns a Tx reading through r and writing through w.
func NewTx(d *Dialect, r, w Querier) *Tx { return &Tx{d: d, r: r, w: w} }

// NewAttempt returns a Tx for one attempt of a transaction on q, and a function reporting whether
// a statement of it failed with Retry: the engine then aborted the transaction, so it must run
// again whatever fn made of the error.
func NewAttempt(d *Dialect, q Querier) (*Tx, func() bool) {
	retry := new(bool)
	return &Tx{d: d, r: q, w: q, retry: retry}, func() bool { return *retry }
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs query on q and returns every row scan makes of it (an empty slice when none);
// errors are mapped for operation op.
func queryAll[T any](ctx context.Context, t *Tx, q Querier, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, t.d.Q(query), args...)
	if err != nil {
		return nil, t.fail(op, "", err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.fail(op, "", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, "", err)
	}
	return out, nil
}

// queryOne runs query on the reader and returns what scan makes of its row: ENOTFOUND with
// "<what> not found" when there is none.
func queryOne[T any](ctx context.Context, t *Tx, op, what string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(t.r.QueryRowContext(ctx, t.d.Q(query), args...))
	if err != nil {
		var zero T
		return zero, t.notFound(err, what+" not found", op)
	}
	return v, nil
}

// exec runs the write query; errors are mapped for operation op, a missing parent named parent.
func (t *Tx) exec(ctx context.Context, op, parent, query string, args ...any) (sql.Result, error) {
	res, err := t.w.ExecContext(ctx, t.d.Q(query), args...)
	return res, t.fail(op, parent, err)
}

// insert runs the write query; errors are mapped as exec's.
func (t *Tx) insert(ctx context.Context, op, parent, query string, args ...any) error {
	_, err := t.exec(ctx, op, parent, query, args...)
	return err
}

// execOne runs the write query and returns ENOTFOUND with "<what> not found" when it changed no row.
func (t *Tx) execOne(ctx context.Context, op, parent, what, query string, args ...any) error {
	res, err := t.exec(ctx, op, parent, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail(op, "", err)
	}
	if n == 0 {
		return notFoundf("%s not found", what)
	}
	return nil
}
