package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/sqlstore"
)

// Group commit. With synchronous=FULL every commit waits for an fsync, which on common disks takes
// about a millisecond: one transaction at a time would cap the store near a thousand writes per
// second however fast the CPU is. So Update does not own a transaction. It queues its fn to one
// committer goroutine, which takes every fn waiting, runs them in one BEGIN IMMEDIATE transaction
// and commits them with a single fsync; when one of them fails, the batch runs again with each fn
// in its own SAVEPOINT, so that only the failing ones are rolled back. Each fn still sees the writes of the fns before it, as if the transactions
// had run one after the other; nothing is acknowledged before the commit is durable.

// maxBatch bounds how many fns share one transaction.
const maxBatch = 128

type commitRequest struct {
	ctx  context.Context
	fn   func(tx wxlogin.Tx) error
	done chan commitResult // buffered: the committer never blocks on it
}

type commitResult struct {
	err   error
	panic any // a panic of fn, re-raised on the caller's goroutine
}

type committer struct {
	writer *sql.DB
	queue  chan *commitRequest
	stop   chan struct{}
	exited chan struct{} // closed when run has returned
	once   sync.Once
	wg     sync.WaitGroup
	// batches counts the transactions committed or rolled back (for tests).
	batches atomic.Int64
	// stmts caches the statements group transactions run, prepared once on the writer connection
	// (SQLite parses a statement in about as long as it runs it). Only the committer uses it.
	stmts      map[string]*sql.Stmt
	unprepared map[string]struct{} // queries to prepare once the writer connection is free
}

func newCommitter(writer *sql.DB) *committer {
	c := &committer{writer: writer, queue: make(chan *commitRequest, maxBatch), stop: make(chan struct{}),
		exited: make(chan struct{}), stmts: map[string]*sql.Stmt{},
		unprepared: map[string]struct{}{}}
	c.wg.Add(1)
	go c.run()
	return c
}

// close stops the committer after the batch in progress; later Updates fail.
func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

var errClosed = errors.New("sqlite: store closed")

// do runs fn in the next group transaction and returns its outcome once that transaction is
// committed (nil) or rolled back (an error). A panic of fn is re-raised here.
func (c *committer) do(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	req := &commitRequest{ctx: ctx, fn: fn, done: make(chan commitResult, 1)}
	select {
	case c.queue <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return errClosed
	}
	// Once queued, wait for the outcome even if ctx ends: fn may already be in a commit.
	var res commitResult
	select {
	case res = <-req.done:
	case <-c.exited:
		select {
		case res = <-req.done:
		default: // queued after the committer's last drain
			res.err = errClosed
		}
	}
	if res.panic != nil {
		panic(res.panic)
	}
	return res.err
}

