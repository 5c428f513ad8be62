package outbound

import (
	"context"
	"errors"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// QueueItem is a dialog in an agent's queue, and why it waits.
type QueueItem struct {
	UUID, MSISDN, Result string
	Status               DialogState
	Attempts             int
	Wait                 Wait
}

// Page checks the seed's paging rule: offset is a multiple of limit.
func Page(limit, offset int) error {
	if limit <= 0 || limit > 1000 {
		return parley.FieldError("limit", "must be from 1 to 1000")
	}
	if offset < 0 || offset%limit != 0 {
		return parley.FieldError("offset", "must be a non-negative multiple of limit")
	}
	return nil
}

// Queue lists the agent's dialogs that are not finished: queued, being
// called, or stopped.
func (s *Service) Queue(ctx context.Context, agentUUID, bulkUUID string, limit, offset int) ([]QueueItem, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := Page(limit, offset); err != nil {
		return nil, err
	}
	var out []QueueItem
	err = s.DB.Read(ctx, func(q store.Querier) error {
		now := s.now()
		aid, bid, err := agentAndBulk(ctx, q, cid, agentUUID, bulkUUID)
		if err != nil {
			return err
		}
		dialing, err := agent.LoadDialing(ctx, q, aid)
		if err != nil {
			return err
		}
		var live int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE agent_id = ? AND status = 'calling'`, aid).Scan(&live); err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, func(r store.Scanner) (it QueueItem, err error) {
			var next int64
			if err = r.Scan(&it.UUID, &it.MSISDN, &it.Status, &it.Result, &it.Attempts, &next); err == nil {
				it.Wait = Explain(it.Status, time.UnixMilli(next), it.Attempts, it.Result, dialing, live, now)
			}
			return it, err
		}, `SELECT uuid, msisdn, status, result, attempts, next_attempt_at FROM dialogs
			WHERE agent_id = ? AND company_id = ? AND status IN `+sqlPending+` AND (? = 0 OR bulk_id = ?)
			ORDER BY id LIMIT ? OFFSET ?`, aid, cid, bid, bid, limit, offset)
		return err
	})
	if out == nil && err == nil {
		out = []QueueItem{}
	}
	return out, err
}

// Stop pauses the agent's queued dialogs. Dialogs being called finish
// their call first.
func (s *Service) Stop(ctx context.Context, agentUUID string) error {
	return s.moveAll(ctx, agentUUID, []DialogState{DialogQueued}, DialogStopped)
}

// Return puts the agent's stopped dialogs back in the queue.
func (s *Service) Return(ctx context.Context, agentUUID string) error {
	err := s.moveAll(ctx, agentUUID, []DialogState{DialogStopped}, DialogQueued)
	if err == nil {
		s.wake()
	}
	return err
}

// Remove takes the agent's waiting dialogs (queued or stopped) out of the
// queue for good, or only the one named by dialogUUID.
func (s *Service) Remove(ctx context.Context, agentUUID, dialogUUID string) error {
	if dialogUUID == "" {
		return s.moveAll(ctx, agentUUID, []DialogState{DialogQueued, DialogStopped}, DialogRemoved)
	}
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if err := agent.ValidUUID("dialog_uuid", dialogUUID); err != nil {
		return err
	}
	return s.DB.Write(ctx, func(q store.Querier) error {
		now := s.now().UnixMilli()
		aid, err := agent.IDByUUID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		var st DialogState
		err = q.QueryRow(ctx, `SELECT status FROM dialogs WHERE uuid = ? AND agent_id = ? AND company_id = ?`, dialogUUID, aid, cid).Scan(&st)
		if errors.Is(err, store.ErrNoRows) {
			return parley.Errorf(parley.ENOTFOUND, "Dialog %s not found for this agent.", dialogUUID)
		} else if err != nil {
			return err
		}
		if !waiting(st) {
			return parley.Errorf(parley.ECONFLICT, "Dialog %s is %s; only queued or stopped dialogs can be removed.", dialogUUID, st)
		}
		_, err = q.Exec(ctx, `UPDATE dialogs SET status = ?, updated_at = ?, finished_at = ? WHERE uuid = ? AND company_id = ? AND status IN `+sqlWaiting,
			DialogRemoved, now, now, dialogUUID, cid)
		return err
	})
}

// moveAll moves every dialog of the agent in one of the from states to
// state to. A removed dialog is finished: it gets finished_at.
func (s *Service) moveAll(ctx context.Context, agentUUID string, from []DialogState, to DialogState) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	return s.DB.Write(ctx, func(q store.Querier) error {
		now := s.now().UnixMilli()
		aid, err := agent.IDByUUID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		var finished any // nil keeps the column as it is
		if to == DialogRemoved {
			finished = now
		}
		in, args := "(?", []any{to, now, finished, aid, cid, from[0]}
		for _, f := range from[1:] {
			in += ", ?"
			args = append(args, f)
		}
		_, err = q.Exec(ctx, `UPDATE dialogs SET status = ?, updated_at = ?, finished_at = COALESCE(?, finished_at)
			WHERE agent_id = ? AND company_id = ? AND status IN `+in+`)`, args...)
		return err
	})
}
