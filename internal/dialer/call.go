package dialer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/script"
)

// transcriptHost is the script's view of a call: it forwards to the call
// and records every turn with the call's own clock.
type transcriptHost struct {
	conn  Conn
	start time.Time
	turns *[]outbound.NewTurn
}

func (h *transcriptHost) add(action string, data any) {
	*h.turns = append(*h.turns, outbound.NewTurn{Action: action, Data: data, At: h.start.Add(h.conn.Elapsed())})
}

func (h *transcriptHost) Say(ctx context.Context, text string) error {
	data := map[string]any{"text": text, "speaker": "agent"}
	h.add("say", data)
	err := h.conn.Say(ctx, text)
	if b, ok := h.conn.(BargeInConn); ok && err == nil && b.BargedIn() {
		data["barged_in"] = true
	}
	h.latency(data)
	return err
}

func (h *transcriptHost) Listen(ctx context.Context, timeout time.Duration, expect []string) (string, bool, error) {
	text, ok, err := h.conn.Listen(ctx, timeout, expect)
	if err != nil {
		return "", false, err
	}
	if ok {
		data := map[string]any{"text": text, "speaker": "callee"}
		h.latency(data)
		if u, isU := h.conn.(UtteranceConn); isU {
			if start, end, has := u.LastUtterance(); has {
				data["start_ms"], data["end_ms"] = start.Milliseconds(), end.Milliseconds()
				*h.turns = append(*h.turns, outbound.NewTurn{Action: "listen", Data: data, At: h.start.Add(start)})
				return text, ok, nil
			}
		}
		h.add("listen", data)
	} else {
		h.add("listen", nil)
	}
	return text, ok, nil
}

// latency adds the stages of the Say or Listen just done, when the call
// measures them (a SIP call), as the turn's "latency_ms".
func (h *transcriptHost) latency(data map[string]any) {
	if l, ok := h.conn.(LatencyConn); ok {
		if lat := l.LastLatency(); len(lat) > 0 {
			data["latency_ms"] = lat
		}
	}
}

// runCall places one claimed call and stores its outcome. If ctx ends
// mid-call (shutdown), nothing is stored: the lease runs out and another
// process (or this one after a restart) retries the dialog without
// counting the cut-off attempt.
func (d *Dialer) runCall(ctx context.Context, at *outbound.Attempt) {
	d.Log.Info("call placed", "call_uuid", at.CallUUID, "dialog_uuid", at.DialogUUID, "agent_uuid", at.Agent.UUID,
		"attempt", at.Number, "trunk", at.Agent.TrunkName)
	out, err := d.placeCall(ctx, at)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		d.Log.Error("call failed", "call_uuid", at.CallUUID, "dialog_uuid", at.DialogUUID, "error", err)
		out = &outbound.Outcome{Result: ResultFail, Message: "Call failed: " + parley.ErrorMessage(err), Ended: d.now()}
	}
	if err := d.Dialogs.Finish(ctx, at, out); err != nil && ctx.Err() == nil {
		if errors.Is(err, outbound.ErrLeaseLost) {
			d.Log.Warn("call result dropped: the dialog was recovered by another process", "call_uuid", at.CallUUID)
			return
		}
		d.Log.Error("store call result", "call_uuid", at.CallUUID, "error", err)
		return
	}
	attrs := []any{"call_uuid", at.CallUUID, "dialog_uuid", at.DialogUUID, "result", out.Result}
	if out.Kind != "" {
		attrs = append(attrs, "script", out.Kind)
	}
	if !out.Answered.IsZero() {
		attrs = append(attrs, "talk", out.Ended.Sub(out.Answered).Round(time.Millisecond))
	}
	if out.Message != "" {
		attrs = append(attrs, "message", out.Message)
	}
	d.Log.Info("call ended", attrs...)
}

