package script

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"

	"github.com/parley-cc/parley"
)

// maxBacktrace bounds the callers named in an error message, which ends up
// stored on a dialog and shown to people.
const maxBacktrace = 4

// scriptError turns a failed run into the message the dialer stores on the
// dialog: "script NAME: line L: MSG", plus the callers when the failure is
// inside a helper function.
func (r *runner) scriptError(err error) error {
	if pe, ok := err.(*parley.Error); ok {
		return pe // already phrased for people (entry point checks)
	}
	msg, where := errorMsg(err), "line"
	// The watchdog may trip just after the script failed on its own; only
	// an error that carries the limit's text is the limit's doing.
	if limit := r.watch.tripped(); limit != "" && strings.Contains(msg, limit) {
		msg = limit // rather than Starlark's "computation cancelled: ..."
		// A thread is stopped between two instructions, and Starlark only
		// records lines for instructions that can fail: the line is the last
		// one recorded before the stop, at or a little before it.
		where = "near line"
	}
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return parley.Errorf(parley.EINVALID, "script %s: %s", r.name, msg)
	}
	// The frames of the script itself, outermost first; built-ins have no
	// line a script author could look up.
	var frames []starlark.CallFrame
	for _, fr := range ee.CallStack {
		if fr.Pos.Filename() == r.name {
			frames = append(frames, fr)
		}
	}
	if len(frames) == 0 {
		return parley.Errorf(parley.EINVALID, "script %s: %s", r.name, msg)
	}
	inner := frames[len(frames)-1]
	text := fmt.Sprintf("script %s: %s %d: %s", r.name, where, inner.Pos.Line, msg)
	if len(frames) > 1 && inner.Name != "<toplevel>" {
		var callers []string
		for i := len(frames) - 2; i >= 0 && len(callers) < maxBacktrace; i-- {
			callers = append(callers, fmt.Sprintf("%s at line %d", frames[i].Name, frames[i].Pos.Line))
		}
		if len(frames)-1 > maxBacktrace {
			callers = append(callers, "...")
		}
		text += fmt.Sprintf(" (in %s, called from %s)", inner.Name, strings.Join(callers, ", "))
	}
	return parley.Errorf(parley.EINVALID, "%s", text)
}

// maxErrorMsg bounds the message of a failed run, which is stored with
// the dialog or logged: fail() can be given megabytes of text.
const maxErrorMsg = 1000

// errorMsg is an error's message without a Starlark backtrace, at most
// maxErrorMsg bytes.
func errorMsg(err error) string {
	msg := err.Error()
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		msg = ee.Msg
	}
	if len(msg) > maxErrorMsg {
		cut := maxErrorMsg
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}
