package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestInteractiveWritesGoBeforeBulk: on SQLite, a write that arrives while
// a bulk job's chunk runs and its next chunk already waits is served
// before that next chunk: a long import lets other tenants' writes through
// between its chunks instead of queueing them behind all of it. (On main
// the single write connection went to a random waiter.)
func TestInteractiveWritesGoBeforeBulk(t *testing.T) {
	db := mustOpen(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	if err := db.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `CREATE TABLE gate_order (what TEXT NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	insert := func(what string) func(store.Querier) error {
		return func(q store.Querier) error {
			_, err := q.Exec(ctx, `INSERT INTO gate_order (what) VALUES (?)`, what)
			return err
		}
	}
	waitFor := func(interactive, bulk int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if i, b := db.WaitingWriters(); i == interactive && b == bulk {
				return
			}
		}
		i, b := db.WaitingWriters()
		t.Fatalf("waiting writers %d interactive, %d bulk; want %d, %d", i, b, interactive, bulk)
	}

	holding, release := make(chan struct{}), make(chan struct{})
	errs := make(chan error, 5)
	go func() {
		errs <- db.WriteBulk(ctx, func(q store.Querier) error {
			close(holding)
			<-release
			return insert("chunk 1")(q)
		})
	}()
	<-holding
	go func() { errs <- db.WriteBulk(ctx, insert("chunk 2")) }()
	waitFor(0, 1)
	go func() { errs <- db.WriteBulk(ctx, insert("chunk 3")) }()
	waitFor(0, 2)
	go func() { errs <- db.Write(ctx, insert("post 1")) }()
	waitFor(1, 2)
	go func() { errs <- db.Write(ctx, insert("post 2")) }()
	waitFor(2, 2)
	close(release)
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	rows, err := db.Reader().Query(ctx, `SELECT what FROM gate_order ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{"chunk 1", "post 1", "post 2", "chunk 2", "chunk 3"}
	if len(got) != len(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}

	// A writer that gives up while it waits leaves the line.
	holding2, release2 := make(chan struct{}), make(chan struct{})
	go func() {
		errs <- db.WriteBulk(ctx, func(q store.Querier) error { close(holding2); <-release2; return nil })
	}()
	<-holding2
	gone, cancel := context.WithCancel(ctx)
	go func() { errs <- db.WriteBulk(gone, insert("never")) }()
	waitFor(0, 1)
	cancel()
	if err := <-errs; err == nil {
		t.Fatal("a cancelled writer wrote")
	}
	waitFor(0, 0)
	close(release2)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, insert("after")); err != nil {
		t.Fatalf("the gate is stuck after a cancelled writer: %v", err)
	}
}
