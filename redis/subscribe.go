package redis

import (
	"context"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// follow subscribes to channel and calls onMessage with each message's payload until ctx ends,
// then returns ctx.Err(). It calls up(true) each time the subscription is confirmed (first and
// after every reconnect) and up(false) when it fails; it reconnects after errors, logging them as
// what's subscription, waiting up to 1 s between attempts. up and onMessage run on follow's
// goroutine, one call at a time.
func (c *Client) follow(ctx context.Context, channel, what string, up func(bool), onMessage func(payload string)) error {
	ps := c.rdb.Subscribe(ctx, channel)
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
			c.opts.log.WarnContext(ctx, "redis: "+what+" subscription failed; retrying",
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
			onMessage(m.Payload)
		}
	}
}
