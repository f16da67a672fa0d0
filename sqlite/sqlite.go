// Package sqlite is wxlogin's embedded default Store: one SQLite database file, opened with the pure
// Go driver modernc.org/sqlite.
//
// # Connections
//
// A Store holds two connection pools on the same file. The writer is a single connection: every
// write, and every Update, goes through it, and Update begins its transaction with BEGIN IMMEDIATE,
// so read-modify-write transactions run one at a time and never see a write they did not make
// between their read and their write. The reader is a small pool (PRAGMA query_only) serving the
// Store's plain read methods; in WAL mode readers never block the writer nor wait for it, and they
// see only committed data.
//
// Because the writer is one connection, fn in Update must use the Tx it is given: a write through
// the Store itself inside fn waits for the connection fn holds, until ctx ends. Reads through the
// Store inside fn are fine (they see the data committed before the transaction).
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL by default: every commit is fsynced to the
// WAL before Update or a write method returns. Concurrent Updates share a commit (group commit), so
// the fsync is paid once per batch rather than once per write. WithSynchronous("NORMAL") skips that
// fsync: a crash of the process still loses nothing, but a power loss may undo the last commits,
// and for a login server an undone refresh-token spend or session revocation means a replayable
// token or a revived session. So FULL is the default and NORMAL an operator's explicit choice.
//
// # Data representation
//
// Times are stored as INTEGER unix nanoseconds (always UTC) and the zero time as NULL, so every
// time.Time between 1677-09-21 and 2262-04-11 round-trips exactly (nanosecond precision) and comes back in UTC; a
// non-zero time outside that range is rejected with EINVALID. Optional strings are stored as ”.
// Migrations are the embedded migrations/*.sql, applied in name order by Migrate.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/sqlstore"
)

// Store is a wxlogin.Store on one SQLite database file. Its methods are safe for concurrent use.
type Store struct {
	*sqlstore.Tx // the Store's own methods: reads on reader, writes on writer, each in its own transaction

	writer  *sql.DB // one connection; all writes and every Update
	reader  *sql.DB // query_only pool for the Store's plain reads
	commits *committer
	opts    options
}

var _ wxlogin.Store = (*Store)(nil)

type options struct {
	busyTimeout time.Duration
	readers     int
	maxAttempts int
	synchronous string
	logger      *slog.Logger
}

// Option configures Open.
type Option func(*options)

// WithBusyTimeout sets how long one statement waits for a lock another process holds on the
// database file before it fails with SQLITE_BUSY (default 5s). Update then retries.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithReaders sets the size of the reader pool (default 4).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithMaxAttempts sets how many times Update runs a transaction that keeps failing with
// SQLITE_BUSY before it gives up (default 5).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithSynchronous sets SQLite's synchronous mode: "FULL" (default: a commit is on disk before
// Update returns) or "NORMAL" (a commit survives a crash of the process but a power loss may undo
// the last ones; see the package doc). Any other value makes Open fail with EINVALID.
func WithSynchronous(mode string) Option {
	return func(o *options) { o.synchronous = strings.ToUpper(mode) }
}

// WithLogger sets the logger for retries (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Open opens (creating if needed) the SQLite database file at path and returns a Store on it. It
// does not migrate; call Migrate. path must be a plain file name: "", ":memory:", "file:" URIs
// and names containing '?' are rejected with EINVALID (an in-memory database cannot be shared by
// the writer and the reader pool; tests should use a file in t.TempDir()).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: 5 * time.Second, readers: 4, maxAttempts: 5, synchronous: "FULL"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	o.readers, o.maxAttempts, o.busyTimeout = max(o.readers, 1), max(o.maxAttempts, 1), max(o.busyTimeout, 0)
	if o.synchronous != "FULL" && o.synchronous != "NORMAL" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "sqlite: synchronous must be FULL or NORMAL")
	}
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "sqlite: database path must be a plain file name")
	}

	// See the package doc: synchronous FULL (default) is durability over speed.
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1&_synchronous=%s", o.busyTimeout.Milliseconds(), o.synchronous)
	writer, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1) // and never closed while idle (the default): statements are prepared on it
	writer.SetMaxIdleConns(1)
	// Connect now: this creates the file and switches it to WAL before any reader opens it.
	var mode string
	if err := writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: journal_mode is %q, want wal", path, mode)
	}

	reader, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	reader.SetMaxOpenConns(o.readers)
	reader.SetMaxIdleConns(o.readers)
	if err := reader.PingContext(ctx); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &Store{Tx: sqlstore.NewTx(dialect, reader, writer), writer: writer, reader: reader, commits: newCommitter(writer), opts: o}, nil
}

// Close waits for the group transaction in progress, then closes both connection pools.
func (s *Store) Close() error {
	s.commits.close()
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// Ping returns nil when the database answers on both pools and every embedded migration has been
// applied, and an error otherwise.
func (s *Store) Ping(ctx context.Context) error { return dialect.Ping(ctx, schema, s.writer, s.reader) }

// Update runs fn in a BEGIN IMMEDIATE transaction on the writer (shared with the Updates waiting
// then: see groupcommit.go) and returns nil once it is committed; when fn fails or panics, all it
// wrote is rolled back and its error returned unchanged (its panic re-raised). On SQLITE_BUSY or
// SQLITE_LOCKED (another process holds the write lock) Update runs fn again, with backoff.
func (s *Store) Update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	_, err := sqlstore.Backoff(ctx, s.opts.maxAttempts, 5*time.Millisecond, 500*time.Millisecond,
		func() (bool, error) {
			err := s.commits.do(ctx, fn)
			return isBusy(err), err
		},
		func(attempt int) {
			s.opts.logger.WarnContext(ctx, "sqlite: database busy, retrying transaction", "attempt", attempt)
		})
	return err
}

// Shared returns false: one SQLite file serves one instance.
func (s *Store) Shared() bool { return false }
