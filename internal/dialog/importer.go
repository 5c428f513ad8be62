package dialog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// Task states of an import.
const (
	TaskQueued  = "queued"
	TaskRunning = "running"
	TaskDone    = "done"
	TaskFailed  = "failed"
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
		t, err := s.resolve(ctx, q, agentUUID, opts, true)
		if err != nil {
			return err
		}
		bulkUUID = t.bulkUUID
		now := s.now().UnixMilli()
		_, err = q.Exec(ctx, `INSERT INTO import_tasks (uuid, company_id, agent_id, bulk_id, selection_id, state, payload, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)`, taskUUID, t.companyID, t.agentID, t.bulkID, t.selectionID, trimmed, now, now)
		return err
	})
	if err == nil && s.Imported != nil {
		s.Imported()
	}
	return bulkUUID, taskUUID, err
}

// TaskStatus is the answer of dialogs-group-initial-status.
type TaskStatus struct {
	State     string
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
	if errors.Is(err, sql.ErrNoRows) {
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
// a 100,000-row answer is never held in memory whole.
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
	if errors.Is(err, sql.ErrNoRows) {
		return parley.Errorf(parley.ENOTFOUND, "Task %s not found.", taskUUID)
	} else if err != nil {
		return err
	}
	rows, err := s.DB.Reader().Query(ctx, `SELECT row_no, ok, msisdn, message, dialog_uuid FROM (
			SELECT import_row AS row_no, TRUE AS ok, msisdn, 'ok' AS message, uuid AS dialog_uuid FROM dialogs WHERE import_task_id = ?
			UNION ALL
			SELECT row_no, ok, msisdn, message, dialog_uuid FROM import_rows WHERE task_id = ?
		) r ORDER BY row_no LIMIT ? OFFSET ?`, taskID, taskID, limit, offset)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r ResultRow
		if err := rows.Scan(&r.RowNo, &r.OK, &r.MSISDN, &r.Message, &r.DialogUUID); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Importer works through import tasks. Several processes may run one on a
// shared database: a task is claimed with a conditional UPDATE and held by
// a lease that a dead process stops renewing.
type Importer struct {
	DB        *store.DB
	Node      string // unique per process
	Log       *slog.Logger
	BatchSize int           // rows per transaction
	Lease     time.Duration // how long a claim lasts without renewal
	Poll      time.Duration // how often to look for work when idle
	OnChange  func(ctx context.Context, companyID int64, taskUUID string, st TaskStatus)

	wakeMu sync.Mutex
	wake   chan struct{}
}

// Wake makes an idle Run look for work now. It never blocks.
func (im *Importer) Wake() {
	select {
	case im.wakeChan() <- struct{}{}:
	default:
	}
}

func (im *Importer) wakeChan() chan struct{} {
	im.wakeMu.Lock()
	defer im.wakeMu.Unlock()
	if im.wake == nil {
		im.wake = make(chan struct{}, 1)
	}
	return im.wake
}

func (im *Importer) defaults() {
	if im.BatchSize <= 0 {
		im.BatchSize = 2000
	}
	if im.Lease <= 0 {
		im.Lease = 30 * time.Second
	}
	if im.Poll <= 0 {
		im.Poll = 200 * time.Millisecond
	}
}

// Run processes tasks until ctx ends.
func (im *Importer) Run(ctx context.Context) {
	im.defaults()
	for ctx.Err() == nil {
		worked, err := im.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			im.Log.Error("import task", "error", err)
		}
		if !worked {
			select {
			case <-ctx.Done():
			case <-im.wakeChan():
			case <-time.After(im.Poll):
			}
		}
	}
}

// RunOnce claims one task, if any is waiting or abandoned, and runs it to
// the end. It reports whether it found work.
func (im *Importer) RunOnce(ctx context.Context) (bool, error) {
	im.defaults()
	task, err := im.claim(ctx)
	if err != nil || task == nil {
		return false, err
	}
	return true, im.process(ctx, task)
}

type importTask struct {
	id, companyID, agentID  int64
	uuid                    string
	bulkID, selectionID     sql.NullInt64
	total, processed, fails int
}

func (im *Importer) claim(ctx context.Context) (*importTask, error) {
	now := time.Now().UnixMilli()
	var t *importTask
	err := im.DB.Write(ctx, func(q store.Querier) error {
		var id int64
		err := q.QueryRow(ctx, `SELECT id FROM import_tasks WHERE state IN ('queued', 'running') AND lease_until < ? ORDER BY id LIMIT 1`, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		res, err := q.Exec(ctx, `UPDATE import_tasks SET state = 'running', lease_owner = ?, lease_until = ?, updated_at = ?
			WHERE id = ? AND state IN ('queued', 'running') AND lease_until < ?`, im.Node, now+im.Lease.Milliseconds(), now, id, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another process got it first
		}
		t = &importTask{id: id}
		return q.QueryRow(ctx, `SELECT uuid, company_id, agent_id, bulk_id, selection_id, total_rows, processed_rows, failed_rows
			FROM import_tasks WHERE id = ?`, id).Scan(&t.uuid, &t.companyID, &t.agentID, &t.bulkID, &t.selectionID, &t.total, &t.processed, &t.fails)
	})
	return t, err
}

var errLeaseLost = errors.New("import: lease lost to another process")

func (im *Importer) process(ctx context.Context, t *importTask) error {
	var payload []byte
	if err := im.DB.Reader().QueryRow(ctx, `SELECT payload FROM import_tasks WHERE id = ?`, t.id).Scan(&payload); err != nil {
		return err
	}
	tgt := &target{companyID: t.companyID, agentID: t.agentID, bulkID: t.bulkID, selectionID: t.selectionID, initial: map[string]bool{},
		taskID: sql.NullInt64{Int64: t.id, Valid: true}}
	if err := im.loadInitial(ctx, tgt); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if _, err := dec.Token(); err != nil { // the opening '[' (checked at upload)
		return im.fail(ctx, t, "The body is not a JSON array.")
	}
	if t.total == 0 {
		n := countElements(payload)
		if n > MaxImportRows {
			return im.fail(ctx, t, fmt.Sprintf("At most %d rows per upload; this one has %d.", MaxImportRows, n))
		}
		t.total = n
	}
	// Rows before processed_rows were committed by an earlier run of this
	// task (before a crash); skip them so that none is stored twice.
	for i := 0; i < t.processed; i++ {
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return im.fail(ctx, t, "The body changed under the task.")
		}
	}
	for dec.More() {
		batch := make([]map[string]json.RawMessage, 0, im.BatchSize)
		for len(batch) < im.BatchSize && dec.More() {
			// Decoded once, straight into the row's fields; an element that
			// is not an object leaves a nil map and fails alone.
			var obj map[string]json.RawMessage
			if err := dec.Decode(&obj); err != nil {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) {
					return im.fail(ctx, t, "Malformed JSON in the body.")
				}
				obj = nil
			}
			batch = append(batch, obj)
		}
		if err := im.storeBatch(ctx, t, tgt, batch); err != nil {
			return err
		}
		im.changed(ctx, t, TaskRunning)
	}
	err := im.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `UPDATE import_tasks SET state = 'done', payload = NULL, total_rows = ?, lease_until = 0, updated_at = ?
			WHERE id = ? AND lease_owner = ?`, t.total, time.Now().UnixMilli(), t.id, im.Node)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		return nil
	})
	if err == nil {
		im.changed(ctx, t, TaskDone)
	}
	return err
}

