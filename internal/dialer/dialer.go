// Package dialer calls queued dialogs: a loop that claims the dialogs that
// are due, within each agent's time slots and channel limit, places the
// calls through a trunk, runs the agent's script on them, and hands the
// outcome back to the outbound service, which stores it. It holds no SQL:
// dialogs, calls and their leases belong to internal/outbound, agents'
// settings to internal/agent. Several processes may dial from one
// PostgreSQL database.
package dialer

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/script"
)

// Dialer is one process's dialer: a loop that claims due dialogs, places
// their calls through a trunk, runs the agent's script on them and hands
// the outcome back, all through the outbound service, which owns the
// dialogs and enforces the channel limit in its claims. Any number may run
// against one database: each call is leased to the process that placed it.
type Dialer struct {
	Dialogs  *outbound.Service
	Agents   *agent.Service
	Node     string // unique per process; owns the leases it takes
	Trunks   map[string]Trunk
	Log      *slog.Logger
	Now      func() time.Time // the clock of time slots and of calls; nil is time.Now
	Interval time.Duration    // safety poll: the longest Run sleeps without a wake-up or a due time (default 30s)
	Lease    time.Duration    // how long a call's claim lasts without renewal

	// TrunkResolver, if set, finds a company's own trunk by the agent's
	// trunk_name; a nil Trunk (and nil error) falls back to Trunks.
	TrunkResolver func(ctx context.Context, companyID int64, name string) (Trunk, error)

	// MaxCalls caps the calls in progress on this node, whatever the
	// agents' channel limits (PARLEY_DIALER_MAX_CALLS, sized from the
	// file descriptor limit); 0: no cap.
	MaxCalls int
	// DefaultCPS is the calls per second of a trunk that names none (the
	// built-in ones); 0 is DefaultCallsPerSecond. A RatedTrunk's own rate
	// wins. Each trunk is paced per node.
	DefaultCPS float64

	inflight atomic.Int64 // calls this dialer started that have not ended
	pace     pacer

	// Handover, if set, runs s.transfer() on answered calls (see Handover).
	Handover Handover

	wg       sync.WaitGroup
	programs script.Cache

	// last is the decision last logged per agent (0: the dialer as a
	// whole), so that repeated passes log changes, not repeats.
	mu   sync.Mutex
	last map[int64]string
	hint time.Time // the pass's earliest known next work not in the database (slot opening, trunk rate)

	wake     chan struct{}
	wakeOnce sync.Once
}

// decided logs a decision of the dialer at debug level when it differs
// from the last one logged for that agent; "" forgets it (the agent was
// dialled, so its next wait is news again).
func (d *Dialer) decided(agentID int64, what string, attrs ...any) {
	d.mu.Lock()
	if d.last == nil {
		d.last = map[int64]string{}
	}
	same := d.last[agentID] == what
	if agentID == 0 && what != "" && !same {
		clear(d.last) // idle: every agent's wait is news again
	}
	if what == "" {
		delete(d.last, agentID)
	} else {
		d.last[agentID] = what
	}
	if agentID != 0 && what == "" {
		delete(d.last, 0) // dialling: the dialer is not idle
	}
	d.mu.Unlock()
	if !same && what != "" {
		d.Log.Debug("dialer "+what, attrs...)
	}
}

func (d *Dialer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dialer) defaults() {
	if d.Interval <= 0 {
		d.Interval = 30 * time.Second
	}
	if d.Lease <= 0 {
		d.Lease = 30 * time.Second
	}
	if d.Node == "" {
		d.Node = uuid.NewString()
	}
}

