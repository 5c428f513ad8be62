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
	next := afterCall(out, at.Number, at.Agent.RecallCount)
	outputs, err := json.Marshal(out.Outputs)
	if err != nil {
		return err
	}
	if out.Outputs == nil {
		outputs = []byte("{}")
	}
	recordingKey, dbWAV := s.storeRecording(ctx, at.Agent.CompanyID, at.CallUUID, out.WAV)
	err = s.DB.Write(ctx, func(q store.Querier) error {
		// The dialog finishes when its outcome is stored, on the service's
		// clock: a simulated call's own timeline may run ahead of it.
		now := s.now()
		var finishedAt, nextAt any = now.UnixMilli(), nil // nil keeps the column as it is
		if next.retry {
			finishedAt, nextAt = nil, now.Add(at.Agent.Delay).UnixMilli()
		}
		res, err := q.Exec(ctx, `UPDATE dialogs SET status = ?, result = ?, message = ?, outputs = ?, finished_at = ?, last_call_uuid = ?,
			next_attempt_at = COALESCE(?, next_attempt_at), lease_owner = '', lease_until = 0, updated_at = ?
			WHERE id = ? AND lease_owner = ? AND status = 'calling'`,
			next.state, next.result, next.message, string(outputs), finishedAt, at.CallUUID, nextAt, now.UnixMilli(), at.DialogID, at.Owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLeaseLost
		}
		var callID int64
		if err := q.QueryRow(ctx, `SELECT id FROM calls WHERE uuid = ?`, at.CallUUID).Scan(&callID); err != nil {
			return err
		}
		var answered any
		if !out.Answered.IsZero() {
			answered = out.Answered.UnixMilli()
		}
		if _, err := q.Exec(ctx, `UPDATE calls SET status = 'ended', result = ?, answered_at = ?, ended_at = ?, recording_key = ? WHERE id = ?`,
			callResult(out), answered, out.Ended.UnixMilli(), recordingKey, callID); err != nil {
			return err
		}
		if err := insertTurns(ctx, q, callID, at.Agent.CompanyID, out.Turns); err != nil {
			return err
		}
		if len(dbWAV) > 0 {
			return insertRecording(ctx, q, callID, at.Agent.CompanyID, at.CallUUID, dbWAV)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.publishAttempt("call.ended", at, map[string]any{"call_uuid": at.CallUUID, "result": callResult(out)})
	s.publishAttempt("dialog."+string(next.state), at, map[string]any{"status": string(next.state), "result": next.result})
	return nil
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