// storeBatch validates a batch and stores its dialogs, its per-row results
// and the task's progress in one transaction, so that a crash leaves either
// all of the batch or none of it.
func (im *Importer) storeBatch(ctx context.Context, t *importTask, tgt *target, batch []map[string]json.RawMessage) error {
	rows := make([]*Row, 0, len(batch))
	rowNos := make([]int, 0, len(batch))
	var failed []ResultRow
	for i, obj := range batch {
		res := ResultRow{RowNo: t.processed + i}
		if obj == nil {
			res.Message = "Row must be a JSON object."
			failed = append(failed, res)
			continue
		}
		row, err := ParseRow(obj, tgt.initial)
		if err != nil {
			res.MSISDN, res.Message = rawMSISDN(obj, nil), rowMessage(err)
			failed = append(failed, res)
			continue
		}
		rows = append(rows, row)
		rowNos = append(rowNos, res.RowNo)
	}
	now := time.Now()
	fails := len(failed)
	return im.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `UPDATE import_tasks SET processed_rows = ?, failed_rows = ?, total_rows = ?, lease_until = ?, updated_at = ?
			WHERE id = ? AND lease_owner = ? AND processed_rows = ?`,
			t.processed+len(batch), t.fails+fails, t.total, now.Add(im.Lease).UnixMilli(), now.UnixMilli(), t.id, im.Node, t.processed)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		if _, err := insertDialogs(ctx, q, tgt, rows, rowNos, now); err != nil {
			return err
		}
		if err := insertResults(ctx, q, t.id, failed); err != nil {
			return err
		}
		t.processed += len(batch)
		t.fails += fails
		return nil
	})
}

