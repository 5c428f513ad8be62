package main

import (
	"os"
	"testing"

	"github.com/parley-cc/parley/internal/voice/bridgebench"
)

func TestMain(m *testing.M) {
	bridgebench.ServeLoadIfChild() // TestBenchBridgeRuns runs its load side as this test binary again
	os.Exit(m.Run())
}
