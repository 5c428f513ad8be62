package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// SQLite statements are prepared once per connection and reused, inside
// transactions as well as outside: modernc.org/sqlite keeps no cache of its
// own, so without one every statement was parsed and planned again (a
// quarter of the CPU of a chat message post, half of a simple read).
//
// The cache lives in the driver connection rather than in database/sql
// *sql.Stmt values because a pool statement can only be prepared with a
// connection in hand: from inside a transaction on the one-connection
// write pool that connection is the transaction's own, and preparing on
// the pool would wait for it forever. Below database/sql every statement,
// in a transaction or not, reaches the connection it runs on through
// PrepareContext (the wrapper implements neither ExecerContext nor
// QueryerContext), and database/sql closes that statement when the
// statement's Exec returns or its Rows are closed. Close checks the
// statement back into the cache.
//
// A cached statement is lent to one use at a time: while it is checked out
// (rows of it still open on this connection, which a transaction may run
// other statements beside) the same text gets a one-off statement instead
// of the shared SQLite handle, whose reset would cut the open rows short.

const (
	// stmtCacheSize bounds the statements kept per connection; the least
	// recently used idle one is finalized to make room. Queries built with
	// varying clauses (list filters, IN lists) take a slot per variant.
	stmtCacheSize = 256
	// stmtCacheMaxLen keeps long generated statements (multi-row INSERTs
	// of batches) out of the cache: their text, and their compiled
	// program, grow with the batch, and their parse is spread over many
	// rows anyway.
	stmtCacheMaxLen = 4 << 10
)

// cachingConnector opens modernc connections wrapped in a statement cache.
type cachingConnector struct{ driver.Connector }

func newCachingConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{base}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	ci, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := ci.(sqliteConn)
	if !ok {
		_ = ci.Close()
		return nil, errors.New("store: the sqlite driver's connection lacks an expected interface")
	}
	return &cachingConn{inner: inner, stmts: map[string]*cachedStmt{}}, nil
}

// sqliteConn is what the wrapper forwards to modernc's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is a modernc connection with a bounded LRU cache of prepared
// statements keyed by SQL text. database/sql serialises the calls on one
// connection; mu makes that independent of its locking.
type cachingConn struct {
	inner sqliteConn

	mu     sync.Mutex
	stmts  map[string]*cachedStmt
	lru    cachedStmt // sentinel of the recency list: lru.next is the newest
	closed bool
}

// cachedStmt is a prepared statement owned by its connection's cache.
type cachedStmt struct {
	conn       *cachingConn
	query      string
	si         sqliteStmt
	busy       bool // lent out: database/sql has not closed it yet
	prev, next *cachedStmt
}

// sqliteStmt is what modernc's statements implement.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

var (
	_ sqliteConn = (*cachingConn)(nil)
	_ sqliteStmt = (*cachedStmt)(nil)
)

// cacheable says which statements are worth a slot: single DML or query
// statements of bounded length, not DDL (migrations) or generated batches.
func cacheable(query string) bool {
	if len(query) > stmtCacheMaxLen {
		return false
	}
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return len(q) >= 4 && strings.EqualFold(q[:4], "WITH")
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if !cacheable(query) {
		return c.inner.PrepareContext(ctx, query)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, driver.ErrBadConn
	}
	if s := c.stmts[query]; s != nil {
		if s.busy {
			// Its rows are still open on this connection: run this use on a
			// statement of its own, finalized when database/sql closes it.
			return c.inner.PrepareContext(ctx, query)
		}
		s.busy = true
		c.unlink(s)
		c.pushFront(s)
		return s, nil
	}
	di, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	si, ok := di.(sqliteStmt)
	if !ok {
		return di, nil
	}
	if len(c.stmts) >= stmtCacheSize && !c.evictLocked() {
		return di, nil // every slot is lent out: do not cache this one
	}
	s := &cachedStmt{conn: c, query: query, si: si, busy: true}
	c.stmts[query] = s
	c.pushFront(s)
	return s, nil
}

// evictLocked finalizes the least recently used idle statement.
func (c *cachingConn) evictLocked() bool {
	for s := c.lru.prev; s != nil && s != &c.lru; s = s.prev {
		if !s.busy {
			c.unlink(s)
			delete(c.stmts, s.query)
			_ = s.si.Close()
			return true
		}
	}
	return false
}

func (c *cachingConn) pushFront(s *cachedStmt) {
	if c.lru.next == nil {
		c.lru.next, c.lru.prev = &c.lru, &c.lru
	}
	s.prev, s.next = &c.lru, c.lru.next
	c.lru.next.prev = s
	c.lru.next = s
}

func (c *cachingConn) unlink(s *cachedStmt) {
	if s.prev != nil {
		s.prev.next = s.next
		s.next.prev = s.prev
		s.prev, s.next = nil, nil
	}
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	c.closed = true
	stmts := c.stmts
	c.stmts, c.lru = nil, cachedStmt{}
	c.mu.Unlock()
	var errs []error
	for _, s := range stmts {
		if err := s.si.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, c.inner.Close())...)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.inner.Begin()
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.inner.Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.inner.IsValid() }

// Close returns the statement to its connection's cache; SQLite already
// reset it when its Exec finished or its rows were closed.
func (s *cachedStmt) Close() error {
	c := s.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.stmts[s.query] != s {
		return nil // finalized with the connection
	}
	s.busy = false
	return nil
}

func (s *cachedStmt) NumInput() int { return s.si.NumInput() }

func (s *cachedStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.si.Exec(args)
}

func (s *cachedStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.si.Query(args)
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.si.ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.si.QueryContext(ctx, args)
}