func insertResults(ctx context.Context, q store.Querier, taskID int64, results []ResultRow) error {
	const perStatement = 1000
	for start := 0; start < len(results); start += perStatement {
		end := min(start+perStatement, len(results))
		var b strings.Builder
		b.WriteString("INSERT INTO import_rows (task_id, row_no, ok, msisdn, message, dialog_uuid) VALUES ")
		args := make([]any, 0, (end-start)*6)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			r := results[i]
			args = append(args, taskID, r.RowNo, r.OK, r.MSISDN, r.Message, r.DialogUUID)
		}
		if _, err := q.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// rawMSISDN is the number to report for a failed row, as sent.
func rawMSISDN(obj map[string]json.RawMessage, _ *Row) string {
	for _, k := range []string{keyMSISDN, keyPhone} {
		if s, ok, _ := scalar(k, obj[k]); ok && obj[k] != nil {
			return parley.Clip(s)
		}
	}
	return ""
}

func (im *Importer) loadInitial(ctx context.Context, tgt *target) error {
	rows, err := im.DB.Reader().Query(ctx, `SELECT name FROM agent_entities WHERE agent_id = ? AND kind = 'initial'`, tgt.agentID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		tgt.initial[n] = true
	}
	return rows.Err()
}

func (im *Importer) fail(ctx context.Context, t *importTask, msg string) error {
	err := im.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `UPDATE import_tasks SET state = 'failed', message = ?, payload = NULL, lease_until = 0, updated_at = ?
			WHERE id = ? AND lease_owner = ?`, msg, time.Now().UnixMilli(), t.id, im.Node)
		return err
	})
	if err == nil {
		im.changed(ctx, t, TaskFailed)
	}
	return err
}

func (im *Importer) changed(ctx context.Context, t *importTask, state string) {
	if im.OnChange != nil {
		im.OnChange(ctx, t.companyID, t.uuid, TaskStatus{State: state, Total: t.total, Processed: t.processed, Failed: t.fails})
	}
}

// countElements counts the top-level elements of a JSON array that is
// known to be valid (checked at upload) by counting the commas at depth one
// outside strings: a byte scan, several times cheaper than decoding.
func countElements(payload []byte) int {
	depth, commas := 0, 0
	inString, escaped, nonEmpty := false, false, false
	for _, c := range payload {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\n', '\t', '\r':
			continue
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth == 1 {
				continue // the outer array itself
			}
		case ']', '}':
			depth--
			if depth == 0 {
				continue
			}
		case ',':
			if depth == 1 {
				commas++
			}
		}
		nonEmpty = true
	}
	if !nonEmpty {
		return 0
	}
	return commas + 1
}
