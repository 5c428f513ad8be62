// Package store opens the database, runs migrations, and hides the few
// differences between SQLite and PostgreSQL behind one small API. Domain
// packages write their own SQL with "?" placeholders in a portable subset.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database. SQLite allows one writer at a time, so it gets a
// single-connection write pool (writers queue in Go instead of spinning on
// SQLITE_BUSY) and a wider read pool; PostgreSQL uses one pool for both.
// Statements are prepared once per connection and reused: SQLite's
// connections keep a bounded cache of them, inside transactions and out
// (stmtcache.go); pgx keeps its own per connection.
type DB struct {
	Dialect Dialect
	write   *sql.DB
	read    *sql.DB

	rebindMu sync.RWMutex
	rebound  map[string]string

	// gate orders SQLite's writers (interactive before bulk); PostgreSQL
	// writers run side by side and need none.
	gate *writeGate
}

// Open opens the database named by dsn: "sqlite:///abs/path.db",
// "sqlite://rel/path.db", or "postgres://..." / "postgresql://...".
func Open(ctx context.Context, dsn string) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"))
	default:
		return nil, fmt.Errorf("store: unsupported DSN %q: want sqlite:///path or postgres://", redact(dsn))
	}
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	pool.SetMaxOpenConns(32)
	pool.SetMaxIdleConns(32)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to postgres %s: %w", redact(dsn), err)
	}
	return &DB{Dialect: Postgres, write: pool, read: pool, rebound: map[string]string{}}, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: sqlite DSN names no file")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	dsn := func(readOnly bool) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(ON)")
		if readOnly {
			q.Add("_pragma", "query_only(ON)")
		} else {
			// Write transactions take the lock at BEGIN, so two writers
			// never both read and then deadlock upgrading to a write lock.
			q.Set("_txlock", "immediate")
		}
		return "file:" + path + "?" + q.Encode()
	}

	writeConn, err := newCachingConnector(dsn(false))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	write := sql.OpenDB(writeConn)
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	readConn, err := newCachingConnector(dsn(true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	read := sql.OpenDB(readConn)
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	return &DB{Dialect: SQLite, write: write, read: read, rebound: map[string]string{}, gate: &writeGate{}}, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database answers; /readyz uses it.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Querier runs portable SQL ("?" placeholders) on a pool or a transaction.
type Querier struct {
	db   *DB
	pool *sql.DB
	tx   *sql.Tx // nil outside a transaction
}

// sqlRunner is what *sql.DB and *sql.Tx share.
type sqlRunner interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (q Querier) runner() sqlRunner {
	if q.tx != nil {
		return q.tx
	}
	return q.pool
}

// Exec runs a statement and maps driver errors to domain errors.
func (q Querier) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := q.runner().ExecContext(ctx, q.db.rebind(query), args...)
	return res, q.db.mapError(err)
}

// Query runs a query; the caller closes the rows.
func (q Querier) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.runner().QueryContext(ctx, q.db.rebind(query), args...)
	return rows, q.db.mapError(err)
}

// QueryRow runs a query expected to return at most one row.
func (q Querier) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: q.runner().QueryRowContext(ctx, q.db.rebind(query), args...), db: q.db}
}

// Row wraps sql.Row so that Scan maps driver errors too.
type Row struct {
	row *sql.Row
	db  *DB
}

// Scan copies the row's columns; sql.ErrNoRows is passed through unchanged.
func (r *Row) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return r.db.mapError(err)
}

// Reader returns a querier on the read pool, for statements outside a
// transaction that only read.
func (db *DB) Reader() Querier { return Querier{db: db, pool: db.read} }

// SingleWriter tells whether the database's writers take turns (SQLite's
// one write lock), so that a long transaction makes every other writer
// wait; PostgreSQL's writers run side by side.
func (db *DB) SingleWriter() bool { return db.Dialect == SQLite }

// Write runs fn in a write transaction and commits it if fn returns nil.
// On SQLite it goes before bulk writes that wait (see WriteBulk).
func (db *DB) Write(ctx context.Context, fn func(Querier) error) error {
	return db.writeTx(ctx, false, fn)
}

// WriteBulk is Write for one chunk of a long job (an import's batch): on
// SQLite, whose writers take turns, it yields to every interactive Write
// waiting, so the job's chunks queue behind other tenants' writes instead
// of ahead of them. Keep each chunk small: an interactive write may still
// wait for the one chunk in progress. On PostgreSQL it is Write.
func (db *DB) WriteBulk(ctx context.Context, fn func(Querier) error) error {
	return db.writeTx(ctx, true, fn)
}

func (db *DB) writeTx(ctx context.Context, bulk bool, fn func(Querier) error) error {
	if db.gate != nil {
		if err := db.gate.acquire(ctx, bulk); err != nil {
			return db.mapError(fmt.Errorf("store: begin: %w", err))
		}
		defer db.gate.release()
	}
	return db.inTx(ctx, db.write, nil, fn)
}

// Read runs fn in a read-only transaction, for reads that must see one
// consistent snapshot across several statements.
func (db *DB) Read(ctx context.Context, fn func(Querier) error) error {
	return db.inTx(ctx, db.read, &sql.TxOptions{ReadOnly: db.Dialect == Postgres}, fn)
}

func (db *DB) inTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(Querier) error) (err error) {
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return db.mapError(fmt.Errorf("store: begin: %w", err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(Querier{db: db, pool: pool, tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.mapError(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// rebind turns "?" placeholders into "$1", "$2"... for PostgreSQL. Queries
// never hold a literal "?", so a plain scan is enough; results are cached
// because the same few hundred statements run over and over.
func (db *DB) rebind(query string) string {
	if db.Dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	db.rebindMu.RLock()
	out, ok := db.rebound[query]
	db.rebindMu.RUnlock()
	if ok {
		return out
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	out = b.String()
	db.rebindMu.Lock()
	db.rebound[query] = out
	db.rebindMu.Unlock()
	return out
}

// redact hides the password of a DSN so it can be logged.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
