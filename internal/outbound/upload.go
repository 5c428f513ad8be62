package outbound

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// UploadOptions are the query parameters of both upload methods.
type UploadOptions struct {
	BulkUUID      string // add to this existing bulk
	WithSelection bool   // put the dialogs in the selection SelectionName
	SelectionName string // default "API"
}

// target is where uploaded dialogs go, resolved inside the upload's
// transaction. Optional ids are nil (NULL).
type target struct {
	companyID   int64
	agentID     int64
	bulkID      *int64
	bulkUUID    string
	selectionID *int64
	initial     map[string]bool // the agent's initial entities: the keys a row may carry
	taskID      *int64          // set for group uploads: rows remember their task and row number
}

// resolve checks the agent, the bulk and the selection of an upload. A
// group upload without bulk_uuid gets a new bulk.
func (s *Service) resolve(ctx context.Context, q store.Querier, now time.Time, agentUUID string, opts UploadOptions, newBulk bool) (*target, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	t := &target{companyID: cid}
	if t.agentID, err = agent.IDByUUID(ctx, q, cid, agentUUID); err != nil {
		return nil, err
	}
	switch {
	case opts.BulkUUID != "":
		id, err := bulkOfAgent(ctx, q, cid, t.agentID, opts.BulkUUID)
		if err != nil {
			return nil, err
		}
		t.bulkID, t.bulkUUID = &id, opts.BulkUUID
	case newBulk:
		id, bulkUUID, err := createBulk(ctx, q, cid, t.agentID, now)
		if err != nil {
			return nil, err
		}
		t.bulkID, t.bulkUUID = &id, bulkUUID
	}
	if opts.WithSelection {
		id, err := ensureSelection(ctx, q, cid, t.agentID, opts.SelectionName, now)
		if err != nil {
			return nil, err
		}
		t.selectionID = &id
	}
	t.initial, err = agent.InitialEntityNames(ctx, q, t.agentID)
	return t, err
}

// Create uploads one dialog and returns its UUID.
func (s *Service) Create(ctx context.Context, agentUUID string, opts UploadOptions, raw map[string]json.RawMessage) (string, error) {
	var id string
	err := s.DB.Write(ctx, func(q store.Querier) error {
		now := s.now()
		t, err := s.resolve(ctx, q, now, agentUUID, opts, false)
		if err != nil {
			return err
		}
		row, err := ParseRow(raw, t.initial)
		if err != nil {
			return err
		}
		ids, err := insertDialogs(ctx, q, t, []*Row{row}, nil, now)
		if err != nil {
			return err
		}
		id = ids[0]
		return nil
	})
	if err == nil {
		s.wake()
	}
	return id, err
}

var dialogColumns = []string{"uuid", "company_id", "agent_id", "bulk_id", "selection_id", "msisdn", "script_name",
	"entry_point", "entities", "status", "next_attempt_at", "created_at", "updated_at", "import_task_id", "import_row"}

// insertDialogs stores rows as queued dialogs, due now, with multi-row
// INSERTs, so that a batch of a thousand rows costs a handful of
// statements rather than a thousand.
func insertDialogs(ctx context.Context, q store.Querier, t *target, rows []*Row, rowNos []int, now time.Time) ([]string, error) {
	ids := make([]string, len(rows))
	const perStatement = 500 // 15 columns: well under SQLite's 32766 variables
	ms := now.UnixMilli()
	// Plain values (nil is NULL), so the drivers convert no pointers row
	// after row.
	bulkID, selectionID, taskID := nullable(t.bulkID), nullable(t.selectionID), nullable(t.taskID)
	for start := 0; start < len(rows); start += perStatement {
		end := min(start+perStatement, len(rows))
		var b strings.Builder
		b.WriteString("INSERT INTO dialogs (" + strings.Join(dialogColumns, ", ") + ") VALUES ")
		args := make([]any, 0, (end-start)*len(dialogColumns))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)")
			ents, err := json.Marshal(rows[i].Entities)
			if err != nil {
				return nil, err
			}
			ids[i] = uuid.NewString()
			var rowNo any
			if rowNos != nil {
				rowNo = rowNos[i]
			}
			args = append(args, ids[i], t.companyID, t.agentID, bulkID, selectionID, rows[i].MSISDN, rows[i].ScriptName,
				rows[i].EntryPoint, string(ents), ms, ms, ms, taskID, rowNo)
		}
		if _, err := q.Exec(ctx, b.String(), args...); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// CreateRows stores rows already parsed by ParseRow as queued dialogs of
// the caller's agent, in the importer's batching (2,000 rows a transaction,
// 500 a statement) and without what an import adds to it (JSON, checks,
// per-row results, progress): the floor of storing dialogs, which
// parley-bench import measures the importer against. It returns the
// dialogs' UUIDs.
func (s *Service) CreateRows(ctx context.Context, agentUUID string, rows []*Row) ([]string, error) {
	const perTx = 2000
	ids := make([]string, 0, len(rows))
	for start := 0; start < len(rows); start += perTx {
		batch := rows[start:min(start+perTx, len(rows))]
		err := s.DB.Write(ctx, func(q store.Querier) error {
			now := s.now()
			t, err := s.resolve(ctx, q, now, agentUUID, UploadOptions{}, false)
			if err != nil {
				return err
			}
			got, err := insertDialogs(ctx, q, t, batch, nil, now)
			ids = append(ids, got...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	s.wake()
	return ids, nil
}

// nullable is an optional id as a statement argument: nil (NULL) or the id.
func nullable(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}
