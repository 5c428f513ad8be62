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
	Interval time.Duration    // how often to look for due dialogs
	Lease    time.Duration    // how long a call's claim lasts without renewal

	// TrunkResolver, if set, finds a company's own trunk by the agent's
	// trunk_name; a nil Trunk (and nil error) falls back to Trunks.
	TrunkResolver func(ctx context.Context, companyID int64, name string) (Trunk, error)

	// Handover, if set, runs s.transfer() on answered calls (see Handover).
	Handover Handover

	wg       sync.WaitGroup
	programs script.Cache

	// last is the decision last logged per agent (0: the dialer as a
	// whole), so that a tick every 100 ms logs changes, not repeats.
	mu   sync.Mutex
	last map[int64]string
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
		d.Interval = 100 * time.Millisecond
	}
	if d.Lease <= 0 {
		d.Lease = 30 * time.Second
	}
	if d.Node == "" {
		d.Node = uuid.NewString()
	}
}

// Run dials until ctx ends, then waits for the calls in progress.
func (d *Dialer) Run(ctx context.Context) {
	d.defaults()
	renew := time.NewTicker(d.Lease / 3)
	defer renew.Stop()
	tick := time.NewTicker(d.Interval)
	defer tick.Stop()
	for {
		if _, err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error("dialer tick", "error", err)
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return
		case <-renew.C:
			if err := d.Dialogs.RenewLeases(ctx, d.Node, d.Lease); err != nil && ctx.Err() == nil {
				d.Log.Error("dialer lease renewal", "error", err)
			}
		case <-tick.C:
		}
	}
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
	for _, id := range agentIDs {
		a, err := d.Agents.Dialing(ctx, id)
		if err != nil {
			return started, err
		}
		if !outbound.SlotOpen(now, a.Location, a.Slots) {
			open, _ := outbound.NextSlotOpening(now, a.Location, a.Slots)
			d.decided(id, "agent waits: time slots closed", "agent_uuid", a.UUID, "until", open.UTC().Format(time.RFC3339))
			continue
		}
		attempts, err := d.Dialogs.Claim(ctx, a, d.Node, d.Lease)
		if err != nil {
			return started, err
		}
		if len(attempts) == 0 {
			d.decided(id, "agent waits: channel limit reached", "agent_uuid", a.UUID, "total_channel_limit", a.ChannelLimit)
		} else {
			d.decided(id, "")
		}
		for _, at := range attempts {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.runCall(ctx, at)
			}()
		}
		started += len(attempts)
	}
	return started, nil
}
