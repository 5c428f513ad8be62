package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/parley-cc/parley"
)

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "error", err)
	}
}

// NoteError is what every family's error writer does before it encodes
// the error its own way: it keeps the error for the request's log line,
// logs internal errors with the request id (their text never reaches the
// client), and returns the error's code and the request id.
func NoteError(log *slog.Logger, r *http.Request, err error) (code, requestID string) {
	ri := Info(r.Context())
	ri.Err = err
	code = parley.ErrorCode(err)
	if code == parley.EINTERNAL && !errors.Is(err, r.Context().Err()) {
		log.Error("internal error", "request_id", ri.ID, "route", ri.Route, "error", err.Error())
	}
	return code, ri.ID
}
