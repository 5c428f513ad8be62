package script

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"sort"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
)

// Limits of s.listen's timeout, in seconds. The maximum is a call's: in a
// chat the timeout does not apply (the script waits for the next message),
// so any positive number is accepted there.
const (
	defaultListenTimeout = 10.0
	maxListenTimeout     = 300.0
)

// runner is the state of one run: the thread, the host and what the script
// has set so far.
type runner struct {
	ctx     context.Context
	name    string
	host    Host
	cfg     Config
	thread  *starlark.Thread
	watch   *watchdog
	allowed map[string]bool
	outputs map[string]string
	turns   int

	// allocated is what the run's bulk operations have been charged,
	// against maxAlloc (memory.go).
	allocated, maxAlloc int64
}

func newRunner(ctx context.Context, name string, host Host, cfg Config, outputs map[string]string) *runner {
	r := &runner{ctx: ctx, name: name, host: host, cfg: cfg, outputs: outputs, allowed: map[string]bool{}, maxAlloc: cfg.MaxAlloc}
	for _, o := range cfg.Outputs {
		r.allowed[o] = true
	}
	r.thread = &starlark.Thread{
		Name: "script " + name,
		// print would write to stderr; a script has no business there.
		Print: func(*starlark.Thread, string) {},
	}
	r.thread.SetLocal(runnerKey, r)
	r.watch = newWatchdog(r.thread, cfg.MaxSteps, cfg.MaxRunSteps, cfg.TurnTimeout)
	return r
}

