package outbound

import (
	"strings"
	"testing"
)

// TestAfterCall pins down where a dialog goes after each kind of call:
// what "finished" means.
func TestAfterCall(t *testing.T) {
	for _, c := range []struct {
		name             string
		out              Outcome
		attempt, recalls int
		want             after
	}{
		{"answered, script done", Outcome{Result: ResultAnswered, Kind: "completed"}, 1, 0,
			after{state: DialogDone, result: "completed"}},
		{"answered, script hung up", Outcome{Result: ResultAnswered, Kind: "hangup"}, 3, 2,
			after{state: DialogDone, result: "hangup"}},
		{"answered, script failed", Outcome{Result: ResultAnswered, Kind: "failed", Message: "line 3: boom"}, 1, 5,
			after{state: DialogFailed, result: "error", message: "line 3: boom"}},
		{"no answer, recalls left", Outcome{Result: ResultNoAnswer}, 1, 1,
			after{state: DialogQueued, result: ResultNoAnswer, retry: true}},
		{"busy, last recall", Outcome{Result: ResultBusy}, 2, 1,
			after{state: DialogFailed, result: ResultBusy, message: "Not reached after 2 attempts (last: busy)."}},
		{"trunk failed, no recalls", Outcome{Result: ResultFail, Message: "No trunk named \"x\"."}, 1, 0,
			after{state: DialogFailed, result: ResultFail, message: "No trunk named \"x\"."}},
		{"trunk failed, recalls left", Outcome{Result: ResultFail, Message: "Call failed: refused"}, 1, 3,
			after{state: DialogQueued, result: ResultFail, message: "Call failed: refused", retry: true}},
	} {
		if got := afterCall(&c.out, c.attempt, c.recalls); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	// The SQL of "finished with statistics" names exactly the two final
	// states a call leads to.
	for _, st := range []DialogState{DialogDone, DialogFailed} {
		if !strings.Contains(sqlFinished, "'"+string(st)+"'") {
			t.Errorf("sqlFinished lacks %s", st)
		}
	}
	for _, st := range []DialogState{DialogQueued, DialogCalling, DialogStopped} {
		if !strings.Contains(sqlPending, "'"+string(st)+"'") || strings.Contains(sqlFinished, "'"+string(st)+"'") {
			t.Errorf("%s: pending %q, finished %q", st, sqlPending, sqlFinished)
		}
	}
}
