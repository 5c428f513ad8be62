package webhook

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// The bus is fast but lossy: an event published while the dispatcher's
// buffer is full, or lost in a crash between the commit of a change and
// its enqueue, never reaches Enqueue. Chat events are also in the chat
// event log (chat_events), written in the transaction of the change, so
// the sweep reads that log behind a cursor and queues whatever the bus did
// not: a chat event committed is delivered at least once. Event ids of
// chat events are derived from (company, chat, seq), so the bus and the
// sweep never queue one event twice.
//
// The cursor trails the clock by SweepLag: an event is stamped before its
// transaction commits, so one stamped just before the cursor moved could
// commit just after. The lag (30 s by default) is far longer than any of
// those transactions and than the clock skew between nodes; windows
// overlap across passes and nodes, which the unique event ids absorb.

const (
	sweepCursor = "chat_events"
	sweepBatch  = 2000
)

func (d *Dispatcher) sweepLoop(ctx context.Context) {
	// The sweep is the path of events the bus lost (a node that died
	// between its commit and its publish): every SweepEvery while events
	// flow; with none seen since the last sweep the interval doubles, up
	// to sweepIdleFactor times SweepEvery (a minute by default), so an
	// idle node does not read the log every few seconds for nothing.
	every := d.SweepEvery
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if err := d.Sweep(ctx, clock(d.Now)); err != nil && ctx.Err() == nil {
			d.Log.Error("webhook sweep of the chat event log failed", "error", err)
		}
		every = nextSweepInterval(every, d.SweepEvery, d.seen.Swap(false))
	}
}

// nextSweepInterval is the wait before the next sweep: base while events
// flow, doubling while none are seen, up to sweepIdleFactor times base.
func nextSweepInterval(every, base time.Duration, seen bool) time.Duration {
	if seen {
		return base
	}
	return min(2*every, sweepIdleFactor*base)
}

// sweepIdleFactor bounds the sweep's interval on an idle node.
const sweepIdleFactor = 12

// companyHooks is an active webhook as the sweep matches events to it.
type companyHooks struct {
	id       int64
	patterns []string
	created  int64 // events older than the webhook are not its business
}

// Sweep queues the chat events logged between the cursor and now-SweepLag
// for the webhooks subscribed to them, then moves the cursor.
func (d *Dispatcher) Sweep(ctx context.Context, now time.Time) error {
	d.init()
	upper := now.Add(-d.SweepLag).UnixMilli()
	var pos int64
	err := d.DB.Reader().QueryRow(ctx, `SELECT position FROM webhook_cursors WHERE name = ?`, sweepCursor).Scan(&pos)
	if err != nil {
		// The first sweep starts from now: history before webhooks were
		// swept is not replayed.
		return d.moveCursor(ctx, upper)
	}
	hooks, err := d.activeHooks(ctx)
	if err != nil {
		return err
	}
	for pos < upper && ctx.Err() == nil {
		if len(hooks) == 0 {
			return d.moveCursor(ctx, upper)
		}
		next, err := d.sweepBatch(ctx, hooks, pos, upper)
		if err != nil {
			return err
		}
		if err := d.moveCursor(ctx, next); err != nil {
			return err
		}
		pos = next
	}
	return ctx.Err()
}

// sweepBatch queues one batch of events with pos <= created_at < upper and
// returns where the next batch starts.
func (d *Dispatcher) sweepBatch(ctx context.Context, hooks map[int64][]companyHooks, pos, upper int64) (int64, error) {
	ids := make([]any, 0, len(hooks)+3)
	ids = append(ids, pos, upper)
	for cid := range hooks {
		ids = append(ids, cid)
	}
	ids = append(ids, sweepBatch)
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(hooks)), ", ")
	type row struct {
		ev       events.Event
		created  int64
		readable bool
	}
	batch, err := store.Collect(ctx, d.DB.Reader(), func(s store.Scanner) (r row, err error) {
		var data string
		if err := s.Scan(&r.ev.ChatID, &r.ev.Seq, &r.ev.CompanyID, &r.ev.Type, &data, &r.created); err != nil {
			return r, err
		}
		if err := json.Unmarshal([]byte(data), &r.ev.Data); err != nil {
			d.Log.Warn("webhook sweep: unreadable chat event", "chat_id", r.ev.ChatID, "seq", r.ev.Seq, "error", err)
			return r, nil
		}
		r.ev.Subject, _ = r.ev.Data["chat_uuid"].(string)
		r.ev.At, r.readable = time.UnixMilli(r.created).UTC(), true
		return r, nil
	}, `SELECT chat_id, seq, company_id, type, data, created_at FROM chat_events
		WHERE created_at >= ? AND created_at < ? AND company_id IN (`+marks+`)
		ORDER BY created_at, chat_id, seq LIMIT ?`, ids...)
	if err != nil {
		return 0, err
	}
	next := upper
	if len(batch) == sweepBatch {
		// A full batch: the next one starts at its last millisecond, read
		// again (queued events are not queued twice). A millisecond with a
		// whole batch of events would never end, so it is passed over.
		next = batch[len(batch)-1].created
		if next == pos {
			next++
		}
	}
	for _, r := range batch {
		if !r.readable {
			continue
		}
		var targets []int64
		for _, h := range hooks[r.ev.CompanyID] {
			if r.created >= h.created && Matches(h.patterns, r.ev.Type) {
				targets = append(targets, h.id)
			}
		}
		if len(targets) == 0 {
			continue
		}
		if _, err := d.insert(ctx, r.ev, targets); err != nil {
			return 0, err
		}
	}
	return next, nil
}

func (d *Dispatcher) activeHooks(ctx context.Context) (map[int64][]companyHooks, error) {
	type companyHook struct {
		companyHooks
		company int64
	}
	hooks, err := store.Collect(ctx, d.DB.Reader(), func(r store.Scanner) (h companyHook, err error) {
		var raw string
		if err = r.Scan(&h.id, &h.company, &raw, &h.created); err == nil && json.Unmarshal([]byte(raw), &h.patterns) != nil {
			h.patterns = nil // unreadable: matches nothing
		}
		return h, err
	}, `SELECT id, company_id, events, created_at FROM webhooks WHERE active = TRUE`)
	if err != nil {
		return nil, err
	}
	out := map[int64][]companyHooks{}
	for _, h := range hooks {
		if h.patterns != nil {
			out[h.company] = append(out[h.company], h.companyHooks)
		}
	}
	return out, nil
}

// moveCursor moves the shared cursor forward, never back: nodes sweep
// concurrently.
func (d *Dispatcher) moveCursor(ctx context.Context, to int64) error {
	return d.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO webhook_cursors (name, position) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE webhook_cursors.position < excluded.position`,
			sweepCursor, to)
		return err
	})
}
