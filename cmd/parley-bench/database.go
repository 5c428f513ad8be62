package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/parley-cc/parley/internal/store"
)

// freshDB returns the DSN of the database a run uses, a description of it
// that holds no password, and a function that removes what was made for
// the run: "" is a new SQLite file in a temporary directory, a postgres://
// DSN a new database on that server (store.Scratch), and a sqlite:// DSN
// the user's file, used as it is and never removed.
func freshDB(ctx context.Context, given string) (dsn, where string, drop func(), err error) {
	switch {
	case given == "":
		dir, err := os.MkdirTemp("", "parley-bench-")
		if err != nil {
			return "", "", nil, err
		}
		path := filepath.Join(dir, "parley.db")
		return "sqlite://" + path, "fresh SQLite file " + path, func() { _ = os.RemoveAll(dir) }, nil
	case strings.HasPrefix(given, "postgres://"), strings.HasPrefix(given, "postgresql://"):
		dsn, name, dropDB, err := store.Scratch(ctx, given)
		if err != nil {
			return "", "", nil, err
		}
		drop = func() {
			if err := dropDB(); err != nil {
				fmt.Fprintf(os.Stderr, "parley-bench: %v\n", err)
			}
		}
		return dsn, "fresh database " + name + " on " + redactDSN(given), drop, nil
	case strings.HasPrefix(given, "sqlite://"):
		return given, given, func() {}, nil
	}
	return "", "", nil, fmt.Errorf("--db: want postgres://... or sqlite:///path, got %q", redactDSN(given))
}

// anotherFreshDB is freshDB for a second database of the same kind in one
// run (a baseline kept apart from the measured one): a user's SQLite file
// cannot be had twice, so it is a new temporary file instead.
func anotherFreshDB(ctx context.Context, given string) (dsn, where string, drop func(), err error) {
	if strings.HasPrefix(given, "sqlite://") {
		given = ""
	}
	return freshDB(ctx, given)
}

// redactDSN hides a DSN's password.
func redactDSN(dsn string) string {
	i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@")
	if i < 0 || j < i {
		return dsn
	}
	user, _, hasPass := strings.Cut(dsn[i+3:j], ":")
	if !hasPass {
		return dsn
	}
	return dsn[:i+3] + user + ":xxxxx" + dsn[j:]
}
