package dialer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/store"
)

// turn is one transcript entry, stored as call_turns.
type turn struct {
	action string
	data   any // JSON-encoded; nil is stored as NULL
	at     time.Time
}

// transcriptHost is the script's view of a call: it forwards to the call
// and records every turn with the call's own clock.
type transcriptHost struct {
	conn  Conn
	start time.Time
	turns *[]turn
}

func (h *transcriptHost) add(action string, data any) {
	*h.turns = append(*h.turns, turn{action: action, data: data, at: h.start.Add(h.conn.Elapsed())})
}

func (h *transcriptHost) Say(ctx context.Context, text string) error {
	data := map[string]any{"text": text, "speaker": "agent"}
	h.add("say", data)
	err := h.conn.Say(ctx, text)
	if b, ok := h.conn.(BargeInConn); ok && err == nil && b.BargedIn() {
		data["barged_in"] = true
	}
	return err
}

func (h *transcriptHost) Listen(ctx context.Context, timeout time.Duration, expect []string) (string, bool, error) {
	text, ok, err := h.conn.Listen(ctx, timeout, expect)
	if err != nil {
		return "", false, err
	}
	if ok {
		data := map[string]any{"text": text, "speaker": "callee"}
		if u, isU := h.conn.(UtteranceConn); isU {
			if start, end, has := u.LastUtterance(); has {
				data["start_ms"], data["end_ms"] = start.Milliseconds(), end.Milliseconds()
				*h.turns = append(*h.turns, turn{action: "listen", data: data, at: h.start.Add(start)})
				return text, ok, nil
			}
		}
		h.add("listen", data)
	} else {
		h.add("listen", nil)
	}
	return text, ok, nil
}

// callOutcome is what a finished call leaves behind.
type callOutcome struct {
	result   string // trunk result: answered, no_answer, busy, fail
	kind     string // script outcome when answered: completed, hangup, transfer, failed
	outputs  map[string]string
	message  string // why the dialog failed, when it did
	turns    []turn
	wav      []byte
	answered time.Time
	ended    time.Time
}

// runCall places one claimed call and stores its outcome. If ctx ends
// mid-call (shutdown), nothing is stored: the lease runs out and another
// process (or this one after a restart) retries the dialog without
// counting the cut-off attempt.
func (d *Dialer) runCall(ctx context.Context, c *claimed) {
	out, err := d.placeCall(ctx, c)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		d.Log.Error("call failed", "call_uuid", c.callUUID, "dialog_uuid", c.dialogUUID, "error", err)
		out = &callOutcome{result: ResultFail, message: "Call failed: " + parley.ErrorMessage(err), ended: d.now()}
	}
	if err := d.finish(ctx, c, out); err != nil && ctx.Err() == nil {
		if errors.Is(err, errLeaseLost) {
			d.Log.Warn("call result dropped: the dialog was recovered by another process", "call_uuid", c.callUUID)
			return
		}
		d.Log.Error("store call result", "call_uuid", c.callUUID, "error", err)
	}
}

func (d *Dialer) placeCall(ctx context.Context, c *claimed) (*callOutcome, error) {
	trunk, ok := d.Trunks[c.agent.trunk]
	if d.TrunkResolver != nil {
		t, err := d.TrunkResolver(ctx, c.agent.companyID, c.agent.trunk)
		if err != nil {
			return &callOutcome{result: ResultFail, message: fmt.Sprintf("Trunk %q: %v", c.agent.trunk, err), ended: d.now()}, nil
		}
		if t != nil {
			trunk, ok = t, true
		}
	}
	if !ok {
		return &callOutcome{result: ResultFail, message: fmt.Sprintf("No trunk named %q.", c.agent.trunk), ended: d.now()}, nil
	}
	entities := map[string]string{}
	if err := json.Unmarshal([]byte(c.entities), &entities); err != nil {
		return nil, fmt.Errorf("stored entities: %w", err)
	}
	out := &callOutcome{outputs: map[string]string{}}
	out.turns = append(out.turns, turn{action: "dial", data: map[string]any{"msisdn": c.msisdn, "attempt": c.attempt}, at: c.startedAt})
	conn, result, err := trunk.Dial(ctx, CallRequest{CallUUID: c.callUUID, MSISDN: c.msisdn, Entities: entities, Voice: c.agent.tts, Language: c.agent.language,
		AgentID: c.agent.id, CompanyID: c.agent.companyID})
	if err != nil {
		return nil, err
	}
	out.result = result
	if result != ResultAnswered {
		out.turns = append(out.turns, turn{action: result, at: d.now()})
		out.ended = d.now()
		return out, nil
	}
	out.answered = d.now()
	prog, outputs, err := d.loadScript(ctx, c)
	if err != nil {
		return nil, err
	}
	host := &transcriptHost{conn: conn, start: out.answered, turns: &out.turns}
	host.add("answer", nil)
	outcome, runErr := prog.Run(ctx, c.entryPoint, host, script.Config{Entities: entities, Outputs: outputs, Channel: script.Voice})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	out.kind, out.outputs = outcome.Kind, outcome.Outputs
	for _, name := range sortedKeys(outcome.Outputs) {
		host.add("set", map[string]any{"name": name, "value": outcome.Outputs[name]})
	}
	switch {
	case runErr != nil:
		out.message = parley.ErrorMessage(runErr)
		host.add("error", map[string]any{"message": out.message})
	case outcome.Kind == script.Transfer:
		host.add("transfer", map[string]any{"reason": outcome.Reason})
	default:
		host.add("hangup", nil)
	}
	wav, err := conn.Hangup(ctx)
	if err != nil {
		d.Log.Warn("recording failed", "call_uuid", c.callUUID, "error", err)
	}
	out.wav = wav
	out.ended = out.answered.Add(conn.Elapsed())
	return out, nil
}

