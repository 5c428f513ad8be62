package outbound

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// Selection is a named batch of an agent's dialogs; uploads with
// with_selection=true create it or add to it.
type Selection struct {
	UUID         string
	Name         string
	StartedOn    int64
	IsCompleted  bool
	DialogsCount int
	PendingCount int // dialogs still queued, being called or stopped
}

// ensureSelection returns the id of the agent's selection of that name
// ("API" when empty), creating it.
func ensureSelection(ctx context.Context, q store.Querier, companyID, agentID int64, name string, now time.Time) (int64, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "API"
	}
	if len(name) > 200 || strings.IndexByte(name, 0) >= 0 {
		return 0, parley.FieldError("selection_name", "must be at most 200 bytes of text without NUL")
	}
	if _, err := q.Exec(ctx, `INSERT INTO selections (uuid, company_id, agent_id, name, started_on) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (agent_id, name) DO NOTHING`, uuid.NewString(), companyID, agentID, name, now.UnixMilli()); err != nil {
		return 0, err
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM selections WHERE agent_id = ? AND name = ?`, agentID, name).Scan(&id)
	return id, err
}

// Selections lists the agent's selections; completed filters when non-nil.
// A selection is completed when none of its dialogs is pending.
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
		all, err := store.Collect(ctx, q, func(r store.Scanner) (sel Selection, err error) {
			err = r.Scan(&sel.UUID, &sel.Name, &sel.StartedOn, &sel.DialogsCount, &sel.PendingCount)
			sel.IsCompleted = sel.PendingCount == 0
			return sel, err
		}, `SELECT s.uuid, s.name, s.started_on,
				(SELECT COUNT(*) FROM dialogs d WHERE d.selection_id = s.id),
				(SELECT COUNT(*) FROM dialogs d WHERE d.selection_id = s.id AND d.status IN `+sqlPending+`)
			FROM selections s WHERE s.agent_id = ? AND s.company_id = ? ORDER BY s.id`, aid, cid)
		for _, sel := range all {
			if completed == nil || *completed == sel.IsCompleted {
				out = append(out, sel)
			}
		}
		return err
	})
	return out, err
}
