package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBenchExtRuns checks the bench machinery end to end on SQLite: it
// completes, sends requests on every phase and sees no errors. It asserts no
// timings: they mean nothing on a shared test machine.
func TestBenchExtRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"ext", "--duration", "200ms", "--warmup", "50ms", "--connections", "2", "--rate", "50", "--rounds", "2", "--json"}
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not one JSON report: %v\n%s", err, &out)
	}
	if rep.Dialect != "sqlite" || !strings.HasPrefix(rep.Command, "parley-bench ext ") {
		t.Errorf("dialect %q, command %q", rep.Dialect, rep.Command)
	}
	if len(rep.Baseline) != 2 || len(rep.Target) != 2 {
		t.Fatalf("got %d baseline and %d target rounds, want 2 and 2", len(rep.Baseline), len(rep.Target))
	}
	for i, p := range append(rep.Baseline, rep.Target...) {
		if p.Requests == 0 || p.Errors != 0 {
			t.Errorf("throughput phase %d: %d requests, %d errors (%s)", i, p.Requests, p.Errors, p.FirstError)
		}
	}
	if f := rep.FixedRate; f.Sent == 0 || f.OK != f.Sent || f.Errors != 0 {
		t.Errorf("fixed-rate phase: sent %d, ok %d, errors %d (%s)", f.Sent, f.OK, f.Errors, f.FirstError)
	}
	if rep.Machine.NumCPU == 0 || rep.Machine.GoVersion == "" {
		t.Errorf("machine facts missing: %+v", rep.Machine)
	}
}

// TestBenchExtTable checks that the human-readable report prints both
// tables.
func TestBenchExtTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"ext", "--duration", "100ms", "--warmup", "0s", "--connections", "1", "--rate", "20", "--rounds", "1"}
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s", err, &errOut)
	}
	for _, want := range []string{"Max throughput", "median", "Fixed rate", "p99", "machine:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, &out)
		}
	}
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"other"},
		{"ext", "--connections", "0"},
		{"ext", "--duration", "0s"},
		{"ext", "extra"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("bench %q: no error", args)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond,
		0.999: 999 * time.Millisecond, 1: time.Second} {
		if got := percentile(d, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}
