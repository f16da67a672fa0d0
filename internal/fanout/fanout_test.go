package fanout

import "testing"

func TestHub(t *testing.T) {
	h := New()
	a, cancelA := h.Subscribe("k")
	b, cancelB := h.Subscribe("k")
	other, cancelO := h.Subscribe("x")
	defer cancelO()
	h.Notify("k")
	h.Notify("k") // coalesced: one pending wake-up per subscriber, and Notify never blocks
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		default:
			t.Fatal("a subscriber of k was not woken")
		}
		select {
		case <-ch:
			t.Fatal("two notifications left two wake-ups")
		default:
		}
	}
	select {
	case <-other:
		t.Fatal("a subscriber of another key was woken")
	default:
	}
	cancelA()
	cancelA() // idempotent
	if n := h.Subscribers("k"); n != 1 {
		t.Fatalf("after one cancel: %d subscribers", n)
	}
	h.NotifyAll()
	select {
	case <-other:
	default:
		t.Fatal("NotifyAll did not wake x")
	}
	select {
	case <-a:
		t.Fatal("a cancelled subscription was woken")
	default:
	}
	cancelB()
	if n := h.Subscribers("k"); n != 0 || len(h.subs) != 1 {
		t.Fatalf("after cancelling every subscriber of k: %d, keys %d", n, len(h.subs))
	}
}