func (c *committer) run() {
	defer c.wg.Done()
	defer close(c.exited)
	defer func() {
		for _, st := range c.stmts {
			st.Close()
		}
	}()
	batch := make([]*commitRequest, 0, maxBatch)
	for {
		select {
		case <-c.stop:
			c.drain()
			return
		case req := <-c.queue:
			batch = append(batch[:0], req)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case req := <-c.queue:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		c.commit(batch)
		clear(batch)
		c.prepare()
	}
}

// prepare prepares the queries the last transaction ran unprepared. Queries are constants of the
// store, so the cache stays small; it is bounded anyway.
func (c *committer) prepare() {
	for q := range c.unprepared {
		delete(c.unprepared, q)
		if len(c.stmts) >= 512 {
			return
		}
		if st, err := c.writer.PrepareContext(context.Background(), q); err == nil {
			c.stmts[q] = st
		}
	}
}

// drain fails whatever is still queued at close.
func (c *committer) drain() {
	for {
		select {
		case req := <-c.queue:
			req.done <- commitResult{err: errClosed}
		default:
			return
		}
	}
}

// commit runs one batch and answers every request. It first runs the fns one after the other with
// no savepoints, the common case of a batch where every fn succeeds. When one fails, the whole
// transaction is rolled back and the batch runs again with a savepoint around each fn (fns are
// re-runnable: Update may run them again anyway), so that only the failing ones lose their writes.
func (c *committer) commit(batch []*commitRequest) {
	c.batches.Add(1)
	results := make([]commitResult, len(batch))
	if !c.run1(batch, results, false) {
		clear(results)
		c.run1(batch, results, true)
	}
	for i, req := range batch {
		req.done <- results[i]
	}
}

// run1 runs batch in one transaction, each fn in its own savepoint when careful, and fills results.
// Without care it gives up (returns false, having rolled back) as soon as a fn of a batch of several
// fails; it returns true when results are final.
func (c *committer) run1(batch []*commitRequest, results []commitResult, careful bool) bool {
	failAll := func(err error) bool {
		for i := range results {
			if results[i].err == nil && results[i].panic == nil {
				results[i].err = err
			}
		}
		return true
	}
	failed := func(r commitResult) bool { return r.err != nil || r.panic != nil }
	// The transaction belongs to no one request: no caller's cancellation may end it.
	ctx := context.Background()
	sqlTx, err := c.writer.BeginTx(ctx, nil)
	if err != nil {
		return failAll(fmt.Errorf("sqlite: begin: %w", err))
	}
	exec := func(stmt string) error {
		_, err := sqlTx.ExecContext(ctx, stmt)
		return err
	}
	q := detached{tx: sqlTx, c: c}
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if !careful {
			results[i] = runFn(req.fn, sqlstore.NewTx(dialect, q, q))
			if failed(results[i]) {
				sqlTx.Rollback()
				// Alone in its batch, the fn's outcome is final; else the others run again.
				return len(batch) == 1
			}
			continue
		}
		if err := exec("SAVEPOINT wxlogin_update"); err != nil {
			sqlTx.Rollback()
			return failAll(fmt.Errorf("sqlite: savepoint: %w", err))
		}
		results[i] = runFn(req.fn, sqlstore.NewTx(dialect, q, q))
		if failed(results[i]) {
			if err := exec("ROLLBACK TO wxlogin_update"); err != nil {
				// SQLite already rolled the whole transaction back (e.g. after an I/O error).
				sqlTx.Rollback()
				return failAll(fmt.Errorf("sqlite: transaction aborted: %w", err))
			}
		}
		if err := exec("RELEASE wxlogin_update"); err != nil {
			sqlTx.Rollback()
			return failAll(fmt.Errorf("sqlite: release savepoint: %w", err))
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return failAll(fmt.Errorf("sqlite: commit: %w", err))
	}
	return true
}

// runFn calls fn, turning a panic into a result.
func runFn(fn func(tx wxlogin.Tx) error, t wxlogin.Tx) (res commitResult) {
	defer func() {
		if v := recover(); v != nil {
			res = commitResult{panic: v}
		}
	}()
	return commitResult{err: fn(t)}
}

// detached runs statements of a group transaction without their caller's cancellation: SQLite
// answers an interrupted write by rolling back the whole transaction, which holds other callers'
// work. (Statements are short; the caller's ctx is checked before its fn starts.) It runs them as
// the committer's cached prepared statements.
type detached struct {
	tx *sql.Tx
	c  *committer
}

// stmt returns query's cached prepared statement bound to the transaction, or nil when query is
// new: it then runs unprepared this time and is prepared after the transaction (preparing on the
// writer pool now would wait for the one connection the transaction holds).
func (d detached) stmt(ctx context.Context, query string) *sql.Stmt {
	st, ok := d.c.stmts[query]
	if !ok {
		d.c.unprepared[query] = struct{}{}
		return nil
	}
	return d.tx.StmtContext(ctx, st)
}

func (d detached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := d.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.tx.ExecContext(ctx, query, args...)
}

func (d detached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if st := d.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.tx.QueryContext(ctx, query, args...)
}

func (d detached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := d.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.tx.QueryRowContext(ctx, query, args...)
}
