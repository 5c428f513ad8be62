package events

import "testing"

func TestBusFanOutAndDrop(t *testing.T) {
	b := NewBus()
	fast, stopFast := b.Subscribe(10)
	slow, stopSlow := b.Subscribe(1)
	for i := range 3 {
		b.Publish(Event{Type: "x", CompanyID: int64(i)})
	}
	if n := len(fast); n != 3 {
		t.Fatalf("fast subscriber got %d events, want 3", n)
	}
	if n := len(slow); n != 1 || b.Dropped() != 2 {
		t.Fatalf("slow subscriber got %d, dropped %d; want 1 and 2", n, b.Dropped())
	}
	if ev := <-fast; ev.CompanyID != 0 || ev.At.IsZero() {
		t.Fatalf("first event %+v", ev)
	}
	stopFast()
	stopFast() // idempotent
	stopSlow()
	b.Publish(Event{Type: "after"}) // no subscribers: must not panic
}
