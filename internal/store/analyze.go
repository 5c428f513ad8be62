package store

import (
	"context"
	"fmt"
)

// Analyze brings PostgreSQL's planner statistics up to date after a bulk
// load (parley-bench), which autovacuum does by itself about a minute after
// a large change on a server where it is on (the default). Without them the
// planner guesses: a fresh 1,000,000-message table searched before any
// ANALYZE chose hash joins over every chat and full GIN scans, p99 about
// 200 ms instead of 20 (docs/benchmarks.md, "Message search"). SQLite
// keeps no statistics unless asked, and a Parley database never asks, so
// there Analyze does nothing: a benchmark measures what a server has.
func (db *DB) Analyze(ctx context.Context) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `ANALYZE`); err != nil {
		return db.mapError(fmt.Errorf("store: analyze: %w", err))
	}
	return nil
}
