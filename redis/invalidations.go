package redis

import (
	"context"
	"fmt"
	"strings"
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
	return r.c.follow(ctx, r.channel(), "invalidation", up, func(payload string) {
		for _, k := range strings.Split(payload, "\n") {
			fn(k)
		}
	})
}
