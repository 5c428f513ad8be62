// Package script runs virtual-agent logic written in Starlark, sandboxed.
//
// A script is stored per agent under a name and run from an entry point
// (default "main") that takes one argument, s. The same script serves a phone
// call (s.channel == "voice") and a chat (s.channel == "chat"); the Host
// interface hides the difference. What a script sees on s:
//
//	s.entities                      frozen dict of the dialog's initial entities (str -> str)
//	s.channel                       "voice" or "chat"
//	s.output_names                  tuple of the output entity names s.set accepts
//	s.say(text)                     speak or send text (a string)
//	s.listen(timeout=10, expect=None, end_silence=None)
//	                                the next utterance as a string, or None on silence;
//	                                timeout in seconds, more than 0 (at most 300 on a
//	                                call; in a chat it does not apply); expect is an
//	                                optional list of phrases (a recognition hint);
//	                                end_silence, 0.2 to 5 seconds, is the silence that
//	                                ends this utterance on a call instead of the node's
//	                                rules (no early end on a stable hypothesis; a
//	                                chat ignores it)
//	s.set(name, value)              set an output entity; strings are stored as they are,
//	                                anything else as JSON text (true, 3, null, [1,2])
//	s.transfer(reason="", to=None)  hand the conversation to a human: on a call, True
//	                                once an operator took it (the run ends with the
//	                                call), False when the agent's transfers are at
//	                                routing_channel_limit or nobody accepted in time
//	                                (the script goes on); in a chat, the run ends
//	                                and the chat is escalated
//	s.hangup()                      end the run: hang up / close the chat
//
// Returning from the entry point ends the run as "completed"; fail(msg) or
// any runtime error ends it as failed.
//
// The sandbox: nothing is predeclared beyond Starlark's pure built-ins (some
// replaced by guarded versions, and names starting with _parley_ reserved), and s
// arrives as the entry point's argument, so a script has no I/O, no clock and
// no randomness; load is refused at compile time; print is discarded;
// recursion is off. Each turn (the script's run
// between two say/listen calls) has a step limit and a wall-time limit, and a
// run has a limit on say/listen calls, so a script can neither spin nor chat
// forever. A run also has a step limit of its own, and a memory budget that
// every operation building in bulk ("x" * 100000000, ",".join(l),
// list(range(n)), ...) is charged against before it runs (rewrite.go): a
// script past it fails, and the node does not notice.
//
// Runs are deterministic: the same script, entities and sequence of listen
// answers yield the same says and outputs, so a session can be rebuilt by
// replaying its transcript.
package script

import (
	"fmt"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/parley-cc/parley"
)

// DefaultEntry is the entry point Run calls when given none.
const DefaultEntry = "main"

// fileOptions is the dialect scripts are written in. while loops are allowed
// because "ask until understood" is the natural shape of a dialog; recursion
// stays off so the Go stack is bounded by the number of functions.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
}

// Program is a compiled script. It holds no run state, so one Program may be
// run by many dialogs at once.
type Program struct {
	name string
	prog *starlark.Program
}

// Name is the script's name, as used in positions of error messages.
func (p *Program) Name() string { return p.name }

// CompileError is a script that does not parse or resolve, with the position
// of its first error. It unwraps to a *parley.Error (EINVALID) whose Fields
// has {"script": "line L, column C: msg"}, so API adapters report it as a
// bad field without knowing this type.
type CompileError struct {
	Line, Column int
	Msg          string
	name         string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("script %s: %s", e.name, e.position())
}

func (e *CompileError) position() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap exposes the domain error, for errors.As and parley.ErrorCode.
func (e *CompileError) Unwrap() error {
	return parley.FieldError("script", "%s", e.position())
}

// Compile parses and resolves a script; the name appears in error messages.
// A script that does not parse, refers to an undefined name or has a load
// statement is refused with a *CompileError (see there). Whether the entry
// point exists is only known at Run, which runs the top level first.
func Compile(name, source string) (*Program, error) {
	if name == "" {
		name = "script"
	}
	f, err := fileOptions.Parse(name, source, 0)
	if err != nil {
		return nil, compileError(name, err)
	}
	// Refused before resolving: a script must not even look as if it could
	// reach code outside itself.
	for _, st := range f.Stmts {
		if ld, ok := st.(*syntax.LoadStmt); ok {
			return nil, &CompileError{Line: int(ld.Load.Line), Column: int(ld.Load.Col),
				Msg: "load statements are not allowed: a script cannot import modules", name: name}
		}
	}
	// Every operation that can build in bulk goes through a guard that
	// charges it to the run's memory budget (rewrite.go).
	if err := guardFile(f); err != nil {
		return nil, compileError(name, err)
	}
	prog, err := starlark.FileProgram(f, isGuard)
	if err != nil {
		return nil, compileError(name, err)
	}
	return &Program{name: name, prog: prog}, nil
}

// compileError turns the parser's or resolver's error into a *CompileError.
func compileError(name string, err error) error {
	var pos syntax.Position
	var msg string
	switch e := err.(type) {
	case syntax.Error:
		pos, msg = e.Pos, e.Msg
	case resolve.ErrorList:
		pos, msg = e[0].Pos, e[0].Msg
	default:
		// Not a positioned error; should not happen, but still a refusal.
		return &CompileError{Line: 1, Column: 1, Msg: err.Error(), name: name}
	}
	return &CompileError{Line: int(pos.Line), Column: int(pos.Col), Msg: msg, name: name}
}
