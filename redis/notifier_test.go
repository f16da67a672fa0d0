package redis_test

import (
	"context"
	"testing"
	"time"
)

// A notification on one client wakes the subscribers of its key on another (and on itself), only
// them; after a lost connection the subscription comes back and wakes every waiter, since a
// notification may have been missed.
func TestNotifierAcrossClients(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, u := e.proxied()
	a, b := e.open().Notifier(), e.openURL(u).Notifier()
	for _, n := range []interface{ Run(context.Context) error }{a, b} {
		go n.Run(ctx)
	}
	waitSubs := func(want int64) {
		t.Helper()
		ch := e.prefix + "notify"
		for deadline := time.Now().Add(3 * time.Second); e.raw.PubSubNumSub(ctx, ch).Val()[ch] != want; {
			if time.Now().After(deadline) {
				t.Fatalf("never %d subscribers", want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitSubs(2)
	// Once b's probe is woken, b's subscription confirmation was handled (it comes before any
	// message), so its wake-everyone on subscribing cannot touch the subscriptions below.
	probe, stop := b.Subscribe("probe")
	for i := 0; ; i++ {
		if err := a.Notify(ctx, "probe"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-probe:
		case <-time.After(20 * time.Millisecond):
			if i > 200 {
				t.Fatal("b never received a's notification")
			}
			continue
		}
		break
	}
	stop()
	k, cancelK := b.Subscribe("qrl_1")
	defer cancelK()
	other, cancelO := b.Subscribe("qrl_2")
	defer cancelO()
	local, cancelL := a.Subscribe("qrl_1")
	defer cancelL()
	if b.Waiting("qrl_1") != 1 || a.Waiting("qrl_1") != 1 {
		t.Fatal("Waiting does not count the subscriptions")
	}
	if err := a.Notify(ctx, "qrl_1"); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan struct{}{"the other client": k, "the notifying client": local} {
		select {
		case <-ch:
		case <-time.After(3 * time.Second):
			t.Fatalf("%s's subscriber was not woken", name)
		}
	}
	select {
	case <-other:
		t.Fatal("a subscriber of another key was woken")
	case <-time.After(50 * time.Millisecond):
	}
	// Cut b's connection: once it is subscribed again, every waiter of b wakes to re-read.
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	for _, ch := range []<-chan struct{}{k, other} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter was not woken after the subscription came back")
		}
	}
	waitSubs(2)
	if err := a.Notify(ctx, "qrl_2"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-other:
	case <-time.After(3 * time.Second):
		t.Fatal("not delivered after reconnect")
	}
}
