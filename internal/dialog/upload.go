package dialog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/store"
)

// Service manages the dialogs of the caller's company.
type Service struct {
	DB  *store.DB
	Now func() time.Time
	// Imported is called after a group upload is stored, so that the
	// importer starts on it at once instead of at its next poll.
	Imported func()
	// Media is where the dialer keeps recordings (calls.recording_key);
	// recordings without a key are read from call_recordings.
	Media media.Store
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// UploadOptions are the query parameters of both upload methods.
type UploadOptions struct {
	BulkUUID      string // add to this existing bulk
	WithSelection bool   // put the dialogs in the selection SelectionName
	SelectionName string // default "API"
}

// target is where uploaded dialogs go, resolved inside the upload's
// transaction.
type target struct {
	companyID   int64
	agentID     int64
	bulkID      sql.NullInt64
	bulkUUID    string
	selectionID sql.NullInt64
	initial     map[string]bool
	taskID      sql.NullInt64 // set for group uploads: rows remember their task and row number
}

// resolve checks the agent, the bulk and the selection of an upload. A
// group upload without bulk_uuid gets a new bulk.
func (s *Service) resolve(ctx context.Context, q store.Querier, agentUUID string, opts UploadOptions, newBulk bool) (*target, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	t := &target{companyID: cid, initial: map[string]bool{}}
	if t.agentID, err = agent.IDByUUID(ctx, q, cid, agentUUID); err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	switch {
	case opts.BulkUUID != "":
		if err := agent.ValidUUID("bulk_uuid", opts.BulkUUID); err != nil {
			return nil, err
		}
		var id int64
		err := q.QueryRow(ctx, `SELECT id FROM dialog_bulks WHERE uuid = ? AND company_id = ? AND agent_id = ?`, opts.BulkUUID, cid, t.agentID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, parley.FieldError("bulk_uuid", "no bulk %s for this agent", opts.BulkUUID)
		} else if err != nil {
			return nil, err
		}
		t.bulkID, t.bulkUUID = sql.NullInt64{Int64: id, Valid: true}, opts.BulkUUID
	case newBulk:
		t.bulkUUID = uuid.NewString()
		var id int64
		if err := q.QueryRow(ctx, `INSERT INTO dialog_bulks (uuid, company_id, agent_id, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			t.bulkUUID, cid, t.agentID, now).Scan(&id); err != nil {
			return nil, err
		}
		t.bulkID = sql.NullInt64{Int64: id, Valid: true}
	}
	if opts.WithSelection {
		name := strings.TrimSpace(opts.SelectionName)
		if name == "" {
			name = "API"
		}
		if len(name) > 200 || strings.IndexByte(name, 0) >= 0 {
			return nil, parley.FieldError("selection_name", "must be at most 200 bytes of text without NUL")
		}
		if _, err := q.Exec(ctx, `INSERT INTO selections (uuid, company_id, agent_id, name, started_on) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (agent_id, name) DO NOTHING`, uuid.NewString(), cid, t.agentID, name, now); err != nil {
			return nil, err
		}
		var id int64
		if err := q.QueryRow(ctx, `SELECT id FROM selections WHERE agent_id = ? AND name = ?`, t.agentID, name).Scan(&id); err != nil {
			return nil, err
		}
		t.selectionID = sql.NullInt64{Int64: id, Valid: true}
	}
	rows, err := q.Query(ctx, `SELECT name FROM agent_entities WHERE agent_id = ? AND kind = 'initial'`, t.agentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		t.initial[n] = true
	}
	return t, rows.Err()
}

// Create uploads one dialog and returns its UUID.
func (s *Service) Create(ctx context.Context, agentUUID string, opts UploadOptions, raw map[string]json.RawMessage) (string, error) {
	var id string
	err := s.DB.Write(ctx, func(q store.Querier) error {
		t, err := s.resolve(ctx, q, agentUUID, opts, false)
		if err != nil {
			return err
		}
		row, err := ParseRow(raw, t.initial)
		if err != nil {
			return err
		}
		ids, err := insertDialogs(ctx, q, t, []*Row{row}, nil, s.now())
		if err != nil {
			return err
		}
		id = ids[0]
		return nil
	})
	return id, err
}

var dialogColumns = []string{"uuid", "company_id", "agent_id", "bulk_id", "selection_id", "msisdn", "script_name",
	"entry_point", "entities", "status", "next_attempt_at", "created_at", "updated_at", "import_task_id", "import_row"}

// insertDialogs stores rows with multi-row INSERTs, so that a batch of a
// thousand rows costs a handful of statements rather than a thousand.
func insertDialogs(ctx context.Context, q store.Querier, t *target, rows []*Row, rowNos []int, now time.Time) ([]string, error) {
	ids := make([]string, len(rows))
	const perStatement = 500 // 15 columns: well under SQLite's 32766 variables
	ms := now.UnixMilli()
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
			var rowNo sql.NullInt64
			if rowNos != nil {
				rowNo = sql.NullInt64{Int64: int64(rowNos[i]), Valid: true}
			}
			args = append(args, ids[i], t.companyID, t.agentID, t.bulkID, t.selectionID, rows[i].MSISDN, rows[i].ScriptName,
				rows[i].EntryPoint, string(ents), ms, ms, ms, t.taskID, rowNo)
		}
		if _, err := q.Exec(ctx, b.String(), args...); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
