package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-cc/parley"
)

// ErrNoRows is what Row.Scan returns when the query found nothing. It is
// sql.ErrNoRows itself, so domain packages can test for it without
// importing database/sql.
var ErrNoRows = sql.ErrNoRows

// Scanner is one result row: *sql.Rows while collecting, *Row for one.
type Scanner interface {
	Scan(dest ...any) error
}

// Collect runs query and returns every row scanned by scan, closing the rows
// and reporting the iteration's error: the loop every list query writes.
func Collect[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, q.db.mapError(err)
		}
		out = append(out, v)
	}
	return out, q.db.mapError(rows.Err())
}

// Each runs query and hands every row to fn as it is read, for answers too
// large to hold in memory (streamed to a client); it stops at fn's first
// error and returns it.
func Each(ctx context.Context, q Querier, fn func(Scanner) error, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return q.db.mapError(err)
		}
	}
	return q.db.mapError(rows.Err())
}

// Int64s runs a query of one integer column and returns its values.
func Int64s(ctx context.Context, q Querier, query string, args ...any) ([]int64, error) {
	return Collect(ctx, q, func(s Scanner) (v int64, err error) {
		err = s.Scan(&v)
		return v, err
	}, query, args...)
}

// ScanFound is Scan for an object the caller asked for by its id: a missing
// row is the domain's "<what> not found." (ENOTFOUND) instead of ErrNoRows.
func (r *Row) ScanFound(what string, dest ...any) error {
	err := r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound(what)
	}
	return err
}

// Lock strengths for LockRows, weakest first. NoKeyUpdate is the lock an
// UPDATE of non-key columns takes: it does not block the foreign-key checks
// (FOR KEY SHARE) of rows that refer to the locked one; Update does.
type Lock string

const (
	LockNoKeyUpdate Lock = "FOR NO KEY UPDATE"
	LockUpdate      Lock = "FOR UPDATE"
)

// LockRows takes the row locks of table's rows matching where (a condition
// with "?" placeholders), held until the write transaction ends. Concurrent
// transactions that lock the same rows queue here instead of racing or
// deadlocking later. On SQLite the write transaction already holds the
// whole database, so this does nothing.
func (q Querier) LockRows(ctx context.Context, lock Lock, table, where string, args ...any) error {
	if q.db.Dialect != Postgres {
		return nil
	}
	_, err := q.Exec(ctx, "SELECT 1 FROM "+table+" WHERE "+where+" "+string(lock), args...)
	return err
}

// Locking returns query with a row-locking clause appended ("FOR UPDATE OF
// t", say) where the engine has row locks, and query unchanged on SQLite,
// whose write transactions hold the whole database.
func (q Querier) Locking(query, clause string) string {
	if q.db.Dialect != Postgres {
		return query
	}
	return query + " " + clause
}

// ErrNotFound is a not-found domain error: "<what> not found.".
func ErrNotFound(what string) error {
	return parley.Errorf(parley.ENOTFOUND, "%s not found.", what)
}
