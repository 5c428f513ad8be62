package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Scratch creates an empty PostgreSQL database beside the one dsn names
// (same server, same credentials), for a run that must neither see nor
// leave data anywhere else, such as a benchmark; drop removes it, with
// every row the run wrote. A SQLite run needs no such thing: a new file is
// a new database.
func Scratch(ctx context.Context, dsn string) (scratchDSN, name string, drop func() error, err error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return "", "", nil, fmt.Errorf("store: a scratch database needs a postgres:// DSN, not %q", redact(dsn))
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", nil, fmt.Errorf("store: parse DSN: %w", err)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name = "parley_scratch_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", "", nil, fmt.Errorf("store: create database %s on %s: %w", name, u.Redacted(), err)
	}
	drop = func() error {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE (PostgreSQL 13+) ends connections a crashed run left open.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			if _, err2 := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err2 != nil {
				return fmt.Errorf("store: drop database %s: %w", name, err)
			}
		}
		return nil
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("search_path") // the new database has only its public schema
	u.RawQuery = q.Encode()
	return u.String(), name, drop, nil
}