// Run dials until ctx ends, then waits for the calls in progress. It
// does not poll: after each pass it sleeps until the next thing it knows
// will be due (the earliest future next attempt or lease expiry in the
// database, a time slot opening, the trunk's next call slot) or until
// Wake, whichever comes first, with Interval as a safety net for what no
// event announces.
func (d *Dialer) Run(ctx context.Context) {
	d.defaults()
	renew := time.NewTicker(d.Lease / 3)
	defer renew.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wake := d.wakeCh()
	for {
		passStart := time.Now()
		if _, err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error("dialer tick", "error", err)
		}
		timer.Reset(d.sleepFor(ctx, passStart))
	wait:
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return
		case <-renew.C:
			if d.inflight.Load() > 0 { // leases are only held by calls in progress
				if err := d.Dialogs.RenewLeases(ctx, d.Node, d.Lease); err != nil && ctx.Err() == nil {
					d.Log.Error("dialer lease renewal", "error", err)
				}
			}
			goto wait
		case <-timer.C:
		case <-wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// Wake makes a sleeping Run look for due dialogs now: dialogs were
// queued or returned, a channel was freed, an agent's settings changed.
// It never blocks.
func (d *Dialer) Wake() {
	select {
	case d.wakeCh() <- struct{}{}:
	default:
	}
}

func (d *Dialer) wakeCh() chan struct{} {
	d.wakeOnce.Do(func() { d.wake = make(chan struct{}, 1) })
	return d.wake
}

// sleepFor is how long Run may sleep after a pass that started at
// passStart: until the earliest dialog or lease that was not yet due then
// (one due already was either dialled or held back by something that
// wakes the dialer, or sets a hint), the earliest hint the pass left
// (a slot opening, a trunk's next call), or the safety interval.
func (d *Dialer) sleepFor(ctx context.Context, passStart time.Time) time.Duration {
	until := time.Now().Add(d.Interval)
	if at, ok, err := d.Dialogs.NextDueAfter(ctx, passStart); err != nil {
		if ctx.Err() == nil {
			d.Log.Error("dialer: next due dialog", "error", err)
		}
		until = time.Now().Add(time.Second) // the database is unwell: look again soon
	} else if ok && at.Before(until) {
		until = at
	}
	d.mu.Lock()
	if !d.hint.IsZero() && d.hint.Before(until) {
		until = d.hint
	}
	d.hint = time.Time{}
	d.mu.Unlock()
	return max(0, time.Until(until))
}

// hintAt asks the next sleep to end by t at the latest.
func (d *Dialer) hintAt(t time.Time) {
	d.mu.Lock()
	if d.hint.IsZero() || t.Before(d.hint) {
		d.hint = t
	}
	d.mu.Unlock()
}

// Wait blocks until every call this dialer started has finished.
func (d *Dialer) Wait() { d.wg.Wait() }

// Tick recovers abandoned calls and starts calls for every agent with due
// dialogs whose time slots are open. It returns how many calls it started.
func (d *Dialer) Tick(ctx context.Context) (int, error) {
	d.defaults()
	if _, err := d.Dialogs.RecoverExpired(ctx); err != nil {
		return 0, err
	}
	agentIDs, err := d.Dialogs.DueAgents(ctx)
	if err != nil {
		return 0, err
	}
	if len(agentIDs) == 0 {
		d.decided(0, "idle: no due dialogs")
	}
	now := d.now()
	started := 0
	d.pace.forget(time.Now())
	for _, id := range agentIDs {
		a, err := d.Agents.Dialing(ctx, id)
		if err != nil {
			return started, err
		}
		if !outbound.SlotOpen(now, a.Location, a.Slots) {
			open, _ := outbound.NextSlotOpening(now, a.Location, a.Slots)
			if !open.IsZero() {
				d.hintAt(time.Now().Add(open.Sub(now)))
			}
			d.decided(id, "agent waits: time slots closed", "agent_uuid", a.UUID, "until", open.UTC().Format(time.RFC3339))
			continue
		}
		// At most the node's free calls and the trunk's calls for this
		// second: the channel limit is the tenant's, these the node's and
		// the carrier's.
		most := -1
		if d.MaxCalls > 0 {
			most = d.MaxCalls - int(d.inflight.Load())
			if most <= 0 {
				d.decided(0, "waits: the node's call cap is reached", "max_calls", d.MaxCalls)
				break
			}
		}
		key, rate := d.trunkRate(ctx, a.CompanyID, a.TrunkName)
		wall := time.Now()
		free := d.pace.available(key, rate, wall)
		if free <= 0 {
			d.hintAt(wall.Add(time.Duration(float64(time.Second) / rate)))
			d.decided(id, "agent waits: the trunk's calls per second are used", "agent_uuid", a.UUID, "trunk", a.TrunkName, "calls_per_second", rate)
			continue
		}
		if most < 0 || free < most {
			most = free
		}
		attempts, err := d.Dialogs.ClaimUpTo(ctx, a, d.Node, d.Lease, most)
		if err != nil {
			return started, err
		}
		d.pace.spend(key, rate, len(attempts), wall)
		if len(attempts) == 0 {
			d.decided(id, "agent waits: channel limit reached", "agent_uuid", a.UUID, "total_channel_limit", a.ChannelLimit)
		} else {
			d.decided(id, "")
		}
		for _, at := range attempts {
			d.wg.Add(1)
			d.inflight.Add(1)
			go func() {
				defer d.wg.Done()
				defer d.Wake() // a place under the node's cap is free
				defer d.inflight.Add(-1)
				d.runCall(ctx, at)
			}()
		}
		started += len(attempts)
	}
	return started, nil
}
