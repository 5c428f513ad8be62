package dialog

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// Dialog statuses.
const (
	StatusQueued  = "queued"
	StatusCalling = "calling"
	StatusStopped = "stopped"
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusRemoved = "removed"
)

// QueueItem is a dialog in an agent's queue.
type QueueItem struct {
	UUID, MSISDN, Status, Result string
	Attempts                     int
}

// CallItem is one call of an agent.
type CallItem struct {
	UUID, DialogUUID, MSISDN, Result, Status string
	StartedAt                                int64
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

// agentAndBulk resolves the agent of a queue view and its optional bulk
// filter.
func agentAndBulk(ctx context.Context, q store.Querier, cid int64, agentUUID, bulkUUID string) (agentID, bulkID int64, err error) {
	if agentID, err = agent.IDByUUID(ctx, q, cid, agentUUID); err != nil {
		return 0, 0, err
	}
	bulkID, err = bulkFilter(ctx, q, cid, agentID, bulkUUID)
	return agentID, bulkID, err
}

// bulkFilter resolves an optional bulk_uuid to its id (0 = no filter).
func bulkFilter(ctx context.Context, q store.Querier, cid, agentID int64, bulkUUID string) (int64, error) {
	if bulkUUID == "" {
		return 0, nil
	}
	if err := agent.ValidUUID("bulk_uuid", bulkUUID); err != nil {
		return 0, err
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM dialog_bulks WHERE uuid = ? AND company_id = ? AND agent_id = ?`, bulkUUID, cid, agentID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return -1, nil // a filter that matches nothing
	}
	return id, err
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
	out := []QueueItem{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, bid, err := agentAndBulk(ctx, q, cid, agentUUID, bulkUUID)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT uuid, msisdn, status, result, attempts FROM dialogs
			WHERE agent_id = ? AND company_id = ? AND status IN ('queued', 'calling', 'stopped') AND (? = 0 OR bulk_id = ?)
			ORDER BY id LIMIT ? OFFSET ?`, aid, cid, bid, bid, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it QueueItem
			if err := rows.Scan(&it.UUID, &it.MSISDN, &it.Status, &it.Result, &it.Attempts); err != nil {
				return err
			}
			out = append(out, it)
		}
		return rows.Err()
	})
	return out, err
}

// Calls lists the agent's calls, newest first.
func (s *Service) Calls(ctx context.Context, agentUUID, bulkUUID string, limit, offset int) ([]CallItem, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := Page(limit, offset); err != nil {
		return nil, err
	}
	out := []CallItem{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, bid, err := agentAndBulk(ctx, q, cid, agentUUID, bulkUUID)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT c.uuid, d.uuid, d.msisdn, c.result, c.status, c.started_at FROM calls c JOIN dialogs d ON d.id = c.dialog_id
			WHERE c.agent_id = ? AND c.company_id = ? AND (? = 0 OR d.bulk_id = ?)
			ORDER BY c.id DESC LIMIT ? OFFSET ?`, aid, cid, bid, bid, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it CallItem
			if err := rows.Scan(&it.UUID, &it.DialogUUID, &it.MSISDN, &it.Result, &it.Status, &it.StartedAt); err != nil {
				return err
			}
			out = append(out, it)
		}
		return rows.Err()
	})
	return out, err
}

// Stop pauses the agent's queued dialogs; Return puts stopped ones back.
// Dialogs being called finish their call first.
func (s *Service) Stop(ctx context.Context, agentUUID string) error {
	return s.move(ctx, agentUUID, "", StatusQueued, StatusStopped)
}

// Return puts the agent's stopped dialogs back in the queue.
func (s *Service) Return(ctx context.Context, agentUUID string) error {
	return s.move(ctx, agentUUID, "", StatusStopped, StatusQueued)
}

// Remove takes the agent's waiting dialogs (queued or stopped) out of the
// queue for good, or only the one named by dialogUUID.
func (s *Service) Remove(ctx context.Context, agentUUID, dialogUUID string) error {
	return s.move(ctx, agentUUID, dialogUUID, "", StatusRemoved)
}

func (s *Service) move(ctx context.Context, agentUUID, dialogUUID, from, to string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if dialogUUID != "" {
		if err := agent.ValidUUID("dialog_uuid", dialogUUID); err != nil {
			return err
		}
	}
	now := s.now().UnixMilli()
	return s.DB.Write(ctx, func(q store.Querier) error {
		aid, err := agent.IDByUUID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		var finished any
		if to == StatusRemoved {
			finished = now
		}
		fromSet := "('" + from + "')"
		if from == "" {
			fromSet = "('queued', 'stopped')"
		}
		if dialogUUID == "" {
			_, err := q.Exec(ctx, `UPDATE dialogs SET status = ?, updated_at = ?, finished_at = COALESCE(?, finished_at)
				WHERE agent_id = ? AND company_id = ? AND status IN `+fromSet, to, now, finished, aid, cid)
			return err
		}
		var status string
		err = q.QueryRow(ctx, `SELECT status FROM dialogs WHERE uuid = ? AND agent_id = ? AND company_id = ?`, dialogUUID, aid, cid).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return parley.Errorf(parley.ENOTFOUND, "Dialog %s not found for this agent.", dialogUUID)
		} else if err != nil {
			return err
		}
		if status != StatusQueued && status != StatusStopped {
			return parley.Errorf(parley.ECONFLICT, "Dialog %s is %s; only queued or stopped dialogs can be removed.", dialogUUID, status)
		}
		_, err = q.Exec(ctx, `UPDATE dialogs SET status = ?, updated_at = ?, finished_at = ? WHERE uuid = ? AND company_id = ? AND status IN ('queued', 'stopped')`,
			to, now, now, dialogUUID, cid)
		return err
	})
}

// Selection is a named batch of an agent's dialogs.
type Selection struct {
	UUID         string
	Name         string
	StartedOn    int64
	IsCompleted  bool
	DialogsCount int
	PendingCount int // dialogs still queued, being called or stopped
}

// Selections lists the agent's selections; completed filters when non-nil.
// A selection is completed when none of its dialogs is waiting or live.
func (s *Service) Selections(ctx context.Context, agentUUID string, completed *bool) ([]Selection, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out := []Selection{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agent.IDByUUID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT s.uuid, s.name, s.started_on,
				(SELECT COUNT(*) FROM dialogs d WHERE d.selection_id = s.id),
				(SELECT COUNT(*) FROM dialogs d WHERE d.selection_id = s.id AND d.status IN ('queued', 'calling', 'stopped'))
			FROM selections s WHERE s.agent_id = ? AND s.company_id = ? ORDER BY s.id`, aid, cid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sel Selection
			if err := rows.Scan(&sel.UUID, &sel.Name, &sel.StartedOn, &sel.DialogsCount, &sel.PendingCount); err != nil {
				return err
			}
			sel.IsCompleted = sel.PendingCount == 0
			if completed == nil || *completed == sel.IsCompleted {
				out = append(out, sel)
			}
		}
		return rows.Err()
	})
	return out, err
}
