package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// Attempt is a dialog claimed for one call: what placing the call needs,
// and what Finish needs to store its outcome. The dialog is leased to
// Owner until Finish, a lost lease, or RecoverExpired.
type Attempt struct {
	Agent      *agent.Dialing
	Owner      string // the dialer process holding the lease
	DialogID   int64
	DialogUUID string
	CallUUID   string
	Number     int // 1 for a dialog's first attempt
	MSISDN     string
	ScriptName string // "" runs the agent's "main"
	EntryPoint string
	StartedAt  time.Time
	entities   string // JSON, as stored
}

// Entities returns the dialog's initial entities.
func (a *Attempt) Entities() (map[string]string, error) {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(a.entities), &m); err != nil {
		return nil, fmt.Errorf("dialog %s: stored entities: %w", a.DialogUUID, err)
	}
	return m, nil
}

// DueAgents returns the agents that have open channels and a dialog due
// now. Agents are few and dialogs many: each agent with channels is asked
// whether it has a due dialog (an index seek on dialogs_due), rather than
// agents being collected from a scan of every queued dialog.
func (s *Service) DueAgents(ctx context.Context) ([]int64, error) {
	return store.Int64s(ctx, s.DB.Reader(), `SELECT a.id FROM agents a WHERE a.total_channel_limit > 0
		AND EXISTS (SELECT 1 FROM dialogs d WHERE d.agent_id = a.id AND d.status = 'queued' AND d.next_attempt_at <= ?)`, s.now().UnixMilli())
}

// Claim takes up to the agent's free channels' worth of its due dialogs
// for owner, leased for lease, and records a live call for each. The count
// of live calls and the claims happen in one transaction that holds the
// agent's row lock (PostgreSQL) or the write lock (SQLite), so several
// processes together never exceed the agent's channel limit.
func (s *Service) Claim(ctx context.Context, a *agent.Dialing, owner string, lease time.Duration) ([]*Attempt, error) {
	return s.ClaimUpTo(ctx, a, owner, lease, -1)
}

// ClaimUpTo is Claim taking at most most dialogs (a negative most: no
// bound but the channel limit): the dialer's share of its node's call cap
// and of the trunk's calls per second.
func (s *Service) ClaimUpTo(ctx context.Context, a *agent.Dialing, owner string, lease time.Duration, most int) ([]*Attempt, error) {
	if most == 0 {
		return nil, nil
	}
	// A cheap look on the read pool first: with every channel busy there is
	// nothing to claim, and the write lock is left to others.
	var live int
	if err := s.DB.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE agent_id = ? AND status = 'calling'`, a.ID).Scan(&live); err != nil {
		return nil, err
	}
	if live >= a.ChannelLimit {
		return nil, nil
	}
	var out []*Attempt
	err := s.DB.Write(ctx, func(q store.Querier) error {
		out = nil
		now := s.now()
		if err := q.LockRows(ctx, store.LockUpdate, "agents", "id = ?", a.ID); err != nil {
			return err
		}
		var live int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE agent_id = ? AND status = 'calling'`, a.ID).Scan(&live); err != nil {
			return err
		}
		free := a.ChannelLimit - live
		if most >= 0 {
			free = min(free, most)
		}
		if free <= 0 {
			return nil
		}
		// One statement claims them all: the due dialogs in order, up to the
		// free channels. The agent's row lock (or SQLite's write lock) keeps
		// other processes out until commit.
		ms := now.UnixMilli()
		var err error
		out, err = store.Collect(ctx, q, func(r store.Scanner) (*Attempt, error) {
			at := &Attempt{Agent: a, Owner: owner, StartedAt: now, CallUUID: uuid.NewString()}
			err := r.Scan(&at.DialogID, &at.DialogUUID, &at.Number, &at.MSISDN, &at.ScriptName, &at.EntryPoint, &at.entities)
			return at, err
		}, `UPDATE dialogs SET status = 'calling', attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ?
			WHERE id IN (SELECT id FROM dialogs WHERE agent_id = ? AND status = 'queued' AND next_attempt_at <= ?
				ORDER BY next_attempt_at, id LIMIT ?) AND status = 'queued'
			RETURNING id, uuid, attempts, msisdn, script_name, entry_point, entities`,
			owner, ms+lease.Milliseconds(), ms, a.ID, ms, free)
		if err != nil {
			return err
		}
		return insertCalls(ctx, q, a, out, ms)
	})
	if err != nil {
		return nil, err
	}
	for _, at := range out {
		s.publishAttempt("call.started", at, map[string]any{"call_uuid": at.CallUUID, "attempt": at.Number})
	}
	return out, nil
}

// insertCalls records the live calls of a claim with multi-row INSERTs.
func insertCalls(ctx context.Context, q store.Querier, a *agent.Dialing, calls []*Attempt, ms int64) error {
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
			args = append(args, c.CallUUID, a.CompanyID, a.ID, c.DialogID, c.Number, ms)
		}
		if _, err := q.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// RenewLeases extends every lease owner holds by lease from now, in one
// statement. A dialer renews every third of its lease.
func (s *Service) RenewLeases(ctx context.Context, owner string, lease time.Duration) error {
	return s.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `UPDATE dialogs SET lease_until = ? WHERE lease_owner = ? AND status = 'calling'`,
			s.now().Add(lease).UnixMilli(), owner)
		return err
	})
}

// RecoverExpired requeues dialogs whose dialer died mid-call (its lease ran
// out) and returns how many. The cut-off attempt does not count: the
// attempt counter goes back and the call is marked interrupted, so the
// dialog is retried at once and its statistics show it once.
func (s *Service) RecoverExpired(ctx context.Context) (int, error) {
	// Nearly always there is nothing to recover: look on the read pool (the
	// partial index dialogs_lease) before taking the write lock.
	var expired int
	if err := s.DB.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE status = 'calling' AND lease_until < ?`,
		s.now().UnixMilli()).Scan(&expired); err != nil {
		return 0, err
	}
	if expired == 0 {
		return 0, nil
	}
	type lapsed struct {
		id    int64
		owner string
	}
	recovered := 0
	err := s.DB.Write(ctx, func(q store.Querier) error {
		recovered = 0
		now := s.now().UnixMilli()
		list, err := store.Collect(ctx, q, func(r store.Scanner) (l lapsed, err error) {
			err = r.Scan(&l.id, &l.owner)
			return l, err
		}, `SELECT id, lease_owner FROM dialogs WHERE status = 'calling' AND lease_until < ? LIMIT 1000`, now)
		if err != nil {
			return err
		}
		for _, l := range list {
			res, err := q.Exec(ctx, `UPDATE dialogs SET status = 'queued', attempts = attempts - 1, lease_owner = '', lease_until = 0,
				next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'calling' AND lease_owner = ? AND lease_until < ?`,
				now, now, l.id, l.owner, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				continue
			}
			if _, err := q.Exec(ctx, `UPDATE calls SET status = 'interrupted', result = 'interrupted', ended_at = ? WHERE dialog_id = ? AND status = 'live'`,
				now, l.id); err != nil {
				return err
			}
			recovered++
			s.log().Warn("requeued a dialog whose call was cut off", "dialog_id", l.id, "node", l.owner)
		}
		return nil
	})
	return recovered, err
}

// publishAttempt announces a change of an attempt's call or dialog.
func (s *Service) publishAttempt(typ string, at *Attempt, data map[string]any) {
	data["dialog_uuid"] = at.DialogUUID
	data["agent_uuid"] = at.Agent.UUID
	s.publish(typ, at.Agent.CompanyID, at.DialogUUID, data)
}
