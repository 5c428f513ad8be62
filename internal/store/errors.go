package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-cc/parley"
)

// mapError turns the driver errors a caller can act on into domain errors:
// unique violations become ECONFLICT. Everything else stays an internal
// error whose text is logged, never shown.
func (db *DB) mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return ErrUnique
		case "23503": // foreign_key_violation
			return ErrForeignKey
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return ErrUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return ErrForeignKey
		}
	}
	return err
}

// Constraint violations, as domain conflicts. Services compare with
// errors.Is to replace them with a message that names the clash.
var (
	ErrUnique     = &parley.Error{Code: parley.ECONFLICT, Message: "An object with the same unique value already exists."}
	ErrForeignKey = &parley.Error{Code: parley.ECONFLICT, Message: "The object is referenced by or refers to a missing object."}
)
