package webhook

import (
	"testing"
	"time"
)

// An idle node's sweep backs off to twelve times the base and snaps back
// to the base when an event is seen.
func TestNextSweepInterval(t *testing.T) {
	base := 5 * time.Second
	every := base
	var got []time.Duration
	for range 6 {
		every = nextSweepInterval(every, base, false)
		got = append(got, every)
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 60 * time.Second, 60 * time.Second, 60 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("idle intervals %v, want %v", got, want)
		}
	}
	if every = nextSweepInterval(every, base, true); every != base {
		t.Errorf("after an event: %v, want %v", every, base)
	}
}
