package script

import (
	"fmt"
	"math"
	"sync"
	"time"

	"go.starlark.net/starlark"
)

// watchdog enforces the per-turn limits. A turn starts when the script
// starts or a host call returns, and ends when the script calls the host or
// stops; the step budget and the wall clock restart with every turn, so the
// time a callee takes to answer never counts against the script.
type watchdog struct {
	thread      *starlark.Thread
	maxSteps    uint64
	maxRunSteps uint64 // of the whole run; 0 means no such limit
	timeout     time.Duration

	mu      sync.Mutex
	turn    uint64 // bumped at every start and pause, so a stale timer does nothing
	running bool
	timer   *time.Timer
	limit   string // why the watchdog cancelled the thread; "" if it did not
}

func newWatchdog(thread *starlark.Thread, maxSteps, maxRunSteps uint64, timeout time.Duration) *watchdog {
	w := &watchdog{thread: thread, maxSteps: maxSteps, maxRunSteps: maxRunSteps, timeout: timeout}
	thread.OnMaxSteps = func(t *starlark.Thread) {
		if w.maxRunSteps > 0 && t.ExecutionSteps() >= w.maxRunSteps {
			w.trip(fmt.Sprintf("step limit exceeded: more than %d steps in one run", w.maxRunSteps))
			return
		}
		w.trip(fmt.Sprintf("step limit exceeded: more than %d steps without a say or listen", w.maxSteps))
	}
	return w
}

// start begins a turn.
func (w *watchdog) start() {
	// Tracking the budget as an absolute mark keeps Steps monotonic, which
	// the interpreter's own accounting expects.
	mark := w.thread.ExecutionSteps() + w.maxSteps
	if mark < w.maxSteps {
		mark = math.MaxUint64 // "unlimited" budgets must not wrap around
	}
	if w.maxRunSteps > 0 {
		mark = min(mark, w.maxRunSteps) // the run's own budget ends first
	}
	w.thread.SetMaxExecutionSteps(mark)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.turn++
	turn := w.turn
	w.running = true
	w.timer = time.AfterFunc(w.timeout, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.turn == turn && w.running {
			w.tripLocked(fmt.Sprintf("time limit exceeded: ran more than %s without a say or listen", w.timeout))
		}
	})
}

// stop ends a turn. It reports the limit if one was hit, so a host call
// does not go out on behalf of a script that already overran.
func (w *watchdog) stop() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.turn++
	w.running = false
	if w.timer != nil {
		w.timer.Stop()
	}
	return w.limit
}

// tripped reports the limit that cancelled the thread, if any.
func (w *watchdog) tripped() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limit
}

func (w *watchdog) trip(reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tripLocked(reason)
}

func (w *watchdog) tripLocked(reason string) {
	if w.limit == "" {
		w.limit = reason
	}
	w.thread.Cancel(reason)
}
