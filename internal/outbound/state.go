package outbound

import "fmt"

// DialogState is where a dialog is in its walk:
//
//	queued -> calling -> queued (a retry) | done | failed
//	queued <-> stopped (Stop, Return)
//	queued | stopped -> removed (Remove)
//
// A calling dialog is leased to one dialer process until lease_until; an
// expired lease means that process died, and RecoverExpired puts the dialog
// back in the queue without counting the attempt.
type DialogState string

const (
	DialogQueued  DialogState = "queued"  // waiting for its next attempt (next_attempt_at)
	DialogCalling DialogState = "calling" // a call is live, leased to a dialer
	DialogStopped DialogState = "stopped" // paused by queue/stop
	DialogDone    DialogState = "done"    // answered, and the script ran to its end
	DialogFailed  DialogState = "failed"  // not reached in every attempt, or the script failed
	DialogRemoved DialogState = "removed" // taken out of the queue by queue/remove
)

// CallState is where one call (one attempt of a dialog) is.
type CallState string

const (
	CallLive        CallState = "live"        // placed, its outcome not stored yet
	CallEnded       CallState = "ended"       // its outcome is stored (Finish)
	CallInterrupted CallState = "interrupted" // its dialer died mid-call (RecoverExpired)
)

// Results of an attempt as the trunk reports them. An unanswered, busy or
// failed attempt is retried after the agent's delay while attempts remain.
const (
	ResultAnswered = "answered"
	ResultNoAnswer = "no_answer"
	ResultBusy     = "busy"
	ResultFail     = "fail"
)

// resultError is an answered dialog's result when its script failed.
const resultError = "error"

// The sets of states the queries ask about, as SQL. What "finished" means
// is decided here and nowhere else.
const (
	// sqlPending: not finished yet, whether waiting, live or paused: the
	// queue view and a selection's progress.
	sqlPending = `('queued', 'calling', 'stopped')`
	// sqlWaiting: waiting for a call, so that Remove may take it.
	sqlWaiting = `('queued', 'stopped')`
	// sqlFinished: a dialog that ended after at least one call has its
	// statistics row (removed dialogs and ones never called have none).
	sqlFinished = `d.status IN ('done', 'failed') AND d.last_call_uuid <> ''`
)

// waiting reports whether Remove may take a dialog in state st.
func waiting(st DialogState) bool { return st == DialogQueued || st == DialogStopped }

// after is where a dialog goes when its call's outcome is stored.
type after struct {
	state   DialogState
	result  string // the dialog's result: the trunk's, the script's outcome, or "error"
	message string // why it failed, when it did
	retry   bool   // back to the queue after the agent's delay
}

// afterCall decides a dialog's next state from its call's outcome, the
// attempt that call was, and how many recalls the agent allows. An
// unanswered attempt is retried while attempts remain, then fails; an
// answered one is done, or failed with result "error" when the script
// failed.
func afterCall(out *Outcome, attempt, recalls int) after {
	switch {
	case out.Result != ResultAnswered && attempt <= recalls:
		return after{state: DialogQueued, result: out.Result, message: out.Message, retry: true}
	case out.Result != ResultAnswered:
		msg := out.Message
		if msg == "" {
			msg = fmt.Sprintf("Not reached after %d attempts (last: %s).", attempt, out.Result)
		}
		return after{state: DialogFailed, result: out.Result, message: msg}
	case out.Message != "":
		return after{state: DialogFailed, result: resultError, message: out.Message}
	}
	if out.Transfer != nil {
		return after{state: DialogDone, result: ResultTransferred}
	}
	return after{state: DialogDone, result: out.Kind}
}

// callResult is the result shown for the call itself: the script's
// outcome when answered, else the trunk's result.
func callResult(out *Outcome) string {
	if out.Result == ResultAnswered && out.Transfer != nil {
		return ResultTransferred
	}
	if out.Result == ResultAnswered && out.Kind != "" {
		return out.Kind
	}
	return out.Result
}
