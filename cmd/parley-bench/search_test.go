package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestBenchSearchOperator runs the search bench on SQLite with an operator
// who sees a tenth of the chats: both searches complete, and the operator
// finds fewer messages than the admin who sees them all (a scope that
// leaked would find as many). No timings are asserted.
func TestBenchSearchOperator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"search", "--messages", "2000", "--per-chat", "20", "--queries", "50", "--loaders", "1", "--operator-share", "0.1"}
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	hits := map[string]float64{}
	for _, m := range regexp.MustCompile(`search as (admin|operator)[^:]*: \d+ two-word queries.*; ([0-9.]+) hits per query`).FindAllStringSubmatch(out.String(), -1) {
		hits[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	admin, aok := hits["admin"]
	op, ook := hits["operator"]
	if !aok || !ook {
		t.Fatalf("no admin and operator lines in:\n%s", &out)
	}
	if admin == 0 || op >= admin {
		t.Errorf("hits per query: admin %.1f, operator %.1f; want the operator below the admin", admin, op)
	}
}
