package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/store"
)

// Dialer is one process's dialer. Any number may run against one database:
// the channel limit is enforced in the claiming transaction, and each call
// is leased to the process that placed it.
type Dialer struct {
	DB       *store.DB
	Node     string // unique per process; owns the leases it takes
	Trunks   map[string]Trunk
	Log      *slog.Logger
	Bus      *events.Bus
	Now      func() time.Time // injectable clock for time-slot tests
	Interval time.Duration    // how often to look for due dialogs
	Lease    time.Duration    // how long a call's claim lasts without renewal

	// TrunkResolver, if set, finds a company's own trunk by the agent's
	// trunk_name; a nil Trunk (and nil error) falls back to Trunks.
	TrunkResolver func(ctx context.Context, companyID int64, name string) (Trunk, error)

	// Media, if set, receives the calls' recordings (RecordingKey); nil
	// keeps them in the database (call_recordings), as before.
	Media media.Store

	wg       sync.WaitGroup
	programs script.Cache
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
			if err := d.renewLeases(ctx); err != nil && ctx.Err() == nil {
				d.Log.Error("dialer lease renewal", "error", err)
			}
		case <-tick.C:
		}
	}
}

// Wait blocks until every call this dialer started has finished.
func (d *Dialer) Wait() { d.wg.Wait() }

// agentConfig is what the dialer needs of an agent.
type agentConfig struct {
	id, companyID int64
	uuid          string
	loc           *time.Location
	limit         int
	recallCount   int
	delay         time.Duration
	trunk, tts    string
	language      string
	slots         []agent.TimeSlot
}

// claimed is a dialog this process now calls.
type claimed struct {
	agent      *agentConfig
	dialogID   int64
	dialogUUID string
	callID     int64
	callUUID   string
	attempt    int
	msisdn     string
	scriptName string
	entryPoint string
	entities   string
	startedAt  time.Time
}

// Tick recovers abandoned calls and starts calls for every agent with due
// dialogs. It returns how many calls it started.
func (d *Dialer) Tick(ctx context.Context) (int, error) {
	d.defaults()
	if err := d.recoverExpired(ctx); err != nil {
		return 0, err
	}
	now := d.now()
	var agentIDs []int64
	// Agents are few and dialogs many: ask each agent with open channels
	// whether it has a due dialog (an index seek on dialogs_due), rather than
	// collecting agents from a scan of every queued dialog.
	rows, err := d.DB.Reader().Query(ctx, `SELECT a.id FROM agents a WHERE a.total_channel_limit > 0
		AND EXISTS (SELECT 1 FROM dialogs d WHERE d.agent_id = a.id AND d.status = 'queued' AND d.next_attempt_at <= ?)`, now.UnixMilli())
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		agentIDs = append(agentIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	started := 0
	for _, id := range agentIDs {
		cfg, err := d.loadAgent(ctx, id)
		if err != nil {
			return started, err
		}
		if !SlotOpen(now, cfg.loc, cfg.slots) {
			continue
		}
		calls, err := d.claim(ctx, cfg, now)
		if err != nil {
			return started, err
		}
		for _, c := range calls {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.runCall(ctx, c)
			}()
		}
		started += len(calls)
	}
	return started, nil
}

