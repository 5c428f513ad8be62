package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBenchChatRuns runs `parley-bench chat` tiny, closed and open loop,
// so that it cannot rot. It asserts no timings.
func TestBenchChatRuns(t *testing.T) {
	for _, rate := range []string{"0", "200"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var out, errOut bytes.Buffer
		args := []string{"chat", "--chats", "3", "--posters", "2", "--duration", "300ms", "--warmup", "100ms",
			"--raw-duration", "100ms", "--rate", rate, "--json"}
		err := run(ctx, args, &out, &errOut)
		cancel()
		if err != nil {
			t.Fatalf("bench %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, &out, &errOut)
		}
		var rep chatBenchReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("output is not one JSON report: %v\n%s", err, &out)
		}
		if rep.Acked == 0 || rep.Delivered != rep.Acked || rep.Missing != 0 || rep.Duplicates != 0 || rep.Errors != 0 {
			t.Fatalf("rate %s: acked %d, delivered %d, missing %d, duplicates %d, errors %d (%s)",
				rate, rep.Acked, rep.Delivered, rep.Missing, rep.Duplicates, rep.Errors, rep.FirstError)
		}
		if rep.ServiceRate <= 0 || rep.DeliverMax <= 0 || rep.Machine.NumCPU == 0 {
			t.Fatalf("report lacks numbers: %+v", rep)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"chat", "--chats", "1", "--posters", "1", "--duration", "100ms",
		"--warmup", "0s", "--raw-duration", "50ms"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"baseline: chat service PostMessage", "create-to-WebSocket p50", "goal >= 2000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, &out)
		}
	}
	for _, args := range [][]string{{"chat", "--chats", "0"}, {"chat", "--duration", "0s"}, {"chat", "x"}, {"ws-idle", "--conns", "0"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("bench %q: no error", args)
		}
	}
}

// TestBenchWSIdleRuns runs `parley-bench ws-idle` with a few connections
// against a real `parley serve` child.
func TestBenchWSIdleRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"ws-idle", "--conns", "20", "--chats", "4", "--hold", "200ms", "--bin", buildParley(t), "--json"}
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	var rep wsIdleReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not one JSON report: %v\n%s", err, &out)
	}
	if rep.Opened != 20 || rep.RSSBefore <= 0 || rep.RSSAfter <= 0 || rep.BroadcastWant != 5 || rep.Broadcast != 5 {
		t.Fatalf("report %+v", rep)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildParley builds the parley binary (cmd/parley) once per test run.
func buildParley(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", binPath, "../parley").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