// placeCall dials through the agent's trunk and, when answered, runs the
// dialog's script on the call.
func (d *Dialer) placeCall(ctx context.Context, at *outbound.Attempt) (*outbound.Outcome, error) {
	a := at.Agent
	trunk, ok := d.Trunks[a.TrunkName]
	if d.TrunkResolver != nil {
		t, err := d.TrunkResolver(ctx, a.CompanyID, a.TrunkName)
		if err != nil {
			return &outbound.Outcome{Result: ResultFail, Message: fmt.Sprintf("Trunk %q: %v", a.TrunkName, err), Ended: d.now()}, nil
		}
		if t != nil {
			trunk, ok = t, true
		}
	}
	if !ok {
		return &outbound.Outcome{Result: ResultFail, Message: fmt.Sprintf("No trunk named %q.", a.TrunkName), Ended: d.now()}, nil
	}
	entities, err := at.Entities()
	if err != nil {
		return nil, err
	}
	out := &outbound.Outcome{Outputs: map[string]string{}}
	out.Turns = append(out.Turns, outbound.NewTurn{Action: "dial", Data: map[string]any{"msisdn": at.MSISDN, "attempt": at.Number}, At: at.StartedAt})
	conn, result, err := trunk.Dial(ctx, CallRequest{CallUUID: at.CallUUID, MSISDN: at.MSISDN, Entities: entities, Voice: a.TTS, Language: a.Language,
		AgentID: a.ID, CompanyID: a.CompanyID})
	if err != nil {
		return nil, err
	}
	out.Result = result
	if result != ResultAnswered {
		out.Turns = append(out.Turns, outbound.NewTurn{Action: result, At: d.now()})
		out.Ended = d.now()
		return out, nil
	}
	out.Answered = d.now()
	prog, outputs, err := d.loadScript(ctx, at)
	if err != nil {
		return nil, err
	}
	host := &transcriptHost{conn: conn, start: out.Answered, turns: &out.Turns}
	if p, ok := conn.(PrefetchConn); ok {
		go d.prefetch(ctx, p, a.ID, at.ScriptName)
	}
	host.add("answer", nil)
	var sh script.Host = host
	var ho *handoverHost
	if d.Handover != nil {
		call := &HandoverCall{Attempt: at, Conn: conn, Entities: entities, Answered: out.Answered, Turns: &out.Turns}
		ho = &handoverHost{transcriptHost: host, h: d.Handover, call: call}
		sh = ho
		defer d.Handover.Live(call)()
	}
	outcome, runErr := prog.Run(ctx, at.EntryPoint, sh, script.Config{Entities: entities, Outputs: outputs, Channel: script.Voice})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	out.Kind, out.Outputs = outcome.Kind, outcome.Outputs
	for _, name := range sortedKeys(outcome.Outputs) {
		host.add("set", map[string]any{"name": name, "value": outcome.Outputs[name]})
	}
	switch {
	case runErr != nil:
		out.Message = parley.ErrorMessage(runErr)
		host.add("error", map[string]any{"message": out.Message})
	case outcome.Kind == script.Transfer && ho != nil && ho.stats != nil:
		out.Transfer = ho.stats
		host.add("hangup", map[string]any{"after": "transfer"})
	case outcome.Kind == script.Transfer:
		host.add("transfer", map[string]any{"reason": outcome.Reason})
	default:
		host.add("hangup", nil)
	}
	wav, err := conn.Hangup(ctx)
	if err != nil {
		d.Log.Warn("recording failed", "call_uuid", at.CallUUID, "error", err)
	}
	out.WAV = wav
	out.Ended = out.Answered.Add(conn.Elapsed())
	return out, nil
}

// loadScript finds the dialog's script (its script_name, else the agent's
// "main"), falling back to script.DefaultScript when the agent has none,
// and the agent's output entity names.
func (d *Dialer) loadScript(ctx context.Context, at *outbound.Attempt) (*script.Program, []string, error) {
	name := at.ScriptName
	if name == "" {
		name = "main"
	}
	r, err := d.Agents.Runnable(ctx, at.Agent.ID, name)
	if err != nil {
		return nil, nil, err
	}
	prog, err := d.programs.Compile(r.Name+".star", r.Source)
	if err != nil {
		return nil, nil, err
	}
	return prog, r.Outputs, nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
