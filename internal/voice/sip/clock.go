package sip

import (
	"runtime"
	"sync"
	"time"

	"github.com/parley-cc/parley/internal/audio"
)

// A media clock runs its calls' 20 ms ticks (media.tick) on one
// goroutine, on its own OS thread at media priority (audio.MediaThread).
// A locked thread per call cost a hand-over of the scheduler's P and two
// thread wake-ups per call per tick (5,000 a second at 100 calls, about
// 30 % of the node's CPU in the bridge benchmark); one clock wakes at most
// once per clockSlack and runs every slot due by then.

// clockSlack is how early a slot may run so that slots close together
// share one wake-up: its packet goes out at most this much ahead of its
// time, well inside any jitter buffer.
const clockSlack = time.Millisecond

type mediaClock struct {
	mu    sync.Mutex
	calls []*media
	wake  chan struct{}
}

// clocks are the node's media clocks, one per CPU the Go scheduler uses:
// one thread ticks a few thousand calls at most (~10 µs a tick), so a
// node with more cores spreads its calls instead of stopping at one.
var clocks = sync.OnceValue(func() []*mediaClock {
	cs := make([]*mediaClock, max(1, runtime.GOMAXPROCS(0)))
	for i := range cs {
		cs[i] = &mediaClock{wake: make(chan struct{}, 1)}
		go cs[i].run()
	}
	return cs
})

// leastBusyClock is the clock with the fewest calls, for a new call.
func leastBusyClock() *mediaClock {
	var best *mediaClock
	bestN := 0
	for _, c := range clocks() {
		c.mu.Lock()
		n := len(c.calls)
		c.mu.Unlock()
		if best == nil || n < bestN {
			best, bestN = c, n
		}
	}
	return best
}

// add starts m's ticks; the clock calls m.wg.Done once m.done is closed.
func (c *mediaClock) add(m *media) {
	c.mu.Lock()
	c.calls = append(c.calls, m)
	c.mu.Unlock()
	c.poke()
}

// poke makes the clock look at its calls now: one was added, kicked or
// closed.
func (c *mediaClock) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *mediaClock) run() {
	audio.MediaThread() // its own thread at media priority, for the life of the process
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var calls []*media
	for {
		c.mu.Lock()
		calls = append(calls[:0], c.calls...)
		c.mu.Unlock()
		next := time.Now().Add(time.Hour)
		var ended []*media
		for _, m := range calls {
			select {
			case <-m.done:
				ended = append(ended, m)
				continue
			default:
			}
			select {
			case <-m.kick:
				m.kicked()
			default:
			}
			if now := time.Now(); !m.tk.next.After(now.Add(clockSlack)) {
				m.tick(now)
			}
			if m.tk.next.Before(next) {
				next = m.tk.next
			}
		}
		if len(ended) > 0 {
			c.mu.Lock()
			c.calls = slicesDeleteAll(c.calls, ended)
			c.mu.Unlock()
			for _, m := range ended {
				m.wg.Done()
			}
		}
		clear(calls) // no references to ended calls kept
		if d := time.Until(next); d > clockSlack/2 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-c.wake:
				timer.Stop() // no stale tick after Stop since Go 1.23
			}
		}
	}
}

func slicesDeleteAll(calls, drop []*media) []*media {
	out := calls[:0]
	for _, m := range calls {
		keep := true
		for _, d := range drop {
			if m == d {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, m)
		}
	}
	clear(calls[len(out):])
	return out
}
