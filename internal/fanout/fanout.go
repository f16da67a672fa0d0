// Package fanout wakes the waiters of a key within one process: the in-process half of
// wxlogin.Notifier, used alone on one instance (auth.NewMemoryNotifier) and behind Redis pub/sub
// on several (redis.Notifier).
package fanout

import "sync"

// Hub holds the subscriptions of this process. The zero value is not usable; call New.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// New returns an empty Hub.
func New() *Hub { return &Hub{subs: map[string]map[chan struct{}]struct{}{}} }

// Subscribe returns a channel that receives a value each time key is notified (at most one
// pending: notifications never block), until cancel is called.
func (h *Hub) Subscribe(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	set := h.subs[key]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		h.subs[key] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[key], ch)
			if len(h.subs[key]) == 0 {
				delete(h.subs, key)
			}
		})
	}
}

// Notify wakes the subscribers of key.
func (h *Hub) Notify(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[key] {
		wake(ch)
	}
}

// NotifyAll wakes every subscriber (after notifications may have been lost).
func (h *Hub) NotifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for ch := range set {
			wake(ch)
		}
	}
}

// Subscribers returns how many subscriptions key has.
func (h *Hub) Subscribers(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[key])
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // a wake-up is pending already
	}
}