func (d *Dialer) loadAgent(ctx context.Context, id int64) (*agentConfig, error) {
	c := &agentConfig{id: id}
	var tz string
	var delayMin int
	err := d.DB.Reader().QueryRow(ctx, `SELECT company_id, uuid, timezone, total_channel_limit, recall_count, delay_minutes, trunk_name, tts, language
		FROM agents WHERE id = ?`, id).Scan(&c.companyID, &c.uuid, &tz, &c.limit, &c.recallCount, &delayMin, &c.trunk, &c.tts, &c.language)
	if err != nil {
		return nil, fmt.Errorf("dialer: load agent %d: %w", id, err)
	}
	c.delay = time.Duration(delayMin) * time.Minute
	if c.loc, err = time.LoadLocation(tz); err != nil {
		c.loc = time.UTC // validated on write; a zone removed from tzdata later falls back to UTC
	}
	rows, err := d.DB.Reader().Query(ctx, `SELECT day, not_before, not_after FROM agent_time_slots WHERE agent_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s agent.TimeSlot
		if err := rows.Scan(&s.Day, &s.NotBefore, &s.NotAfter); err != nil {
			return nil, err
		}
		c.slots = append(c.slots, s)
	}
	return c, rows.Err()
}

// claim takes up to the agent's free channels' worth of due dialogs. The
// count of live calls and the claims happen in one transaction that holds
// the agent's row lock (PostgreSQL) or the write lock (SQLite), so several
// processes together never exceed total_channel_limit.
func (d *Dialer) claim(ctx context.Context, cfg *agentConfig, now time.Time) ([]*claimed, error) {
	// A cheap look on the read pool first: with every channel busy there is
	// nothing to claim, and the write lock is left to others.
	var live int
	if err := d.DB.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE agent_id = ? AND status = 'calling'`, cfg.id).Scan(&live); err != nil {
		return nil, err
	}
	if live >= cfg.limit {
		return nil, nil
	}
	var out []*claimed
	err := d.DB.Write(ctx, func(q store.Querier) error {
		out = nil
		if err := q.LockRows(ctx, store.LockUpdate, "agents", "id = ?", cfg.id); err != nil {
			return err
		}
		var live int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE agent_id = ? AND status = 'calling'`, cfg.id).Scan(&live); err != nil {
			return err
		}
		free := cfg.limit - live
		if free <= 0 {
			return nil
		}
		// One statement claims them all: the due dialogs in order, up to the
		// free channels. The agent's row lock (or SQLite's write lock) keeps
		// other processes out until commit.
		ms := now.UnixMilli()
		rows, err := q.Query(ctx, `UPDATE dialogs SET status = 'calling', attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ?
			WHERE id IN (SELECT id FROM dialogs WHERE agent_id = ? AND status = 'queued' AND next_attempt_at <= ?
				ORDER BY next_attempt_at, id LIMIT ?) AND status = 'queued'
			RETURNING id, uuid, attempts, msisdn, script_name, entry_point, entities`,
			d.Node, ms+d.Lease.Milliseconds(), ms, cfg.id, ms, free)
		if err != nil {
			return err
		}
		for rows.Next() {
			c := &claimed{agent: cfg, startedAt: now, callUUID: uuid.NewString()}
			if err := rows.Scan(&c.dialogID, &c.dialogUUID, &c.attempt, &c.msisdn, &c.scriptName, &c.entryPoint, &c.entities); err != nil {
				rows.Close()
				return err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return insertCalls(ctx, q, cfg, out, ms)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range out {
		d.publish("call.started", c, map[string]any{"call_uuid": c.callUUID, "attempt": c.attempt})
	}
	return out, nil
}

// insertCalls records the calls of a claim with multi-row INSERTs.
func insertCalls(ctx context.Context, q store.Querier, cfg *agentConfig, calls []*claimed, ms int64) error {
	const perStatement = 500
	for start := 0; start < len(calls); start += perStatement {
		end := min(start+perStatement, len(calls))
		var b strings.Builder
		b.WriteString("INSERT INTO calls (uuid, company_id, agent_id, dialog_id, attempt, status, started_at) VALUES ")
		args := make([]any, 0, (end-start)*6)
		for i, c := range calls[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, 'live', ?)")
			args = append(args, c.callUUID, cfg.companyID, cfg.id, c.dialogID, c.attempt, ms)
		}
		if _, err := q.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// renewLeases extends every lease this process holds, in one statement.
func (d *Dialer) renewLeases(ctx context.Context) error {
	return d.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `UPDATE dialogs SET lease_until = ? WHERE lease_owner = ? AND status = 'calling'`,
			d.now().Add(d.Lease).UnixMilli(), d.Node)
		return err
	})
}

// recoverExpired requeues dialogs whose caller died mid-call (its lease ran
// out). The cut-off attempt does not count: the attempt counter goes back
// and the call is marked interrupted, so the dialog is retried at once and
// its statistics show it once.
func (d *Dialer) recoverExpired(ctx context.Context) error {
	now := d.now().UnixMilli()
	// Nearly always there is nothing to recover: look on the read pool (the
	// partial index dialogs_lease) before taking the write lock.
	var expired int
	if err := d.DB.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE status = 'calling' AND lease_until < ?`, now).Scan(&expired); err != nil {
		return err
	}
	if expired == 0 {
		return nil
	}
	return d.DB.Write(ctx, func(q store.Querier) error {
		rows, err := q.Query(ctx, `SELECT id, lease_owner FROM dialogs WHERE status = 'calling' AND lease_until < ? LIMIT 1000`, now)
		if err != nil {
			return err
		}
		type expired struct {
			id    int64
			owner string
		}
		var list []expired
		for rows.Next() {
			var e expired
			if err := rows.Scan(&e.id, &e.owner); err != nil {
				rows.Close()
				return err
			}
			list = append(list, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range list {
			res, err := q.Exec(ctx, `UPDATE dialogs SET status = 'queued', attempts = attempts - 1, lease_owner = '', lease_until = 0,
				next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'calling' AND lease_owner = ? AND lease_until < ?`,
				now, now, e.id, e.owner, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				continue
			}
			if _, err := q.Exec(ctx, `UPDATE calls SET status = 'interrupted', result = 'interrupted', ended_at = ? WHERE dialog_id = ? AND status = 'live'`,
				now, e.id); err != nil {
				return err
			}
			d.Log.Warn("requeued a dialog whose call was cut off", "dialog_id", e.id, "node", e.owner)
		}
		return nil
	})
}

// errLeaseLost means another process recovered the dialog while this one
// was still calling (it stalled past its lease); this result is dropped.
var errLeaseLost = errors.New("dialer: lease lost")

func (d *Dialer) publish(typ string, c *claimed, data map[string]any) {
	if d.Bus == nil {
		return
	}
	data["dialog_uuid"] = c.dialogUUID
	data["agent_uuid"] = c.agent.uuid
	d.Bus.Publish(events.Event{Type: typ, CompanyID: c.agent.companyID, Subject: c.dialogUUID, Data: data})
}
