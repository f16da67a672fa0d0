package redis

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Revocations tells the instances at once that a session was revoked, so that those caching
// verified tokens drop it.
type Revocations struct{ c *Client }

// Revocations returns the revocation notices of c.
func (c *Client) Revocations() *Revocations { return &Revocations{c: c} }

func (r *Revocations) channel() string { return r.c.key("revocations") }

// Publish marks sessionID revoked for the revoked TTL and announces it on the revocations channel,
// in one transaction. Errors: Redis errors.
func (r *Revocations) Publish(ctx context.Context, sessionID string) error {
	_, err := r.c.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, r.c.key("revoked:", sessionID), "1", time.Duration(ms(r.c.opts.revokedTTL))*time.Millisecond)
		p.Publish(ctx, r.channel(), sessionID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: publish revocation: %w", err)
	}
	return nil
}

// Revoked reports whether sessionID was published as revoked within the revoked TTL, for instances
// that may have missed the message. Errors: Redis errors.
func (r *Revocations) Revoked(ctx context.Context, sessionID string) (bool, error) {
	n, err := r.c.rdb.Exists(ctx, r.c.key("revoked:", sessionID)).Result()
	if err != nil {
		return false, fmt.Errorf("redis: revoked: %w", err)
	}
	return n > 0, nil
}

// Subscribe calls fn with every session ID published until ctx ends, then returns ctx.Err(). It
// reconnects after errors (waiting up to 1 s between attempts); messages published while it is
// disconnected are lost, which Revoked covers. fn runs on Subscribe's goroutine, one call at a time:
// it should be quick.
func (r *Revocations) Subscribe(ctx context.Context, fn func(sessionID string)) error {
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
			// The PubSub reconnects and subscribes again on the next Receive.
			r.c.opts.log.WarnContext(ctx, "redis: revocation subscription failed; retrying",
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
		if m, ok := msg.(*goredis.Message); ok {
			fn(m.Payload)
		}
	}
}
