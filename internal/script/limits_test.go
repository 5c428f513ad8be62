package script

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"
)

// spinScript never reaches another say: only a limit ends it.
const spinScript = `
def main(s):
    s.say("start")
    n = 0
    while True:
        n += 1
`

func TestTimeLimit(t *testing.T) {
	// Steps are plentiful, per turn and per run, so only the watchdog can
	// stop the loop (a quiet machine runs the default 4,000,000 steps of a
	// run in under 50 ms).
	h := &fakeHost{}
	out, err := run(t, spinScript, h, Config{MaxSteps: 1 << 62, MaxRunSteps: 1 << 62, TurnTimeout: 50 * time.Millisecond})
	// The line is wherever the watchdog caught the loop, roughly.
	wantScriptError(t, err, "script t.star: near line ")
	wantScriptError(t, err, ": time limit exceeded: ran more than 50ms without a say or listen")
	if out.Kind != Failed || !slices.Equal(h.log, []string{"say: start"}) {
		t.Errorf("outcome = %+v, log %q", out, h.log)
	}
}

func TestStepLimit(t *testing.T) {
	h := &fakeHost{}
	_, err := run(t, spinScript, h, Config{MaxSteps: 1000, TurnTimeout: time.Hour})
	wantScriptError(t, err, "script t.star: near line ")
	wantScriptError(t, err, ": step limit exceeded: more than 1000 steps without a say or listen")
}

// The step budget is per turn: work spread over many says passes where the
// same work in one turn does not.
func TestStepLimitResetsEveryTurn(t *testing.T) {
	const work = `
def busy():
    n = 0
    for i in range(100):
        n += i
    return n
`
	cfg := Config{MaxSteps: 2000, TurnTimeout: time.Hour}
	spread := work + "\ndef main(s):\n    for t in range(20):\n        busy()\n        s.say(str(t))\n"
	if _, err := run(t, spread, &fakeHost{}, cfg); err != nil {
		t.Fatalf("work spread over turns: %v", err)
	}
	lump := work + "\ndef main(s):\n    for t in range(20):\n        busy()\n    s.say(\"done\")\n"
	_, err := run(t, lump, &fakeHost{}, cfg)
	wantScriptError(t, err, "step limit exceeded")
}

// Time the callee takes to answer is not the script's time.
func TestTimeInHostDoesNotCount(t *testing.T) {
	h := &fakeHost{onListen: func(ctx context.Context) (string, bool, error) {
		time.Sleep(1200 * time.Millisecond)
		return "hello", true, nil
	}}
	// The script's own turns take microseconds; the wide margin keeps a
	// loaded CI machine from tripping the limit outside the host.
	out, err := run(t, "def main(s):\n    s.say(s.listen())\n", h, Config{TurnTimeout: 500 * time.Millisecond})
	if err != nil || out.Kind != Completed {
		t.Fatalf("Run = %+v, %v", out, err)
	}
}

func TestTurnLimit(t *testing.T) {
	h := &fakeHost{}
	_, err := run(t, "def main(s):\n    while True:\n        s.say(\"again\")\n", h, Config{MaxTurns: 5})
	wantScriptError(t, err, "script t.star: line 3: turn limit exceeded: more than 5 say/listen calls in one run")
	if len(h.log) != 5 {
		t.Errorf("%d says went out, want 5", len(h.log))
	}
}

func TestHugeStepBudgetDoesNotWrap(t *testing.T) {
	out, err := run(t, "def main(s):\n    s.say(\"a\")\n    s.say(\"b\")\n", &fakeHost{}, Config{MaxSteps: math.MaxUint64})
	if err != nil || out.Kind != Completed {
		t.Fatalf("Run = %+v, %v", out, err)
	}
}
