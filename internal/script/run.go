package script

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/parley-cc/parley"
)

// Host is what a script talks to; the dialer's call and the chat implement
// it. Both methods block, and both must give up when ctx is done.
type Host interface {
	// Say speaks (voice) or sends (chat) text to the callee or end user.
	Say(ctx context.Context, text string) error
	// Listen waits at most timeout for the next utterance. ok is false on
	// silence or timeout. expect lists the phrases the script expects, as a
	// hint for speech recognition; it may be empty.
	Listen(ctx context.Context, timeout time.Duration, expect []string) (utterance string, ok bool, err error)
}

// Transferer is a Host that hands the conversation to a human itself (a
// call): Transfer blocks while the callee waits and, when a human took
// the call, until that conversation ended; took is true then, and the run
// ends as a transfer. took false (the agent's transfers are at their
// limit, nobody accepted in time) lets the script go on: s.transfer()
// returns False. to is "" (the agent's setting), "menu:<id>", a number
// or a SIP URI. A Host without it ends the run at s.transfer(), as before.
type Transferer interface {
	Transfer(ctx context.Context, req TransferRequest) (took bool, err error)
}

// TransferRequest is what s.transfer() asks for.
type TransferRequest struct {
	Reason, To string
	Outputs    map[string]string // the output entities set so far (a copy)
}

// Channels a script may run on; s.channel is one of them.
const (
	Voice = "voice"
	Chat  = "chat"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxSteps    = 1_000_000
	DefaultTurnTimeout = 2 * time.Second
	DefaultMaxTurns    = 1000
)

// Config is what a run depends on besides the script and the host.
type Config struct {
	Entities map[string]string // the dialog's initial entities, s.entities
	Outputs  []string          // the output entity names s.set accepts
	Channel  string            // Voice or Chat

	// MaxSteps bounds the Starlark steps of one turn: the script's run
	// between two say/listen calls (or from the start to the first).
	MaxSteps uint64
	// TurnTimeout bounds the wall time of one turn. Time spent inside
	// Host.Say and Host.Listen does not count.
	TurnTimeout time.Duration
	// MaxTurns bounds the say/listen calls of a run. The per-turn limits
	// reset at every call, so without it a script saying in a loop to a
	// host that answers at once would never end.
	MaxTurns int
	// MaxRunSteps bounds the steps of the whole run; 0 means the node's
	// setting (SetRunLimits, default DefaultMaxRunSteps).
	MaxRunSteps uint64
	// MaxAlloc bounds the bytes the run's bulk operations allocate; 0
	// means the node's setting (SetRunLimits, default DefaultMaxAlloc).
	MaxAlloc int64
}

// Outcome kinds.
const (
	Completed = "completed" // the entry point returned
	Hangup    = "hangup"    // the script called s.hangup()
	Transfer  = "transfer"  // the script called s.transfer(); Reason says why
	Failed    = "failed"    // Run returned an error
)

// Outcome is how a run ended and what it set.
type Outcome struct {
	Kind    string
	Reason  string            // transfer reason, as the script gave it
	Outputs map[string]string // output entities set by s.set; never nil
}

// Run runs the script's top level, then calls entry ("" means "main") with
// the session object s, talking to host until the script ends.
//
// Run always returns a non-nil Outcome. On error its Kind is Failed and its
// Outputs hold what the script set before it failed, so a caller can keep
// partial results. The errors:
//   - a script failure (runtime error, fail(), a limit, a bad argument to an
//     s method, a missing or wrong entry point): *parley.Error with code
//     EINVALID and a message like "script main.star: line 4: unknown output
//     entity 'x'", fit to be stored on the failed dialog;
//   - ctx done: ctx.Err();
//   - a Host error: that error, wrapped with the method that failed.
func (p *Program) Run(ctx context.Context, entry string, host Host, cfg Config) (*Outcome, error) {
	out := &Outcome{Kind: Failed, Outputs: map[string]string{}}
	if entry == "" {
		entry = DefaultEntry
	}
	if cfg.Channel != Voice && cfg.Channel != Chat {
		return out, parley.Errorf(parley.EINVALID, "script %s: channel %q is neither %q nor %q", p.name, cfg.Channel, Voice, Chat)
	}
	if cfg.MaxSteps == 0 {
		cfg.MaxSteps = DefaultMaxSteps
	}
	if cfg.TurnTimeout <= 0 {
		cfg.TurnTimeout = DefaultTurnTimeout
	}
	if cfg.MaxTurns <= 0 {
		cfg.MaxTurns = DefaultMaxTurns
	}
	if cfg.MaxRunSteps == 0 {
		cfg.MaxRunSteps = uint64(runLimits.maxRunSteps.Load())
	}
	if cfg.MaxAlloc <= 0 {
		cfg.MaxAlloc = runLimits.maxAlloc.Load()
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}

	r := newRunner(ctx, p.name, host, cfg, out.Outputs)
	stop := context.AfterFunc(ctx, func() { r.thread.Cancel("context done") })
	defer stop()

	err := r.run(p.prog, entry)
	r.watch.stop()
	if err == nil {
		out.Kind = Completed
		return out, nil
	}
	var end *endRun
	if errors.As(err, &end) {
		out.Kind, out.Reason = end.kind, end.reason
		return out, nil
	}
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	var he *hostError
	if errors.As(err, &he) {
		return out, fmt.Errorf("script %s: %s: %w", p.name, he.method, he.err)
	}
	return out, r.scriptError(err)
}

// run executes the top level and calls the entry point.
func (r *runner) run(prog *starlark.Program, entry string) error {
	r.watch.start()
	globals, err := prog.Init(r.thread, guards)
	if err != nil {
		return err
	}
	v, ok := globals[entry]
	if !ok {
		return parley.Errorf(parley.EINVALID, "script %s: entry point %s is not defined (want def %s(s): ...)", r.name, entry, entry)
	}
	fn, ok := v.(*starlark.Function)
	if !ok {
		return parley.Errorf(parley.EINVALID, "script %s: entry point %s must be a function, not %s", r.name, entry, v.Type())
	}
	if fn.NumParams() != 1 || fn.HasVarargs() || fn.HasKwargs() || fn.NumKwonlyParams() != 0 {
		return parley.Errorf(parley.EINVALID, "script %s: line %d: entry point %s must take exactly one parameter, s (def %s(s): ...)",
			r.name, fn.Position().Line, entry, entry)
	}
	_, err = starlark.Call(r.thread, fn, starlark.Tuple{r.session()}, nil)
	return err
}

// endRun is how s.hangup and s.transfer stop the script: an error is the
// only way out of a Starlark call stack, and scripts cannot catch it.
type endRun struct{ kind, reason string }

func (e *endRun) Error() string { return "script ended: " + e.kind }

// hostError marks a failure of the Host, which is not the script's fault
// and is returned to the caller as it is.
type hostError struct {
	method string
	err    error
}

func (e *hostError) Error() string { return e.method + ": " + e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }
