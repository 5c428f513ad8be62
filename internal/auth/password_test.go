package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-cc/parley"
)

// TestHashGateBounds: at most size hashes hold a slot, at most queue wait,
// and the rest are refused at once with a retryable ERATELIMITED.
func TestHashGateBounds(t *testing.T) {
	g := NewHashGate(2, 3)
	ctx := context.Background()
	for range 2 {
		if err := g.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	granted := make(chan int, 3)
	for i := range 3 {
		go func() {
			if err := g.acquire(ctx); err != nil {
				t.Errorf("waiter %d: %v", i, err)
				return
			}
			granted <- i
		}()
		waitFor(t, func() bool { return g.Stats().Queued == i+1 }) // queued in this order
	}
	err := g.acquire(ctx)
	if parley.ErrorCode(err) != parley.ERATELIMITED || parley.ErrorRetryAfter(err) < time.Second {
		t.Fatalf("a fourth waiter: %v", err)
	}
	if st := g.Stats(); st.Running != 2 || st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Each release hands the slot to the oldest waiter.
	for want := range 3 {
		g.release()
		if got := <-granted; got != want {
			t.Fatalf("slot went to waiter %d, want %d", got, want)
		}
	}
	for range 2 {
		g.release()
	}
	if st := g.Stats(); st.Running != 0 || st.Queued != 0 || st.PeakRunning != 2 {
		t.Fatalf("stats after the releases %+v", st)
	}
}

// TestHashGatePriority: suspect hashes wait behind the others, and a full
// queue makes room for a newcomer by refusing the newest suspect.
func TestHashGatePriority(t *testing.T) {
	g := NewHashGate(1, 2)
	ctx := context.Background()
	if err := g.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	type result struct {
		name string
		err  error
	}
	out := make(chan result, 4)
	wait := func(name string, ctx context.Context) {
		go func() { out <- result{name, g.acquire(ctx)} }()
	}
	wait("suspect1", Deprioritize(ctx))
	waitFor(t, func() bool { return g.Stats().Queued == 1 })
	wait("suspect2", Deprioritize(ctx))
	waitFor(t, func() bool { return g.Stats().Queued == 2 })
	// The queue is full: another suspect is refused, a clean one pushes
	// out the newest suspect.
	if err := g.acquire(Deprioritize(ctx)); parley.ErrorCode(err) != parley.ERATELIMITED {
		t.Fatalf("a third suspect: %v", err)
	}
	wait("clean", ctx)
	if r := <-out; r.name != "suspect2" || parley.ErrorCode(r.err) != parley.ERATELIMITED {
		t.Fatalf("pushed out: %s %v", r.name, r.err)
	}
	waitFor(t, func() bool { return g.Stats().Queued == 2 })
	g.release()
	if r := <-out; r.name != "clean" || r.err != nil {
		t.Fatalf("first served: %s %v, want the clean one", r.name, r.err)
	}
	g.release()
	if r := <-out; r.name != "suspect1" || r.err != nil {
		t.Fatalf("then: %s %v", r.name, r.err)
	}
	g.release()
}

// TestHashGateCancel: a waiter that gives up leaves the queue, and the
// slot goes to the next one.
func TestHashGateCancel(t *testing.T) {
	g := NewHashGate(1, 2)
	bg := context.Background()
	if err := g.acquire(bg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() { errc <- g.acquire(ctx) }()
	waitFor(t, func() bool { return g.Stats().Queued == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	if st := g.Stats(); st.Queued != 0 || st.Running != 1 {
		t.Fatalf("stats %+v", st)
	}
	g.release()
	if err := g.acquire(bg); err != nil {
		t.Fatal(err)
	}
	g.release()
}

// TestVerifyThroughGate: a password check waits for a slot, and a full
// gate refuses it without computing anything.
func TestVerifyThroughGate(t *testing.T) {
	h, err := hashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	g := NewHashGate(1, 1)
	ctx := context.Background()
	if ok, err := g.VerifyPassword(ctx, h, "correct horse"); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	_ = g.acquire(ctx) // the only slot
	go func() { _ = g.acquire(ctx) }()
	waitFor(t, func() bool { return g.Stats().Queued == 1 }) // and the queue
	if _, err := g.VerifyPassword(ctx, h, "correct horse"); parley.ErrorCode(err) != parley.ERATELIMITED {
		t.Fatalf("verify with the gate full: %v", err)
	}
	if _, err := g.HashPassword(ctx, "x"); parley.ErrorCode(err) != parley.ERATELIMITED {
		t.Fatalf("hash with the gate full: %v", err)
	}
	if st := g.Stats(); st.Refused != 2 || st.PeakRunning != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}
