package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

func TestRowHelpers(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		if err := db.Write(ctx, func(q store.Querier) error {
			if _, err := q.Exec(ctx, `CREATE TABLE helper_rows (id BIGINT PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
				return err
			}
			_, err := q.Exec(ctx, `INSERT INTO helper_rows (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		type row struct {
			id   int64
			name string
		}
		got, err := store.Collect(ctx, db.Reader(), func(s store.Scanner) (r row, err error) {
			err = s.Scan(&r.id, &r.name)
			return r, err
		}, `SELECT id, name FROM helper_rows WHERE id > ? ORDER BY id`, 1)
		if err != nil || len(got) != 2 || got[0] != (row{2, "b"}) || got[1] != (row{3, "c"}) {
			t.Fatalf("Collect = %v, %v", got, err)
		}
		ids, err := store.Int64s(ctx, db.Reader(), `SELECT id FROM helper_rows WHERE id > ? ORDER BY id`, 5)
		if err != nil || len(ids) != 0 {
			t.Fatalf("Int64s of nothing = %v, %v", ids, err)
		}
		var name string
		err = db.Reader().QueryRow(ctx, `SELECT name FROM helper_rows WHERE id = ?`, 9).Scan(&name)
		if !errors.Is(err, store.ErrNoRows) {
			t.Fatalf("Scan of a missing row = %v, want store.ErrNoRows", err)
		}
		err = db.Reader().QueryRow(ctx, `SELECT name FROM helper_rows WHERE id = ?`, 9).ScanFound("Row", &name)
		if parley.ErrorCode(err) != parley.ENOTFOUND || parley.ErrorMessage(err) != "Row not found." {
			t.Fatalf("ScanFound of a missing row = %v", err)
		}
		if err := db.Reader().QueryRow(ctx, `SELECT name FROM helper_rows WHERE id = ?`, 2).ScanFound("Row", &name); err != nil || name != "b" {
			t.Fatalf("ScanFound = %q, %v", name, err)
		}

		// LockRows serialises read-modify-write transactions on one row:
		// without it, two PostgreSQL transactions both read 0 and both
		// write 1.
		const workers = 8
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.Write(ctx, func(q store.Querier) error {
					if err := q.LockRows(ctx, store.LockUpdate, "helper_rows", "id = ?", 1); err != nil {
						return err
					}
					var n string
					if err := q.QueryRow(ctx, q.Locking(`SELECT name FROM helper_rows WHERE id = ?`, "FOR UPDATE"), 1).Scan(&n); err != nil {
						return err
					}
					time.Sleep(5 * time.Millisecond) // widen the race window
					_, err := q.Exec(ctx, `UPDATE helper_rows SET name = ? WHERE id = ?`, n+"x", 1)
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Reader().QueryRow(ctx, `SELECT name FROM helper_rows WHERE id = ?`, 1).Scan(&name); err != nil || len(name) != 1+workers {
			t.Fatalf("after %d locked increments the row is %q (%v)", workers, name, err)
		}
	})
}
