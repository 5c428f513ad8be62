package bridgebench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	ServeLoadIfChild() // this test binary is the load process of TestRunLoadProcess
	os.Exit(m.Run())
}

// TestRun runs the benchmark small (5 calls, 2 s) so it keeps working:
// every call is bridged and audio flows both ways. The numbers are
// logged, never asserted (a busy test machine says nothing about them);
// PARLEY_BRIDGE_BENCH_CALLS=100 runs it at the goal's size and logs
// whether the goals are met.
func TestRun(t *testing.T) {
	calls, dur := 5, 2*time.Second
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BRIDGE_BENCH_CALLS")); err == nil && v > 0 {
		calls, dur = v, 20*time.Second
	}
	run(t, Config{Calls: calls, Duration: dur})
}

// TestRunLoadProcess runs it with the load side in a child process (this
// test binary again), as parley-bench does: the setup crosses the pipe,
// audio flows both ways and Parley's counters come back.
func TestRunLoadProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Config{Calls: 3, Duration: time.Second, LoadCommand: []string{exe}})
	if res.SIPSent == 0 || res.Baseline.Received == 0 {
		t.Errorf("Parley's SIP side sent %d packets, the baseline received %d frames", res.SIPSent, res.Baseline.Received)
	}
}

func run(t *testing.T, cfg Config) *Result {
	calls := cfg.Calls
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+2*cfg.Duration)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.Report(&b)
	t.Log("\n" + b.String())
	if err := res.Met(); err != nil {
		t.Logf("goals not met (on this machine, now): %v", err)
	}
	if res.Calls != calls {
		t.Errorf("%d calls", res.Calls)
	}
	for name, d := range map[string]Direction{"to the operator": res.ToOperator, "to the callee": res.ToCallee} {
		if d.Sent == 0 || d.Received == 0 || d.P50 <= 0 {
			t.Errorf("%s: %+v", name, d)
		}
	}
	if res.FirstAudioToOperatorP99 <= 0 || res.FirstAudioToCalleeP99 <= 0 {
		t.Errorf("first audio %v %v", res.FirstAudioToOperatorP99, res.FirstAudioToCalleeP99)
	}
	return res
}
