package outbound

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// A bulk groups the dialogs of one or more uploads (bulk_uuid): a group
// upload makes one, and later uploads may add to it.

// createBulk makes a new bulk of the agent's and returns its id and UUID.
func createBulk(ctx context.Context, q store.Querier, companyID, agentID int64, now time.Time) (int64, string, error) {
	bulkUUID := uuid.NewString()
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO dialog_bulks (uuid, company_id, agent_id, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		bulkUUID, companyID, agentID, now.UnixMilli()).Scan(&id)
	return id, bulkUUID, err
}

// bulkOfAgent resolves the bulk_uuid an upload adds to; another agent's or
// company's bulk is a field error.
func bulkOfAgent(ctx context.Context, q store.Querier, companyID, agentID int64, bulkUUID string) (int64, error) {
	if err := agent.ValidUUID("bulk_uuid", bulkUUID); err != nil {
		return 0, err
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM dialog_bulks WHERE uuid = ? AND company_id = ? AND agent_id = ?`, bulkUUID, companyID, agentID).Scan(&id)
	if errors.Is(err, store.ErrNoRows) {
		return 0, parley.FieldError("bulk_uuid", "no bulk %s for this agent", bulkUUID)
	}
	return id, err
}

// bulkFilter resolves an optional bulk_uuid filter of a view to its id: 0
// is no filter, -1 a filter that matches nothing.
func bulkFilter(ctx context.Context, q store.Querier, companyID, agentID int64, bulkUUID string) (int64, error) {
	if bulkUUID == "" {
		return 0, nil
	}
	if err := agent.ValidUUID("bulk_uuid", bulkUUID); err != nil {
		return 0, err
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM dialog_bulks WHERE uuid = ? AND company_id = ? AND agent_id = ?`, bulkUUID, companyID, agentID).Scan(&id)
	if errors.Is(err, store.ErrNoRows) {
		return -1, nil
	}
	return id, err
}

// agentAndBulk resolves the agent of a view and its optional bulk filter.
func agentAndBulk(ctx context.Context, q store.Querier, companyID int64, agentUUID, bulkUUID string) (agentID, bulkID int64, err error) {
	if agentID, err = agent.IDByUUID(ctx, q, companyID, agentUUID); err != nil {
		return 0, 0, err
	}
	bulkID, err = bulkFilter(ctx, q, companyID, agentID, bulkUUID)
	return agentID, bulkID, err
}