// loadScript finds the dialog's script (its script_name, else the agent's
// "main"), falling back to script.DefaultScript when the agent has none,
// and the agent's output entity names.
func (d *Dialer) loadScript(ctx context.Context, c *claimed) (*script.Program, []string, error) {
	name := c.scriptName
	if name == "" {
		name = "main"
	}
	r, err := agent.LoadRunnable(ctx, d.DB.Reader(), c.agent.id, name)
	if err != nil {
		return nil, nil, err
	}
	prog, err := d.programs.Compile(r.Name+".star", r.Source)
	if err != nil {
		return nil, nil, err
	}
	return prog, r.Outputs, nil
}

// finish stores a call's outcome and moves its dialog on: done or failed,
// or back to the queue after the agent's delay while attempts remain. It
// only succeeds while this process still holds the dialog's lease.
func (d *Dialer) finish(ctx context.Context, c *claimed, out *callOutcome) error {
	status, result := "done", out.result
	// The dialog finishes when its result is stored, on the real clock: a
	// simulated call's own timeline may run ahead of it.
	var finishedAt, nextAt any = d.now().UnixMilli(), nil // nil keeps the column as it is
	switch {
	case out.result != ResultAnswered && c.attempt <= c.agent.recallCount:
		status, finishedAt = "queued", nil
		nextAt = d.now().Add(c.agent.delay).UnixMilli()
	case out.result != ResultAnswered:
		status = "failed"
		if out.message == "" {
			out.message = fmt.Sprintf("Not reached after %d attempts (last: %s).", c.attempt, out.result)
		}
	case out.message != "":
		status, result = "failed", "error"
	default:
		result = out.kind
	}
	outputs, err := json.Marshal(out.outputs)
	if err != nil {
		return err
	}
	recordingKey, dbWAV := d.storeRecording(ctx, c, out.wav)
	now := d.now().UnixMilli()
	err = d.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `UPDATE dialogs SET status = ?, result = ?, message = ?, outputs = ?, finished_at = ?, last_call_uuid = ?,
			next_attempt_at = COALESCE(?, next_attempt_at), lease_owner = '', lease_until = 0, updated_at = ?
			WHERE id = ? AND lease_owner = ? AND status = 'calling'`,
			status, result, out.message, string(outputs), finishedAt, c.callUUID, nextAt, now, c.dialogID, d.Node)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		if err := q.QueryRow(ctx, `SELECT id FROM calls WHERE uuid = ?`, c.callUUID).Scan(&c.callID); err != nil {
			return err
		}
		var answered any
		if !out.answered.IsZero() {
			answered = out.answered.UnixMilli()
		}
		if _, err := q.Exec(ctx, `UPDATE calls SET status = 'ended', result = ?, answered_at = ?, ended_at = ?, recording_key = ? WHERE id = ?`,
			callResult(out), answered, out.ended.UnixMilli(), recordingKey, c.callID); err != nil {
			return err
		}
		if err := insertTurns(ctx, q, c, out.turns); err != nil {
			return err
		}
		if len(dbWAV) > 0 {
			if _, err := q.Exec(ctx, `INSERT INTO call_recordings (call_id, company_id, file_name, wav) VALUES (?, ?, ?, ?)`,
				c.callID, c.agent.companyID, c.callUUID+".wav", dbWAV); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.publish("call.ended", c, map[string]any{"call_uuid": c.callUUID, "result": callResult(out)})
	d.publish("dialog."+status, c, map[string]any{"status": status, "result": result})
	return nil
}

// RecordingKey is where a call's recording is kept in the media store.
func RecordingKey(companyID int64, callUUID string) string {
	return fmt.Sprintf("recordings/%d/%s.wav", companyID, callUUID)
}

// RecordingContentType is the type recordings are stored with.
const RecordingContentType = "audio/wav"

// storeRecording puts a call's WAV into the media store and returns its
// key, or returns the WAV itself when it goes to the database instead: when
// there is no media store, or the store failed (the recording is kept
// rather than lost). It runs before the call's result is committed, so a
// result never names an object that was not written; a crash or a lost
// lease between the two leaves an object no call names (an orphan, which
// costs space but never a broken download).
func (d *Dialer) storeRecording(ctx context.Context, c *claimed, wav []byte) (key string, dbWAV []byte) {
	if len(wav) == 0 || d.Media == nil {
		return "", wav
	}
	key = RecordingKey(c.agent.companyID, c.callUUID)
	if err := d.Media.Put(ctx, key, bytes.NewReader(wav), int64(len(wav)), RecordingContentType); err != nil {
		d.Log.Error("recording not stored in the media store; keeping it in the database", "call_uuid", c.callUUID, "key", key, "error", err)
		return "", wav
	}
	return key, nil
}

// callResult is the result shown for the call itself.
func callResult(out *callOutcome) string {
	if out.result == ResultAnswered && out.kind != "" {
		return out.kind
	}
	return out.result
}

func insertTurns(ctx context.Context, q store.Querier, c *claimed, turns []turn) error {
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
		if t.data != nil {
			j, err := json.Marshal(t.data)
			if err != nil {
				return err
			}
			data = string(j)
		}
		args = append(args, c.callID, c.agent.companyID, i, t.action, data, t.at.UnixMilli())
	}
	_, err := q.Exec(ctx, b.String(), args...)
	return err
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
