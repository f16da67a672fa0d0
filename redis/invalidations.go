package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Invalidations tells every instance at once which cached state a write made stale (a revoked
// session, a changed profile), so that instances caching verified tokens drop it. It implements
// wxlogin.Invalidations.
type Invalidations struct{ c *Client }

// Invalidations returns the invalidation channel of c.
func (c *Client) Invalidations() *Invalidations { return &Invalidations{c: c} }

func (r *Invalidations) channel() string { return r.c.key("invalidations") }

// Publish announces keys (which hold no newline) to every subscribed instance in one message.
// Errors: Redis errors.
func (r *Invalidations) Publish(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := r.c.rdb.Publish(ctx, r.channel(), strings.Join(keys, "\n")).Err(); err != nil {
		return fmt.Errorf("redis: publish invalidation: %w", err)
	}
	return nil
}

// Subscribe calls fn with every key published until ctx ends, then returns ctx.Err(). It calls
// up(true) each time the subscription is confirmed (first and after every reconnect) and up(false)
// when it fails; messages published while it is down are lost, so a subscriber must treat its
// cache as unknown until the next up(true). It reconnects after errors, waiting up to 1 s between
// attempts. fn and up run on Subscribe's goroutine, one call at a time: they should be quick.
func (r *Invalidations) Subscribe(ctx context.Context, fn func(key string), up func(bool)) error {
	ps := r.c.rdb.Subscribe(ctx, r.channel())
	defer ps.Close()
	// A blocked Receive does not watch ctx: closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			up(false)
			// The PubSub reconnects and subscribes again on the next Receive.
			r.c.opts.log.WarnContext(ctx, "redis: invalidation subscription failed; retrying",
				slog.Duration("backoff", backoff), slog.String("error", err.Error()))
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return ctx.Err()
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				up(true)
			}
		case *goredis.Message:
			for _, k := range strings.Split(m.Payload, "\n") {
				fn(k)
			}
		}
	}
}
