package outbound

import (
	"testing"
	"time"
)

func TestBatchSizer(t *testing.T) {
	const budget = 10 * time.Millisecond
	type took struct {
		rows int
		d    time.Duration
	}
	for _, tc := range []struct {
		name  string
		timed bool
		took  []took
		want  int
	}{
		{"untimed (PostgreSQL) is always the maximum", false, []took{{500, time.Second}}, 500},
		{"the first batch is small", true, nil, 4 * minBatch},
		{"cheap rows: the maximum", true, []took{{64, time.Millisecond}}, 500},
		{"100 µs a row: 100 rows", true, []took{{64, 6400 * time.Microsecond}}, 100},
		{"a slow batch shrinks the next at once", true, []took{{100, 10 * time.Millisecond}, {100, 50 * time.Millisecond}}, 20},
		{"never below the minimum", true, []took{{16, time.Second}}, minBatch},
		{"recovers gradually", true, []took{{100, 50 * time.Millisecond}, {20, 2 * time.Millisecond}}, 23}, // 0.8*500µs + 0.2*100µs = 420µs a row: 10ms/420µs = 23.8
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBatchSizer(500, budget, tc.timed)
			for _, x := range tc.took {
				b.took(x.rows, x.d)
			}
			if got := b.next(); got != tc.want {
				t.Errorf("next() = %d, want %d", got, tc.want)
			}
		})
	}
}
