package outbound

import (
	"testing"
	"time"
)

// The rest after a batch keeps work/(work+rest) at the configured share.
func TestRestForKeepsCPUShare(t *testing.T) {
	for _, tc := range []struct {
		share float64
		work  time.Duration
		want  time.Duration
	}{
		{1, 10 * time.Millisecond, 0},
		{0, 10 * time.Millisecond, 0}, // unset: defaults() puts the default in
		{0.5, 10 * time.Millisecond, 10 * time.Millisecond},
		{0.25, 10 * time.Millisecond, 30 * time.Millisecond},
		{0.8, 40 * time.Millisecond, 10 * time.Millisecond},
	} {
		if got := restFor(tc.share, tc.work); got != tc.want {
			t.Errorf("restFor(%v, %v) = %v, want %v", tc.share, tc.work, got, tc.want)
		}
	}
}
