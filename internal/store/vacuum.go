package store

import (
	"context"
	"fmt"
)

// VacuumAnalyze does on PostgreSQL what autovacuum does by itself soon
// after a large load on a server where it is on (the default): VACUUM
// (hint bits, visibility map) and ANALYZE (the planner's statistics). A
// benchmark that loads a table and searches it at once calls it, or it
// measures a state no running server stays in: on the test server, whose
// autovacuum is off, a 1,000,000-message table searched straight after
// its load had no statistics, and the planner, guessing that every word
// pair is rare, took full GIN scans and hash joins over every chat
// (docs/benchmarks.md, "Message search"). SQLite keeps no statistics
// unless asked, and a Parley database never asks, so there it does
// nothing: a benchmark measures what a server has.
func (db *DB) VacuumAnalyze(ctx context.Context) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
		return db.mapError(fmt.Errorf("store: vacuum analyze: %w", err))
	}
	return nil
}

// Autovacuum says whether the server keeps the planner's statistics up to
// date by itself: PostgreSQL's autovacuum setting (on by default); always
// true on SQLite, whose plans need none. With it off, full-text search and
// reports slow down by an order of magnitude as tables grow (the planner
// takes every word pair for a rare one), so the server warns at start.
func (db *DB) Autovacuum(ctx context.Context) (bool, error) {
	if db.Dialect != Postgres {
		return true, nil
	}
	var v string
	if err := db.read.QueryRowContext(ctx, `SHOW autovacuum`).Scan(&v); err != nil {
		return false, db.mapError(fmt.Errorf("store: show autovacuum: %w", err))
	}
	return v == "on", nil
}
