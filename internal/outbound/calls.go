package outbound

import (
	"context"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// CallItem is one call of an agent.
type CallItem struct {
	UUID, DialogUUID, MSISDN, Result string
	Status                           CallState
	StartedAt                        int64
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
	var out []CallItem
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, bid, err := agentAndBulk(ctx, q, cid, agentUUID, bulkUUID)
		if err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, func(r store.Scanner) (it CallItem, err error) {
			err = r.Scan(&it.UUID, &it.DialogUUID, &it.MSISDN, &it.Result, &it.Status, &it.StartedAt)
			return it, err
		}, `SELECT c.uuid, d.uuid, d.msisdn, c.result, c.status, c.started_at FROM calls c JOIN dialogs d ON d.id = c.dialog_id
			WHERE c.agent_id = ? AND c.company_id = ? AND (? = 0 OR d.bulk_id = ?)
			ORDER BY c.id DESC LIMIT ? OFFSET ?`, aid, cid, bid, bid, limit, offset)
		return err
	})
	if out == nil && err == nil {
		out = []CallItem{}
	}
	return out, err
}
