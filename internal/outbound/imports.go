package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// TaskState is where an import task (a group upload) is:
// queued -> running -> done | failed. A running task is leased to one
// importer; an expired lease means that importer died, and the next one
// resumes the task after the rows already stored.
type TaskState string

const (
	TaskQueued  TaskState = "queued"
	TaskRunning TaskState = "running"
	TaskDone    TaskState = "done"
	TaskFailed  TaskState = "failed"
)

// MaxImportRows bounds one group upload.
const MaxImportRows = 1_000_000

// StartImport validates the body's JSON and stores it as a task that the
// importer works through in the background. Once this returns, the upload
// is acknowledged: a crash after it loses nothing.
func (s *Service) StartImport(ctx context.Context, agentUUID string, opts UploadOptions, payload []byte) (bulkUUID, taskUUID string, err error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '[' || !json.Valid(trimmed) {
		return "", "", parley.Errorf(parley.EMALFORMED, "The body must be a JSON array of dialog objects.")
	}
	taskUUID = uuid.NewString()
	err = s.DB.Write(ctx, func(q store.Querier) error {
		now := s.now()
		t, err := s.resolve(ctx, q, now, agentUUID, opts, true)
		if err != nil {
			return err
		}
		bulkUUID = t.bulkUUID
		ms := now.UnixMilli()
		var taskID int64
		err = q.QueryRow(ctx, `INSERT INTO import_tasks (uuid, company_id, agent_id, bulk_id, selection_id, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING id`, taskUUID, t.companyID, t.agentID, t.bulkID, t.selectionID, ms, ms).Scan(&taskID)
		if err != nil {
			return err
		}
		// The body has a table of its own: see migration 0018.
		_, err = q.Exec(ctx, `INSERT INTO import_payloads (task_id, payload) VALUES (?, ?)`, taskID, trimmed)
		return err
	})
	if err == nil && s.Imported != nil {
		s.Imported()
	}
	return bulkUUID, taskUUID, err
}

// TaskStatus is the answer of dialogs-group-initial-status.
type TaskStatus struct {
	State     TaskState
	Info      string
	Total     int
	Processed int
	Failed    int
}

// Status reports a task's progress.
func (s *Service) Status(ctx context.Context, taskUUID string) (*TaskStatus, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := agent.ValidUUID("task_uuid", taskUUID); err != nil {
		return nil, err
	}
	st := &TaskStatus{}
	var msg string
	err = s.DB.Reader().QueryRow(ctx, `SELECT state, total_rows, processed_rows, failed_rows, message FROM import_tasks WHERE uuid = ? AND company_id = ?`,
		taskUUID, cid).Scan(&st.State, &st.Total, &st.Processed, &st.Failed, &msg)
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Task %s not found.", taskUUID)
	} else if err != nil {
		return nil, err
	}
	switch st.State {
	case TaskQueued:
		st.Info = "waiting to start"
	case TaskFailed:
		st.Info = msg
	default:
		st.Info = fmt.Sprintf("%d of %d rows processed, %d failed", st.Processed, st.Total, st.Failed)
	}
	return st, nil
}

// ResultRow is one input row's outcome.
type ResultRow struct {
	RowNo      int
	OK         bool
	MSISDN     string
	Message    string
	DialogUUID string
}

// Results streams a task's per-row results in input order to fn, so that
// a 100,000-row answer is never held in memory whole. Successful rows are
// read from their dialogs, failed ones from import_rows.
func (s *Service) Results(ctx context.Context, taskUUID string, limit, offset int, fn func(ResultRow) error) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if err := agent.ValidUUID("task_uuid", taskUUID); err != nil {
		return err
	}
	var taskID int64
	err = s.DB.Reader().QueryRow(ctx, `SELECT id FROM import_tasks WHERE uuid = ? AND company_id = ?`, taskUUID, cid).Scan(&taskID)
	if errors.Is(err, store.ErrNoRows) {
		return parley.Errorf(parley.ENOTFOUND, "Task %s not found.", taskUUID)
	} else if err != nil {
		return err
	}
	return store.Each(ctx, s.DB.Reader(), func(sc store.Scanner) error {
		var r ResultRow
		if err := sc.Scan(&r.RowNo, &r.OK, &r.MSISDN, &r.Message, &r.DialogUUID); err != nil {
			return err
		}
		return fn(r)
	}, `SELECT row_no, ok, msisdn, message, dialog_uuid FROM (
			SELECT import_row AS row_no, TRUE AS ok, msisdn, 'ok' AS message, uuid AS dialog_uuid FROM dialogs WHERE import_task_id = ?
			UNION ALL
			SELECT row_no, ok, msisdn, message, dialog_uuid FROM import_rows WHERE task_id = ?
		) r ORDER BY row_no LIMIT ? OFFSET ?`, taskID, taskID, limit, offset)
}
