package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestBenchBridgeRuns runs `parley-bench bridge` tiny (two steps of 2 and
// 3 calls, 1 s each, and 2 accepts over HTTP through the whole server)
// so that it cannot rot: every step is reported, frames crossed the
// bridge both ways, and both accepted calls had audio both ways. It
// asserts no timings.
func TestBenchBridgeRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"bridge", "--calls", "2,3", "--duration", "1s", "--accepts", "2", "--baseline", "2", "--http-accepts", "2", "--all", "--json"}
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("bench %v: %v\nstderr:\n%s", args, err, &errOut)
	}
	var rep bridgeReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not one JSON report: %v\n%s", err, &out)
	}
	if len(rep.Steps) != 2 || rep.Steps[0].Calls != 2 || rep.Steps[1].Calls != 3 {
		t.Fatalf("steps: %+v", rep.Steps)
	}
	for _, s := range rep.Steps {
		if s.ToOperator.Received == 0 || s.ToCallee.Received == 0 || s.Baseline.Received == 0 || s.FirstAudioToCalleeP99Ms <= 0 {
			t.Errorf("step of %d calls lacks audio: %+v", s.Calls, s)
		}
	}
	if a := rep.AcceptHTTP; a == nil || a.Calls != 2 || a.FirstAudioToOperatorP99Ms <= 0 || a.FirstAudioToCalleeP99Ms <= 0 || a.AcceptHTTPP99Ms <= 0 {
		t.Errorf("accept over HTTP: %+v", a)
	}
	if err := run(ctx, []string{"bridge", "--calls", "0"}, &out, &errOut); err == nil {
		t.Error("--calls 0 accepted")
	}
}
