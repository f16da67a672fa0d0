package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Concurrent Updates share transactions, and each keeps its own outcome: a failing or panicking
// fn loses its own writes only, and the others are committed.
func TestGroupCommitKeepsEachOutcome(t *testing.T) {
	st := newStore(t).(*Store)
	ctx := t.Context()
	now := time.Now().UTC()
	errOdd := errors.New("odd fails")
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Go(func() {
			<-start
			defer func() { panics[i] = recover() }()
			results[i] = st.Update(ctx, func(tx wxlogin.Tx) error {
				u := &wxlogin.User{ID: fmt.Sprintf("usr_%03d", i), CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				switch {
				case i%7 == 3:
					panic("boom")
				case i%2 == 1:
					return errOdd
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		_, err := st.User(ctx, fmt.Sprintf("usr_%03d", i))
		switch {
		case i%7 == 3:
			if panics[i] != "boom" {
				t.Errorf("%d: panic %v not re-raised to its caller", i, panics[i])
			}
			if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Errorf("%d: the write of a panicking fn survived (%v)", i, err)
			}
		case i%2 == 1:
			if !errors.Is(results[i], errOdd) || wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Errorf("%d: failing fn: Update = %v, user read = %v; want its error and no user", i, results[i], err)
			}
		default:
			if results[i] != nil || panics[i] != nil || err != nil {
				t.Errorf("%d: Update = %v (panic %v), read = %v; want committed", i, results[i], panics[i], err)
			}
		}
	}
	if b := st.commits.batches.Load(); b >= n {
		t.Logf("no batching happened (%d transactions for %d updates)", b, n)
	}
}

// A later fn in a batch sees the writes of the fns before it, as in serial transactions, so unique
// rules still hold inside a batch.
func TestGroupCommitSerialSemantics(t *testing.T) {
	st := newStore(t).(*Store)
	ctx := t.Context()
	now := time.Now().UTC()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, conflicts := 0, 0
	for range 20 {
		wg.Go(func() {
			err := st.Update(ctx, func(tx wxlogin.Tx) error {
				if _, err := tx.User(ctx, "usr_same"); err == nil {
					return wxlogin.Errorf(wxlogin.ECONFLICT, "exists")
				}
				return tx.CreateUser(ctx, &wxlogin.User{ID: "usr_same", CreatedAt: now, UpdatedAt: now})
			})
			mu.Lock()
			defer mu.Unlock()
			switch wxlogin.ErrorCode(err) {
			case "":
				created++
			case wxlogin.ECONFLICT:
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created != 1 || conflicts != 19 {
		t.Fatalf("created %d, conflicts %d; want 1 and 19", created, conflicts)
	}
}

// A caller whose ctx ended before its fn ran gets ctx's error and writes nothing; Updates after
// Close fail instead of hanging.
func TestGroupCommitCancelAndClose(t *testing.T) {
	st := newStore(t).(*Store)
	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := st.Update(cctx, func(tx wxlogin.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Update with a cancelled ctx = %v (ran %v)", err, ran)
	}
	st.Close()
	done := make(chan error, 1)
	go func() { done <- st.Update(t.Context(), func(tx wxlogin.Tx) error { return nil }) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Update after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Update after Close hangs")
	}
}

// A batch in which one fn fails runs again with savepoints: the others are committed once, with
// their second run's results, and nothing of the failing fn remains.
func TestGroupCommitBatchWithFailure(t *testing.T) {
	st := newStore(t).(*Store)
	ctx := t.Context()
	now := time.Now().UTC()
	runs := map[string]int{}
	create := func(id string, fail bool) *commitRequest {
		return &commitRequest{ctx: ctx, done: make(chan commitResult, 1), fn: func(tx wxlogin.Tx) error {
			runs[id]++
			if err := tx.CreateUser(ctx, &wxlogin.User{ID: id, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			if fail {
				return errors.New("fails after writing")
			}
			return nil
		}}
	}
	batch := []*commitRequest{create("usr_a", false), create("usr_b", true), create("usr_c", false)}
	st.commits.commit(batch) // the committer goroutine is idle: no other Update runs
	for i, want := range []bool{true, false, true} {
		res := <-batch[i].done
		if (res.err == nil) != want {
			t.Errorf("request %d: err %v", i, res.err)
		}
	}
	for id, want := range map[string]bool{"usr_a": true, "usr_b": false, "usr_c": true} {
		_, err := st.User(ctx, id)
		if (err == nil) != want {
			t.Errorf("%s: read %v, want present=%v", id, err, want)
		}
	}
	// usr_c never ran before the failure; usr_a ran twice (the rolled-back pass and the careful one).
	if runs["usr_a"] != 2 || runs["usr_b"] != 2 || runs["usr_c"] != 1 {
		t.Errorf("runs %v", runs)
	}
	// A lone failing fn is not run twice.
	lone := create("usr_d", true)
	st.commits.commit([]*commitRequest{lone})
	if res := <-lone.done; res.err == nil || runs["usr_d"] != 1 {
		t.Errorf("lone failing fn: err %v, runs %d", res.err, runs["usr_d"])
	}
}

// Under continuous writes and reads the WAL is checkpointed and restarted, so it stays bounded
// (a checkpointer running beside the writer once let it grow without limit).
func TestWALStaysBounded(t *testing.T) {
	st, path := open(t)
	ctx := t.Context()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					st.User(ctx, wxlogin.NewID("usr"))
				}
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 16 {
		writers.Go(func() {
			for i := range 400 {
				err := st.Update(ctx, func(tx wxlogin.Tx) error {
					return tx.CreateUser(ctx, &wxlogin.User{ID: wxlogin.NewID("usr"), Nickname: fmt.Sprintf("writer %d user %d with a longer name", w, i),
						CreatedAt: now, UpdatedAt: now})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 16<<20 {
		t.Fatalf("WAL is %d MiB after 6400 small writes; want it checkpointed and restarted", fi.Size()>>20)
	}
}
