package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/store"
)

// Outcome is what a call leaves behind, as the dialer hands it to Finish.
type Outcome struct {
	Result   string            // the trunk's: ResultAnswered, ResultNoAnswer, ResultBusy or ResultFail
	Kind     string            // the script's outcome when answered: completed, hangup, transfer, failed
	Outputs  map[string]string // the output entities the script set
	Message  string            // why the dialog failed, when it did
	Turns    []NewTurn         // the transcript, in order
	WAV      []byte            // the recording; nil: none
	Answered time.Time         // zero: not answered
	Ended    time.Time
	// Transfer is set when a human took the call (s.transfer() returned
	// True): the dialog's result is then "transferred".
	Transfer *TransferStats
}

// ResultTransferred is the result of a dialog whose call a human took.
const ResultTransferred = "transferred"

// TransferStats is what a transferred call's statistics show.
type TransferStats struct {
	OperatorID   int64
	OperatorName string
	Wait, Talk   time.Duration
}

// NewTurn is one transcript entry of a call, stored as call_turns.
type NewTurn struct {
	Action string
	Data   any // JSON-encoded; nil is stored as NULL
	At     time.Time
}

// ErrLeaseLost means another process recovered the dialog while this one
// was still calling (it stalled past its lease): the outcome was dropped.
var ErrLeaseLost = errors.New("outbound: lease lost")

// Finish stores a call's outcome and moves its dialog on (see afterCall):
// done or failed, or back to the queue after the agent's delay while
// attempts remain. The call row, its turns, its recording and the
// dialog's transition commit together, and only while at.Owner still
// holds the dialog's lease (else ErrLeaseLost).
func (s *Service) Finish(ctx context.Context, at *Attempt, out *Outcome) error {
	lost, err := s.FinishAll(ctx, []Finished{{Attempt: at, Outcome: out}})
	if err == nil && len(lost) > 0 {
		return ErrLeaseLost
	}
	return err
}

// Finished is one attempt's outcome, for FinishAll.
type Finished struct {
	Attempt *Attempt
	Outcome *Outcome
}

// FinishAll is Finish for several attempts in one transaction, on one
// reading of the clock. An attempt whose lease was lost is skipped and
// returned in lost; the others are stored.
func (s *Service) FinishAll(ctx context.Context, batch []Finished) (lost []*Attempt, err error) {
	type prepared struct {
		Finished
		next         after
		outputs      string
		recordingKey string
		dbWAV        []byte
	}
	preps := make([]prepared, len(batch))
	for i, f := range batch {
		p := prepared{Finished: f, next: afterCall(f.Outcome, f.Attempt.Number, f.Attempt.Agent.RecallCount), outputs: "{}"}
		if f.Outcome.Outputs != nil {
			b, err := json.Marshal(f.Outcome.Outputs)
			if err != nil {
				return nil, err
			}
			p.outputs = string(b)
		}
		p.recordingKey, p.dbWAV = s.storeRecording(ctx, f.Attempt.Agent.CompanyID, f.Attempt.CallUUID, f.Outcome.WAV)
		preps[i] = p
	}
	stored := make([]bool, len(preps))
	err = s.DB.Write(ctx, func(q store.Querier) error {
		// A dialog finishes when its outcome is stored, on the service's
		// clock: a simulated call's own timeline may run ahead of it.
		now := s.now()
		for i, p := range preps {
			ok, err := finish(ctx, q, now, p.Attempt, p.Outcome, p.next, p.outputs, p.recordingKey, p.dbWAV)
			if err != nil {
				return err
			}
			stored[i] = ok
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, p := range preps {
		if !stored[i] {
			lost = append(lost, p.Attempt)
			continue
		}
		at, out := p.Attempt, p.Outcome
		s.publishAttempt("call.ended", at, map[string]any{"call_uuid": at.CallUUID, "result": callResult(out)})
		s.publishAttempt("dialog."+string(p.next.state), at, map[string]any{"status": string(p.next.state), "result": p.next.result})
	}
	if len(preps) > 0 {
		s.wake() // channels freed, retries scheduled
	}
	return lost, nil
}

// finish stores one outcome inside FinishAll's transaction; false means
// the lease was lost and nothing was written.
func finish(ctx context.Context, q store.Querier, now time.Time, at *Attempt, out *Outcome, next after, outputs, recordingKey string, dbWAV []byte) (bool, error) {
	var finishedAt, nextAt any = now.UnixMilli(), nil // nil keeps the column as it is
	if next.retry {
		finishedAt, nextAt = nil, now.Add(at.Agent.Delay).UnixMilli()
	}
	res, err := q.Exec(ctx, `UPDATE dialogs SET status = ?, result = ?, message = ?, outputs = ?, finished_at = ?, last_call_uuid = ?,
		next_attempt_at = COALESCE(?, next_attempt_at), lease_owner = '', lease_until = 0, updated_at = ?
		WHERE id = ? AND lease_owner = ? AND status = 'calling'`,
		next.state, next.result, next.message, outputs, finishedAt, at.CallUUID, nextAt, now.UnixMilli(), at.DialogID, at.Owner)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	var answered any
	if !out.Answered.IsZero() {
		answered = out.Answered.UnixMilli()
	}
	var callID int64
	var opID any
	var opName string
	var waitMS, talkMS int64
	if tr := out.Transfer; tr != nil {
		opID, opName, waitMS, talkMS = tr.OperatorID, tr.OperatorName, tr.Wait.Milliseconds(), tr.Talk.Milliseconds()
	}
	if err := q.QueryRow(ctx, `UPDATE calls SET status = 'ended', result = ?, answered_at = ?, ended_at = ?, recording_key = ?,
		transfer_operator_id = ?, transfer_operator_name = ?, transfer_wait_ms = ?, transfer_talk_ms = ? WHERE uuid = ?
		RETURNING id`, callResult(out), answered, out.Ended.UnixMilli(), recordingKey, opID, opName, waitMS, talkMS, at.CallUUID).Scan(&callID); err != nil {
		return false, err
	}
	if err := insertTurns(ctx, q, callID, at.Agent.CompanyID, out.Turns); err != nil {
		return false, err
	}
	if len(dbWAV) > 0 {
		if err := insertRecording(ctx, q, callID, at.Agent.CompanyID, at.CallUUID, dbWAV); err != nil {
			return false, err
		}
	}
	return true, nil
}

// insertTurns stores a call's transcript in one multi-row INSERT.
func insertTurns(ctx context.Context, q store.Querier, callID, companyID int64, turns []NewTurn) error {
	if len(turns) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO call_turns (call_id, company_id, seq, action, data, at) VALUES ")
	args := make([]any, 0, len(turns)*6)
	for i, t := range turns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
		var data any
		if t.Data != nil {
			j, err := json.Marshal(t.Data)
			if err != nil {
				return err
			}
			data = string(j)
		}
		args = append(args, callID, companyID, i, t.Action, data, t.At.UnixMilli())
	}
	_, err := q.Exec(ctx, b.String(), args...)
	return err
}