// session builds s, the one object through which a script reaches the world.
func (r *runner) session() *session {
	// Sorted, because Go map order is random and s.entities is iterable:
	// the same entities must give the same run.
	keys := make([]string, 0, len(r.cfg.Entities))
	for k := range r.cfg.Entities {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ents := starlark.NewDict(len(keys))
	for _, k := range keys {
		_ = ents.SetKey(starlark.String(k), starlark.String(r.cfg.Entities[k]))
	}
	ents.Freeze()
	names := make(starlark.Tuple, len(r.cfg.Outputs))
	for i, o := range r.cfg.Outputs {
		names[i] = starlark.String(o)
	}
	return &session{
		attrs: map[string]starlark.Value{
			"entities":     ents,
			"channel":      starlark.String(r.cfg.Channel),
			"output_names": names,
			"say":          starlark.NewBuiltin("say", r.say),
			"listen":       starlark.NewBuiltin("listen", r.listen),
			"set":          starlark.NewBuiltin("set", r.set),
			"transfer":     starlark.NewBuiltin("transfer", r.transfer),
			"hangup":       starlark.NewBuiltin("hangup", r.hangup),
		},
	}
}

// session is the s argument of the entry point. Its attributes are fixed:
// a script can read them but not assign them.
type session struct{ attrs map[string]starlark.Value }

var _ starlark.HasAttrs = (*session)(nil)

func (s *session) String() string        { return "<session>" }
func (s *session) Type() string          { return "session" }
func (s *session) Freeze()               {} // its only mutable part, entities, is frozen already
func (s *session) Truth() starlark.Bool  { return starlark.True }
func (s *session) Hash() (uint32, error) { return 0, errors.New("unhashable type: session") }

func (s *session) Attr(name string) (starlark.Value, error) { return s.attrs[name], nil }

func (s *session) AttrNames() []string {
	names := make([]string, 0, len(s.attrs))
	for n := range s.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// hostCall ends the current turn, calls the host and starts the next turn.
func (r *runner) hostCall(method string, call func() error) error {
	r.turns++
	if r.turns > r.cfg.MaxTurns {
		return fmt.Errorf("turn limit exceeded: more than %d say/listen calls in one run", r.cfg.MaxTurns)
	}
	if limit := r.watch.stop(); limit != "" {
		return errors.New(limit) // nothing goes out for a script that overran
	}
	if err := r.ctx.Err(); err != nil {
		return err // Run reports ctx's error; no say after the caller gave up
	}
	err := call()
	r.watch.start()
	if err != nil {
		return &hostError{method: method, err: err}
	}
	return nil
}

func (r *runner) say(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text); err != nil {
		return nil, err
	}
	err := r.hostCall("say", func() error { return r.host.Say(r.ctx, text) })
	if err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func (r *runner) listen(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeoutV, expectV, endV starlark.Value = starlark.Float(defaultListenTimeout), starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &timeoutV, "expect?", &expectV, "end_silence?", &endV); err != nil {
		return nil, err
	}
	var opts ListenOptions
	if endV != starlark.None {
		secs, ok := starlark.AsFloat(endV)
		if _, isBool := endV.(starlark.Bool); !ok || isBool || math.IsNaN(secs) || secs < minEndSilence || secs > maxEndSilence {
			return nil, fmt.Errorf("listen: end_silence must be a number of seconds from %g to %g, or None, not %s", minEndSilence, maxEndSilence, endV)
		}
		opts.EndSilence = time.Duration(secs * float64(time.Second))
	}
	secs, ok := starlark.AsFloat(timeoutV)
	if _, isBool := timeoutV.(starlark.Bool); !ok || isBool || math.IsNaN(secs) || secs <= 0 || (r.cfg.Channel == Voice && secs > maxListenTimeout) {
		if r.cfg.Channel != Voice {
			return nil, fmt.Errorf("listen: timeout must be a number of seconds, more than 0, not %s", timeoutV)
		}
		return nil, fmt.Errorf("listen: timeout must be a number of seconds, more than 0 and at most %g, not %s", maxListenTimeout, timeoutV)
	}
	expect, err := phrases(expectV)
	if err != nil {
		return nil, err
	}
	var utterance string
	var heard bool
	err = r.hostCall("listen", func() error {
		var err error
		ctx := r.ctx
		if opts != (ListenOptions{}) {
			ctx = WithListenOptions(ctx, opts)
		}
		utterance, heard, err = r.host.Listen(ctx, time.Duration(secs*float64(time.Second)), expect)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !heard {
		return starlark.None, nil
	}
	return starlark.String(utterance), nil
}

// phrases reads listen's expect argument: None or a list or tuple of strings.
func phrases(v starlark.Value) ([]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	var seq starlark.Indexable
	switch x := v.(type) {
	case *starlark.List:
		seq = x
	case starlark.Tuple:
		seq = x
	default:
		return nil, fmt.Errorf("listen: expect must be a list of strings or None, not %s", v.Type())
	}
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := starlark.AsString(seq.Index(i))
		if !ok {
			return nil, fmt.Errorf("listen: expect[%d] is a %s, not a string", i, seq.Index(i).Type())
		}
		out[i] = s
	}
	return out, nil
}

func (r *runner) set(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var value starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "value", &value); err != nil {
		return nil, err
	}
	if !r.allowed[name] {
		return nil, fmt.Errorf("unknown output entity '%s'", name)
	}
	if s, ok := value.(starlark.String); ok {
		r.outputs[name] = string(s)
		return starlark.None, nil
	}
	// The JSON text can be far larger than the value (a list naming one
	// long string many times): it is charged like any text.
	room := r.maxAlloc - r.allocated
	if n := textSize(value, true, room); r.charge(n, func() string { return "the JSON text of " + name }) != nil {
		return nil, &memoryError{what: "the JSON text of '" + name + "' (" + textBytes(n, room) + ")", limit: byteSize(r.maxAlloc)}
	}
	// Starlark's own encoder: it writes dict keys sorted, so equal values
	// always give equal text.
	text, err := starlark.Call(thread, json.Module.Members["encode"], starlark.Tuple{value}, nil)
	if err != nil {
		return nil, fmt.Errorf("set: cannot store %s in '%s' as JSON: %v", value.Type(), name, errorMsg(err))
	}
	r.outputs[name] = string(text.(starlark.String))
	return starlark.None, nil
}

func (r *runner) transfer(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var reason string
	var toV starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "reason?", &reason, "to?", &toV); err != nil {
		return nil, err
	}
	to := ""
	if toV != starlark.None {
		s, ok := starlark.AsString(toV)
		if !ok {
			return nil, fmt.Errorf("transfer: to must be a string or None, not %s", toV.Type())
		}
		to = s
	}
	t, ok := r.host.(Transferer)
	if !ok {
		// A host that cannot hand over (a chat: the escalation follows the
		// run) ends the run as before.
		return nil, &endRun{kind: Transfer, reason: reason}
	}
	var took bool
	err := r.hostCall("transfer", func() error {
		var err error
		took, err = t.Transfer(r.ctx, TransferRequest{Reason: reason, To: to, Outputs: maps.Clone(r.outputs)})
		return err
	})
	if err != nil {
		return nil, err
	}
	if took {
		return nil, &endRun{kind: Transfer, reason: reason}
	}
	return starlark.False, nil
}

func (r *runner) hangup(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return nil, &endRun{kind: Hangup}
}
