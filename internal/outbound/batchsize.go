package outbound

import "time"

// minBatch is the fewest rows an import batch holds: below it the
// per-transaction cost (progress update, commit) dominates and the import
// crawls without making other writers wait noticeably less.
const minBatch = 16

// batchSizer picks the row count of an import's next batch. On SQLite one
// writer holds the database at a time, so a batch is sized to take about
// budget: it learns the cost of a row from the batches before it (a moving
// average, since the cost grows with the table's indexes and varies with
// the machine's load) and starts small, because the first batch's cost is
// unknown. Elsewhere every batch has max rows.
type batchSizer struct {
	max    int
	budget time.Duration
	timed  bool
	perRow float64 // nanoseconds, moving average; 0 until measured
}

func newBatchSizer(max int, budget time.Duration, timed bool) *batchSizer {
	return &batchSizer{max: max, budget: budget, timed: timed}
}

func (b *batchSizer) next() int {
	if !b.timed {
		return b.max
	}
	if b.perRow <= 0 {
		return min(b.max, 4*minBatch)
	}
	n := int(float64(b.budget) / b.perRow)
	return max(minBatch, min(b.max, n))
}

// took records that a batch of rows held the writer for d.
func (b *batchSizer) took(rows int, d time.Duration) {
	if rows <= 0 || d <= 0 {
		return
	}
	cost := float64(d) / float64(rows)
	if b.perRow <= 0 {
		b.perRow = cost
		return
	}
	// A batch that ran long (a checkpoint, a busy CPU) shrinks the next
	// one at once; cheaper batches grow it back gradually.
	if cost > b.perRow {
		b.perRow = cost
		return
	}
	b.perRow = 0.8*b.perRow + 0.2*cost
}
