package redis

import (
	"context"
	"fmt"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/fanout"
)

// Notifier wakes waiters on every instance: Notify publishes the key on the channel
// <prefix>notify, and Run, on every instance, wakes that instance's subscribers of the key. It
// implements wxlogin.Notifier. A poll waiting on it also ends by its own timeout, so a message lost
// while Redis is unreachable only delays an answer.
type Notifier struct {
	c   *Client
	hub *fanout.Hub
}

var _ wxlogin.Notifier = (*Notifier)(nil)

// Notifier returns a notifier over c; call its Run for as long as it is used.
func (c *Client) Notifier() *Notifier { return &Notifier{c: c, hub: fanout.New()} }

func (n *Notifier) channel() string { return n.c.key("notify") }

// Subscribe returns a channel woken each time any instance notifies key, until cancel.
func (n *Notifier) Subscribe(key string) (<-chan struct{}, func()) { return n.hub.Subscribe(key) }

// Notify wakes the subscribers of key here at once and on every instance through Redis. Errors:
// Redis errors (this instance's subscribers were woken all the same).
func (n *Notifier) Notify(ctx context.Context, key string) error {
	n.hub.Notify(key)
	if err := n.c.rdb.Publish(ctx, n.channel(), key).Err(); err != nil {
		return fmt.Errorf("redis: publish notification: %w", err)
	}
	return nil
}

// Run follows the notifications of every instance until ctx ends, then returns ctx.Err(). It
// reconnects after errors (waiting up to 1 s between attempts) and, each time it is subscribed
// again, wakes every subscriber, since a notification may have been missed meanwhile.
func (n *Notifier) Run(ctx context.Context) error {
	return n.c.follow(ctx, n.channel(), "notification", func(up bool) {
		if up {
			n.hub.NotifyAll()
		}
	}, n.hub.Notify)
}

// Waiting returns how many subscriptions key has on this instance.
func (n *Notifier) Waiting(key string) int { return n.hub.Subscribers(key) }
