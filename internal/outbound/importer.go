package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// Importer works through import tasks. Several processes may run one on a
// shared database: a task is claimed with a conditional UPDATE and held by
// a lease that a dead process stops renewing.
type Importer struct {
	// Dialogs is the service whose tasks it runs: its database, its clock
	// and its bus (import.running, import.done, import.failed).
	Dialogs   *Service
	Node      string // unique per process
	Log       *slog.Logger
	BatchSize int // most rows per transaction (default 500)
	// BatchTime bounds one batch's transaction on SQLite, whose writers
	// take turns: another tenant's write that arrives during a batch
	// waits for it, so the importer sizes its batches from the time its
	// last ones took per row (default 10ms; at least minBatch rows). On
	// PostgreSQL writers do not wait for each other and batches are
	// BatchSize rows.
	BatchTime time.Duration
	// CPUShare is the share of one CPU a running import may take (0 < x
	// <= 1; default DefaultImportCPUShare): after each batch the importer
	// rests in proportion to the batch's work (decoding, validating and
	// writing it), so that on a small node the requests of every tenant
	// keep CPU while one tenant's million rows go in (PARLEY_IMPORT_CPU).
	CPUShare float64
	Lease    time.Duration // how long a claim lasts without renewal
	Poll     time.Duration // safety poll when idle (uploads on this node Wake it): default Lease/2, for tasks a dead process left (their lease must run out first anyway)

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
		im.BatchSize = 500
	}
	if im.BatchTime <= 0 {
		im.BatchTime = 10 * time.Millisecond
	}
	if im.CPUShare <= 0 || im.CPUShare > 1 {
		im.CPUShare = DefaultImportCPUShare
	}
	if im.Lease <= 0 {
		im.Lease = 30 * time.Second
	}
	if im.Poll <= 0 {
		im.Poll = im.Lease / 2
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
	bulkID, selectionID     *int64
	total, processed, fails int
}

func (im *Importer) claim(ctx context.Context) (*importTask, error) {
	var t *importTask
	err := im.Dialogs.DB.Write(ctx, func(q store.Querier) error {
		now := im.Dialogs.now().UnixMilli()
		var id int64
		err := q.QueryRow(ctx, `SELECT id FROM import_tasks WHERE state IN ('queued', 'running') AND lease_until < ? ORDER BY id LIMIT 1`, now).Scan(&id)
		if errors.Is(err, store.ErrNoRows) {
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
	tgt := &target{companyID: t.companyID, agentID: t.agentID, bulkID: t.bulkID, selectionID: t.selectionID, taskID: &t.id}
	err := im.Dialogs.DB.Read(ctx, func(q store.Querier) error {
		if err := q.QueryRow(ctx, `SELECT payload FROM import_payloads WHERE task_id = ?`, t.id).Scan(&payload); err != nil {
			return err
		}
		var err error
		tgt.initial, err = agent.InitialEntityNames(ctx, q, t.agentID)
		return err
	})
	if err != nil {
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
	var noted time.Time
	size := newBatchSizer(im.BatchSize, im.BatchTime, im.Dialogs.DB.SingleWriter())
	for dec.More() {
		began := time.Now()
		n := size.next()
		batch := make([]map[string]json.RawMessage, 0, n)
		for len(batch) < n && dec.More() {
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
		took, err := im.storeBatch(ctx, t, tgt, batch)
		if err != nil {
			return err
		}
		size.took(len(batch), took)
		// Progress and the dialer's wake-up at most every progressEvery:
		// batches are small on SQLite, and an event per batch (each read
		// by the stream and the webhook dispatcher) and a dialer pass per
		// batch cost the import a third of its speed.
		if now := time.Now(); now.Sub(noted) >= progressEvery {
			noted = now
			im.changed(t, TaskRunning)
			im.Dialogs.wake() // the batches' dialogs are due now
		}
		if err := im.rest(ctx, time.Since(began)); err != nil {
			return err
		}
	}
	err = im.Dialogs.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `UPDATE import_tasks SET state = 'done', total_rows = ?, lease_until = 0, updated_at = ?
			WHERE id = ? AND lease_owner = ?`, t.total, im.Dialogs.now().UnixMilli(), t.id, im.Node)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		return dropPayload(ctx, q, t.id)
	})
	if err == nil {
		im.Dialogs.wake() // the last batches' dialogs
		im.changed(t, TaskDone)
	}
	return err
}

// progressEvery spaces an import's progress events and dialer wake-ups.
const progressEvery = 200 * time.Millisecond

// DefaultImportCPUShare is the share of a CPU an import takes by default.
const DefaultImportCPUShare = 1.0

// rest pauses after a batch that took work so that the import keeps to
// its CPU share. The time includes waiting for the write turn, so a
// batch that queued behind other tenants' writes rests longer too.
func (im *Importer) rest(ctx context.Context, work time.Duration) error {
	d := restFor(im.CPUShare, work)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// restFor is the pause after work that keeps the import to share of a
// CPU: work/(work+rest) = share.
func restFor(share float64, work time.Duration) time.Duration {
	if share >= 1 || share <= 0 {
		return 0
	}
	return time.Duration(float64(work) * (1/share - 1))
}

// storeBatch validates a batch and stores its dialogs, its per-row results
// and the task's progress in one transaction, so that a crash leaves either
// all of the batch or none of it. It returns how long the transaction held
// the writer (not counting the wait for its turn).
func (im *Importer) storeBatch(ctx context.Context, t *importTask, tgt *target, batch []map[string]json.RawMessage) (time.Duration, error) {
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
	fails := len(failed)
	// A bulk write: on SQLite every interactive write waiting (another
	// tenant's message post) goes first, so the import yields between its
	// batches.
	var began time.Time
	err := im.Dialogs.DB.WriteBulk(ctx, func(q store.Querier) error {
		began = time.Now()
		now := im.Dialogs.now()
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
	// The commit is part of the writer's hold; began is zero when the
	// transaction never started.
	if began.IsZero() {
		return 0, err
	}
	return time.Since(began), err
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

// dropPayload deletes a finished task's body: it is only input, and a
// million-row body is ~100 MB.
func dropPayload(ctx context.Context, q store.Querier, taskID int64) error {
	_, err := q.Exec(ctx, `DELETE FROM import_payloads WHERE task_id = ?`, taskID)
	return err
}

func (im *Importer) fail(ctx context.Context, t *importTask, msg string) error {
	err := im.Dialogs.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `UPDATE import_tasks SET state = 'failed', message = ?, lease_until = 0, updated_at = ?
			WHERE id = ? AND lease_owner = ?`, msg, im.Dialogs.now().UnixMilli(), t.id, im.Node)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another process holds the task now; its body stays
		}
		return dropPayload(ctx, q, t.id)
	})
	if err == nil {
		im.changed(t, TaskFailed)
	}
	return err
}

// changed announces a task's progress: import.running after each batch,
// then import.done or import.failed.
func (im *Importer) changed(t *importTask, state TaskState) {
	im.Dialogs.publish("import."+string(state), t.companyID, t.uuid,
		map[string]any{"total_rows": t.total, "processed_rows": t.processed, "failed_rows": t.fails})
	if state != TaskRunning && im.Log != nil {
		im.Log.Info("import "+string(state), "task_uuid", t.uuid, "company_id", t.companyID,
			"total_rows", t.total, "processed_rows", t.processed, "failed_rows", t.fails)
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
