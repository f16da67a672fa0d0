package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Checkpoints. SQLite's default copies the WAL back into the database file from inside a commit
// once the WAL passes 1000 pages: the writer that happens to cross the mark pays for the copy and
// two fsyncs, and with group commit that writer holds every waiting Update. So the writer's
// automatic checkpoints are off (wal_autocheckpoint=0) and a checkpointer with its own connection
// runs a PASSIVE checkpoint every interval, beside the writer. PASSIVE never waits for readers or
// the writer; when the WAL still grows past maxWALFrames (readers keep old snapshots alive), a
// RESTART checkpoint waits for them, so the WAL stays bounded.

const (
	checkpointEvery = 250 * time.Millisecond
	maxWALFrames    = 16384 // 64 MiB of 4 KiB pages
)

type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newCheckpointer(db *sql.DB, every time.Duration) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run(every)
	return c
}

func (c *checkpointer) run(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if frames, err := c.checkpoint("PASSIVE"); err == nil && frames > maxWALFrames {
				c.checkpoint("RESTART")
			}
		}
	}
}

// checkpoint runs one checkpoint of the given mode and returns the WAL's size in frames.
func (c *checkpointer) checkpoint(mode string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, frames, copied int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
		return 0, fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	return frames, nil
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	c.once.Do(func() { close(c.stop) })
	<-c.done
	return c.db.Close()
}
