package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func openSQLiteTest(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Write(ctx, func(q Querier) error {
		_, err := q.Exec(ctx, `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

// cacheOf runs fn on the cache of one connection of pool (the write pool
// has only one).
func cacheOf(t *testing.T, pool *sql.DB, fn func(c *cachingConn)) {
	t.Helper()
	conn, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("connection is a %T", dc)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		fn(c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestStatementsCachedInsideTransactions(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	const ins = `INSERT INTO items (name) VALUES (?)`
	const sel = `SELECT name FROM items WHERE id = ?`
	for i := range 3 {
		if err := db.Write(ctx, func(q Querier) error {
			if _, err := q.Exec(ctx, ins, fmt.Sprint("n", i)); err != nil {
				return err
			}
			var name string
			if err := q.QueryRow(ctx, sel, i+1).Scan(&name); err != nil || name != fmt.Sprint("n", i) {
				return fmt.Errorf("read back %q, %v", name, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var first *cachedStmt
	cacheOf(t, db.write, func(c *cachingConn) {
		for _, q := range []string{ins, sel} {
			s := c.stmts[q]
			if s == nil || s.busy {
				t.Errorf("%q: cached %v", q, s)
			}
		}
		first = c.stmts[sel]
		if _, ok := c.stmts[`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`]; ok {
			t.Error("DDL was cached")
		}
	})
	// The same statement again: the same prepared handle, not a new one.
	if err := db.Write(ctx, func(q Querier) error {
		var name string
		return q.QueryRow(ctx, sel, 1).Scan(&name)
	}); err != nil {
		t.Fatal(err)
	}
	cacheOf(t, db.write, func(c *cachingConn) {
		if c.stmts[sel] != first {
			t.Error("statement prepared again")
		}
	})
	// Read transactions cache on the read pool's connections.
	if err := db.Read(ctx, func(q Querier) error {
		var name string
		return q.QueryRow(ctx, sel, 2).Scan(&name)
	}); err != nil {
		t.Fatal(err)
	}
	found := false
	for range 8 { // some read connection holds it
		cacheOf(t, db.read, func(c *cachingConn) { found = found || c.stmts[sel] != nil })
	}
	if !found {
		t.Error("read transaction's statement not cached")
	}
}

// A transaction may run a statement again while rows of the same text are
// still open on its connection: the second use must not reset the first.
func TestNestedUseOfOneStatement(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	const all = `SELECT id, name FROM items ORDER BY id` // no parameters: a reset would silently restart it
	const one = `SELECT name FROM items WHERE id = ?`
	err := db.Write(ctx, func(q Querier) error {
		for i := range 5 {
			if _, err := q.Exec(ctx, `INSERT INTO items (name) VALUES (?)`, fmt.Sprint("n", i)); err != nil {
				return err
			}
		}
		var seen []string
		for pass := range 2 { // the second pass runs on the cached statement
			seen = seen[:0]
			rows, err := q.Query(ctx, all)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var name string
				if err := rows.Scan(&id, &name); err != nil {
					return err
				}
				// The same text while the outer rows are open.
				inner, err := q.Query(ctx, all)
				if err != nil {
					return err
				}
				n := 0
				for inner.Next() {
					n++
				}
				if err := errors.Join(inner.Err(), inner.Close()); err != nil || n != 5 {
					return fmt.Errorf("pass %d: inner query saw %d rows, %v", pass, n, err)
				}
				var again string
				if err := q.QueryRow(ctx, one, id).Scan(&again); err != nil || again != name {
					return fmt.Errorf("pass %d: row %d read back %q, %v", pass, id, again, err)
				}
				seen = append(seen, name)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
			if strings.Join(seen, ",") != "n0,n1,n2,n3,n4" {
				return fmt.Errorf("pass %d: outer query saw %v", pass, seen)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cacheOf(t, db.write, func(c *cachingConn) {
		for q, s := range c.stmts {
			if s.busy {
				t.Errorf("%q still lent out", q)
			}
		}
	})
}

func TestStatementCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	query := func(i int) string { return fmt.Sprintf("SELECT COUNT(*) FROM items WHERE id > %d", i) }
	const n = stmtCacheSize + 50
	err := db.Write(ctx, func(q Querier) error {
		for i := range n {
			var c int
			if err := q.QueryRow(ctx, query(i)).Scan(&c); err != nil {
				return err
			}
		}
		// A long generated statement is run but not kept.
		long := "SELECT 1 WHERE 1 IN (" + strings.Repeat("1, ", stmtCacheMaxLen/3) + "1)"
		var one int
		return q.QueryRow(ctx, long).Scan(&one)
	})
	if err != nil {
		t.Fatal(err)
	}
	cacheOf(t, db.write, func(c *cachingConn) {
		if len(c.stmts) > stmtCacheSize {
			t.Errorf("%d statements cached, bound %d", len(c.stmts), stmtCacheSize)
		}
		if c.stmts[query(0)] != nil || c.stmts[query(n-1)] == nil {
			t.Error("not the least recently used statement evicted")
		}
		listed := 0
		for s := c.lru.next; s != &c.lru; s = s.next {
			listed++
		}
		if listed != len(c.stmts) {
			t.Errorf("recency list holds %d statements, map %d", listed, len(c.stmts))
		}
		for q := range c.stmts {
			if len(q) > stmtCacheMaxLen {
				t.Error("long statement cached")
			}
		}
	})
}

// Errors of a cached statement are the driver's, mapped as before, and the
// statement stays usable after them.
func TestCachedStatementErrors(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	const ins = `INSERT INTO items (name) VALUES (?)`
	insert := func(name string) error {
		return db.Write(ctx, func(q Querier) error {
			_, err := q.Exec(ctx, ins, name)
			return err
		})
	}
	if err := insert("a"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := insert("a"); !errors.Is(err, ErrUnique) {
			t.Fatalf("duplicate: %v, want ErrUnique", err)
		}
	}
	if err := insert("b"); err != nil {
		t.Fatalf("after a constraint error: %v", err)
	}
	// A cancelled context fails the statement, which is reusable after.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Reader().Query(cancelled, `SELECT name FROM items`); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled query: %v", err)
	}
	var n int
	if err := db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM items`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count %d, %v", n, err)
	}
	// A statement that does not compile reports the driver's error.
	if _, err := db.Reader().Query(ctx, `SELECT nope FROM items`); err == nil || !strings.Contains(err.Error(), "no such column") {
		t.Fatalf("bad column: %v", err)
	}
	// A no-rows read on a cached statement.
	for range 2 {
		var name string
		if err := db.Reader().QueryRow(ctx, `SELECT name FROM items WHERE id = ?`, 99).Scan(&name); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("missing row: %v", err)
		}
	}
}
