package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

func mustOpen(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrateConcurrentlyAndIdempotently(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		// Several nodes starting at once on one database: exactly one
		// applies the migrations, the others find them done.
		const nodes = 4
		dbs := make([]*store.DB, nodes)
		for i := range dbs {
			dbs[i] = mustOpen(t, dsn)
		}
		applied := make([][]string, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Add(1)
			go func() { defer wg.Done(); applied[i], errs[i] = dbs[i].Migrate(ctx) }()
		}
		wg.Wait()
		total := 0
		for i := range dbs {
			if errs[i] != nil {
				t.Fatalf("node %d: %v", i, errs[i])
			}
			total += len(applied[i])
		}
		if total == 0 {
			t.Fatal("no node applied the migrations")
		}
		if again, err := dbs[0].Migrate(ctx); err != nil || len(again) != 0 {
			t.Fatalf("second migrate: %v %v", again, err)
		}
		var n int
		if err := dbs[0].Reader().QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != total {
			t.Fatalf("schema_migrations has %d rows (err %v), want %d", n, err, total)
		}
	})
}

func TestConstraintErrorsMapToDomain(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		insert := func(uuid string, companyID int64) error {
			return db.Write(ctx, func(q store.Querier) error {
				_, err := q.Exec(ctx, `INSERT INTO agents (uuid, company_id, name, created_at, updated_at) VALUES (?, ?, 'a', 0, 0)`, uuid, companyID)
				return err
			})
		}
		if err := db.Write(ctx, func(q store.Querier) error {
			_, err := q.Exec(ctx, `INSERT INTO companies (uuid, name, secret, created_at) VALUES ('c1', 'c', 's', 0)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var cid int64
		if err := db.Reader().QueryRow(ctx, `SELECT id FROM companies WHERE uuid = ?`, "c1").Scan(&cid); err != nil {
			t.Fatal(err)
		}
		if err := insert("a1", cid); err != nil {
			t.Fatal(err)
		}
		if err := insert("a1", cid); !errors.Is(err, store.ErrUnique) || parley.ErrorCode(err) != parley.ECONFLICT {
			t.Fatalf("duplicate uuid: %v, want ErrUnique", err)
		}
		if err := insert("a2", cid+1000); !errors.Is(err, store.ErrForeignKey) {
			t.Fatalf("missing company: %v, want ErrForeignKey", err)
		}
		// A failed transaction leaves nothing behind.
		boom := errors.New("boom")
		err := db.Write(ctx, func(q store.Querier) error {
			if _, err := q.Exec(ctx, `INSERT INTO agents (uuid, company_id, name, created_at, updated_at) VALUES (?, ?, 'a', 0, 0)`, "a3", cid); err != nil {
				return err
			}
			return boom
		})
		var n int
		if !errors.Is(err, boom) || db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM agents WHERE uuid = ?`, "a3").Scan(&n) != nil || n != 0 {
			t.Fatalf("rolled-back insert: err %v, rows %d", err, n)
		}
	})
}

func TestUnsupportedDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "", "sqlite://"} {
		if _, err := store.Open(context.Background(), dsn); err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}
