package auth

import (
	"context"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/internal/fanout"
)

// memoryNotifier is a wxlogin.Notifier within one process.
type memoryNotifier struct{ hub *fanout.Hub }

// NewMemoryNotifier returns a wxlogin.Notifier for one instance: notifications reach this process
// only. Several instances share a store through package redis's Notifier.
func NewMemoryNotifier() wxlogin.Notifier { return memoryNotifier{hub: fanout.New()} }

func (n memoryNotifier) Subscribe(key string) (<-chan struct{}, func()) { return n.hub.Subscribe(key) }

func (n memoryNotifier) Notify(_ context.Context, key string) error {
	n.hub.Notify(key)
	return nil
}
