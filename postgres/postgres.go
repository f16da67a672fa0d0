// Package postgres is wxlogin's Store for running several instances: PostgreSQL through pgx v5,
// used as a database/sql driver (pgx's stdlib), so that the SQL of package sqlstore runs on it.
//
// # Transactions
//
// The Store's own methods each run as one statement on the pool, so each is its own transaction at
// the server's default isolation (READ COMMITTED); a read never waits for a writer and sees only
// committed data. Update runs fn in one SERIALIZABLE transaction on one pooled connection, so
// read-modify-write sequences (spend a refresh token, find-or-create a user) behave as if they ran
// one at a time. When PostgreSQL refuses the transaction with a serialization failure (SQLSTATE
// 40001) or a deadlock (40P01), in any statement fn runs or at commit, Update rolls back and runs fn
// again after a jittered, growing backoff, up to WithMaxAttempts attempts (default 10). This holds
// even when fn replaced the error with its own: once a statement failed that way the transaction is
// aborted, so whatever fn returned is retried. When every attempt conflicted, Update returns
// EOVERLOADED with a Retry-After (the request is answered 503, to retry), wrapping the last failure.
//
// After any failed statement PostgreSQL aborts the transaction: within Update, a write that failed
// (say with ECONFLICT) makes every later statement of that attempt fail, so fn should return the
// error rather than carry on. Not-found reads do not fail a statement and are fine.
//
// fn must use the Tx it is given. Reads through the Store inside fn use another pooled connection:
// they do not block and do not see fn's uncommitted writes, but with every connection of the pool
// held by Update calls waiting for such reads, they wait until ctx ends; keep WithMaxConns above
// the number of Updates that may run at once, or avoid Store calls inside fn.
//
// # Data representation
//
// Times are timestamptz: microsecond precision (finer digits are truncated), returned in UTC; the
// zero time is NULL. Non-zero times outside years 1 to 9999 are rejected with EINVALID. Optional
// strings are stored as empty strings; strings PostgreSQL cannot store as text (a NUL byte, invalid UTF-8)
// are EINVALID. Migrations are the embedded migrations/*.sql, applied in name order by Migrate
// into the first schema of the connection's search_path (see WithSchema).
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/sqlstore"
)

// Store is a wxlogin.Store on a PostgreSQL database. Its methods are safe for concurrent use.
type Store struct {
	*sqlstore.Tx // the Store's own methods: one statement each on the pool

	db   *sql.DB
	opts options
}

var (
	_ wxlogin.Store      = (*Store)(nil)
	_ wxlogin.RowUpdater = (*Store)(nil)
)

type options struct {
	maxConns    int32
	maxAttempts int
	schema      string
	logger      *slog.Logger
}

// Option configures Open.
type Option func(*options)

// WithMaxConns sets the size of the connection pool (default 4, at least 2).
func WithMaxConns(n int) Option {
	return func(o *options) { o.maxConns = int32(min(max(n, 2), 1<<16)) }
}

// WithMaxAttempts sets how many times Update runs a transaction that keeps failing with a
// serialization failure or deadlock before it gives up (default 10).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithSchema makes the store's connections use schema (sets search_path to it): tables are
// created in and read from that schema, which must exist. Default: the server's search_path.
func WithSchema(schema string) Option { return func(o *options) { o.schema = schema } }

// WithLogger sets the logger for retries (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Open connects to the PostgreSQL database named by dsn (a URL or key=value connection string, as
// pgx accepts) and returns a Store on it. It does not migrate; call Migrate. It returns EINVALID
// when dsn does not parse (the message does not repeat dsn, which may hold a password) and an
// error when the server cannot be reached.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{maxConns: 4, maxAttempts: 10}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	o.maxAttempts = max(o.maxAttempts, 1)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "postgres: the connection string does not parse")
	}
	if o.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	}
	db := stdlib.OpenDB(*cfg.ConnConfig) // pgxpool parses the DSN: it accepts (and here ignores) pool_* settings
	db.SetMaxOpenConns(int(o.maxConns))
	db.SetMaxIdleConns(int(o.maxConns))
	db.SetConnMaxLifetime(time.Hour) // as pgxpool did: a failover or a pooler's restart is left behind
	db.SetConnMaxIdleTime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return &Store{Tx: sqlstore.NewTx(dialect, db, db), db: db, opts: o}, nil
}

// Close closes the pool's connections, waiting for those in use to be released.
func (s *Store) Close() error { return s.db.Close() }

// Shared returns true: several instances may share one PostgreSQL database.
func (s *Store) Shared() bool { return true }

// Ping returns nil when the database answers and every embedded migration has been applied, and
// an error otherwise (also after Close).
func (s *Store) Ping(ctx context.Context) error { return dialect.Ping(ctx, schema, s.db) }

// Update runs fn in one SERIALIZABLE transaction and commits when fn returns nil; when fn fails or
// panics, all it wrote is rolled back and its error returned unchanged (the panic goes on). On a
// serialization failure or deadlock it runs fn again with backoff (see the package doc).
func (s *Store) Update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	return s.updateAt(ctx, sql.LevelSerializable, fn)
}

// UpdateRows runs fn like Update but at READ COMMITTED (see wxlogin.RowUpdater): for transactions
// whose every rule is the WHERE of a write, which re-checks it on the row version it locks.
func (s *Store) UpdateRows(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	return s.updateAt(ctx, sql.LevelReadCommitted, fn)
}

func (s *Store) updateAt(ctx context.Context, level sql.IsolationLevel, fn func(tx wxlogin.Tx) error) error {
	exhausted, err := sqlstore.Backoff(ctx, s.opts.maxAttempts, 2*time.Millisecond, 100*time.Millisecond,
		func() (bool, error) { return s.update(ctx, level, fn) },
		func(attempt int) {
			s.opts.logger.DebugContext(ctx, "postgres: transaction conflicted, retrying", "attempt", attempt)
		})
	if exhausted {
		s.opts.logger.WarnContext(ctx, "postgres: transaction kept conflicting, giving up", "attempts", s.opts.maxAttempts)
		return &conflictError{last: err}
	}
	return err
}

// errBusy is what a caller learns of a transaction that kept conflicting with concurrent ones: a
// moment of contention, to retry, not a failure of the server (EOVERLOADED: 503 + Retry-After).
var errBusy = &wxlogin.Error{Code: wxlogin.EOVERLOADED, Message: "the database is busy with conflicting writes; try again", RetryAfter: time.Second}

// conflictError is errBusy carrying the last serialization failure, for logs and errors.As.
type conflictError struct{ last error }

func (e *conflictError) Error() string {
	return "postgres: transaction kept conflicting: " + e.last.Error()
}
func (e *conflictError) Unwrap() []error { return []error{errBusy, e.last} }

// update is one attempt of Update: it returns whether running fn again may succeed, and the error.
func (s *Store) update(ctx context.Context, level sql.IsolationLevel, fn func(tx wxlogin.Tx) error) (retry bool, err error) {
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: level})
	if err != nil {
		return isRetryable(err), fmt.Errorf("postgres: begin: %w", err)
	}
	done := false
	defer func() {
		if !done { // also on panic; a failed rollback closes the connection: nothing to add to the error
			sqlTx.Rollback()
		}
	}()
	tx, retried := sqlstore.NewAttempt(dialect, sqlTx)
	if err := fn(tx); err != nil {
		return retried(), err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return retried() || isRetryable(err), fmt.Errorf("postgres: commit: %w", err)
	}
	return false, nil
}
