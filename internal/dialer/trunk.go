package dialer

import (
	"context"
	"time"

	"github.com/parley-cc/parley/internal/outbound"
)

// Call results a trunk reports (outbound's, where they decide a dialog's
// next state). An unanswered, busy or failed attempt is retried after the
// agent's delay while attempts remain.
const (
	ResultAnswered = outbound.ResultAnswered
	ResultNoAnswer = outbound.ResultNoAnswer
	ResultBusy     = outbound.ResultBusy
	ResultFail     = outbound.ResultFail
)

// CallRequest is what a trunk needs to place a call.
type CallRequest struct {
	CallUUID string
	MSISDN   string
	Entities map[string]string // the dialog's initial entities (the sim trunk reads sim_*)
	Voice    string            // the agent's TTS setting, "voice@platform"
	Language string
	// AgentID and CompanyID are the row ids of the calling agent and its
	// company, for a trunk that needs more of the agent's settings (its
	// ASR and keys: see internal/voice/sip's Pool).
	AgentID   int64
	CompanyID int64
}

// Trunk places calls. A callee that does not answer is a result, not an
// error; an error means the trunk itself failed (counted as ResultFail).
type Trunk interface {
	Dial(ctx context.Context, req CallRequest) (Conn, string, error)
}

// Conn is an answered call: the script says and listens through it, and
// hanging up yields the recording.
type Conn interface {
	Say(ctx context.Context, text string) error
	Listen(ctx context.Context, timeout time.Duration, expect []string) (string, bool, error)
	// Elapsed is the call's own clock: how far into the call it is. The sim
	// trunk runs on a virtual timeline, a real trunk on the wall clock.
	Elapsed() time.Duration
	Hangup(ctx context.Context) (wav []byte, err error)
}

// BargeInConn is a Conn that can tell whether the callee cut the last
// prompt short; the transcript's say turn then has "barged_in": true.
type BargeInConn interface {
	BargedIn() bool
}

// LatencyConn is a Conn that measures its turns: after a Listen, the
// endpointing and recognition times; after a Say, the script, synthesis
// and first-packet times and, answering a listen, the whole turn's (ms).
// The transcript keeps them in the turn's "latency_ms".
type LatencyConn interface {
	LastLatency() map[string]any
}

// UtteranceConn is a Conn that knows when, on its own clock, the utterance
// the last Listen returned started and ended; the transcript's listen turn
// is then stamped with the start and carries "start_ms" and "end_ms".
type UtteranceConn interface {
	LastUtterance() (start, end time.Duration, ok bool)
}
