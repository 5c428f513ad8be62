package store

import (
	"context"
	"sync"
)

// writeGate orders SQLite's writers, which take the database's one write
// lock in turn. database/sql hands its single write connection to a
// random waiter; the gate instead serves interactive writes first, in
// arrival order, and bulk writes (an import's batches) when no
// interactive write waits, so that one tenant's import cannot hold the
// others' message posts behind a queue of its batches: an interactive
// write waits for at most the one bulk transaction already running.
// After maxStreak interactive writes in a row while a bulk write waits,
// the bulk write goes next, so a steady stream of small writes slows an
// import but never stops it: with the writer saturated by interactive
// writes, a bulk job still gets one turn in maxStreak+1 (an import's
// batch of 500 rows every 8 posts).
type writeGate struct {
	mu     sync.Mutex
	held   bool
	high   []chan struct{}
	low    []chan struct{}
	streak int
}

const maxStreak = 8

// acquire waits for the write turn; bulk marks a low-priority writer.
func (g *writeGate) acquire(ctx context.Context, bulk bool) error {
	g.mu.Lock()
	if !g.held {
		g.held = true
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if bulk {
		g.low = append(g.low, ch)
	} else {
		g.high = append(g.high, ch)
	}
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		select {
		case <-ch: // granted meanwhile: pass the turn on
			g.next()
		default:
			g.high = remove(g.high, ch)
			g.low = remove(g.low, ch)
		}
		return ctx.Err()
	}
}

// release ends the current writer's turn.
func (g *writeGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next()
}

// next hands the turn to the next writer, or frees the gate; g.mu held.
func (g *writeGate) next() {
	switch {
	case len(g.high) > 0 && (len(g.low) == 0 || g.streak < maxStreak):
		if len(g.low) > 0 {
			g.streak++
		}
		ch := g.high[0]
		g.high = g.high[1:]
		close(ch)
	case len(g.low) > 0:
		g.streak = 0
		ch := g.low[0]
		g.low = g.low[1:]
		close(ch)
	default:
		g.streak = 0
		g.held = false
	}
}

func remove(q []chan struct{}, ch chan struct{}) []chan struct{} {
	for i, c := range q {
		if c == ch {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}
