package store_test

import (
	"context"
	"testing"

	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

// Autovacuum reports PostgreSQL's own setting (the server warns at start
// when it is off) and true on SQLite; VacuumAnalyze runs on both.
func TestAutovacuumAndVacuumAnalyze(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		on, err := db.Autovacuum(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := true
		if db.Dialect == store.Postgres {
			var v string
			if err := db.Reader().QueryRow(ctx, `SELECT current_setting('autovacuum')`).Scan(&v); err != nil {
				t.Fatal(err)
			}
			want = v == "on"
		}
		if on != want {
			t.Errorf("Autovacuum = %v, want %v", on, want)
		}
		if err := db.VacuumAnalyze(ctx); err != nil {
			t.Errorf("VacuumAnalyze: %v", err)
		}
	})
}
