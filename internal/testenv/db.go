// Package testenv starts real Parley servers for black-box tests, on SQLite
// and on PostgreSQL, the way wtf's MustOpenDB helpers do.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// DefaultPG is where the test PostgreSQL lives on a development machine.
// .ci/run sets PARLEY_TEST_PG to a fresh database of its own.
const DefaultPG = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PGAdminDSN returns the PostgreSQL DSN tests use. The PostgreSQL run is
// never skipped silently: only PARLEY_TEST_SKIP_PG=1 turns it off.
func PGAdminDSN() (dsn string, skip bool) {
	if os.Getenv("PARLEY_TEST_SKIP_PG") == "1" {
		return "", true
	}
	if v := os.Getenv("PARLEY_TEST_PG"); v != "" {
		return v, false
	}
	return DefaultPG, false
}

var (
	pgOnce sync.Once
	pgDB   *sql.DB
	pgErr  error
)

func adminPool(dsn string) (*sql.DB, error) {
	pgOnce.Do(func() {
		pgDB, pgErr = sql.Open("pgx", dsn)
		if pgErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pgErr = pgDB.PingContext(ctx)
		}
	})
	return pgDB, pgErr
}

// SQLiteDSN returns the DSN of a fresh SQLite database in a temp dir.
func SQLiteDSN(tb testing.TB) string {
	tb.Helper()
	return "sqlite://" + filepath.Join(tb.TempDir(), "parley.db")
}

// PostgresDSN returns the DSN of a fresh, empty schema in the test
// PostgreSQL database, dropped when the test ends. It fails the test when
// PostgreSQL cannot be reached.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	admin, skip := PGAdminDSN()
	if skip {
		tb.Skip("PostgreSQL run disabled by PARLEY_TEST_SKIP_PG=1")
	}
	pool, err := adminPool(admin)
	if err != nil {
		tb.Fatalf("PostgreSQL is required for this test and is not reachable at %s: %v "+
			"(set PARLEY_TEST_PG, or PARLEY_TEST_SKIP_PG=1 to run only SQLite)", admin, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := pool.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := pool.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Logf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("parse PARLEY_TEST_PG: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Dialects are the databases every store and HTTP test runs on.
var Dialects = []string{"sqlite", "postgres"}

// DSN returns a fresh database of the named dialect.
func DSN(tb testing.TB, dialect string) string {
	tb.Helper()
	if dialect == "postgres" {
		return PostgresDSN(tb)
	}
	return SQLiteDSN(tb)
}

// ForEachDB runs fn once per dialect as parallel subtests, each with a
// fresh database.
func ForEachDB(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, DSN(t, d))
		})
	}
}
