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

// HTTPStatus is the usual HTTP status of a domain error code: 400 for bad
// input, 401, 403, 404, 405, 409, 413, 429, else 500. A family whose seed
// prescribes other statuses maps codes itself, in its own errors.go.
func HTTPStatus(code string) int {
	switch code {
	case parley.EINVALID, parley.EMALFORMED:
		return http.StatusBadRequest
	case parley.EUNAUTHORIZED, parley.ECREDENTIALS:
		return http.StatusUnauthorized
	case parley.EFORBIDDEN:
		return http.StatusForbidden
	case parley.ENOTFOUND:
		return http.StatusNotFound
	case parley.EMETHOD:
		return http.StatusMethodNotAllowed
	case parley.ECONFLICT:
		return http.StatusConflict
	case parley.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case parley.ERATELIMITED:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}
