package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/parley-cc/parley"
)

// TimeFormat is how the families write times: RFC 3339 in UTC with
// milliseconds, the precision stored.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Time writes t in TimeFormat.
func Time(t time.Time) string { return t.UTC().Format(TimeFormat) }

// TimePtr writes an optional time; nil stays nil (JSON null).
func TimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Time(*t)
	return &s
}

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

// Problem is one error as a family's writer encodes it.
type Problem struct {
	Status    int    // the family's HTTP status for Code
	Code      string // the domain error code (parley.E...)
	Message   string // safe to show: internal errors say only "Internal error."
	Fields    map[string]string
	RequestID string
}

// ErrorFormat is one family's way of answering errors: its statuses, its
// body, and any headers it adds. Its Write is the family's error writer.
type ErrorFormat struct {
	// Status maps a domain error code to the family's HTTP status; nil is
	// HTTPStatus.
	Status func(code string) int
	// Body is the family's error body.
	Body func(p Problem) any
	// Header, when set, adds headers for the problem (WWW-Authenticate,
	// Retry-After...).
	Header func(h http.Header, p Problem)
}

// Write answers err in the format. Internal errors are logged with the
// request id (NoteError) and shown only as "Internal error.".
func (f ErrorFormat) Write(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	code, requestID := NoteError(log, r, err)
	status := f.Status
	if status == nil {
		status = HTTPStatus
	}
	p := Problem{Status: status(code), Code: code, Message: parley.ErrorMessage(err), Fields: parley.ErrorFields(err), RequestID: requestID}
	if f.Header != nil {
		f.Header(w.Header(), p)
	}
	WriteJSON(w, p.Status, f.Body(p))
}

// NestedError is the error body of the operator API, the widget API and
// the realtime stream: {"error": {"code", "message", "fields"}, "request_id"}.
type NestedError struct {
	Error     NestedErrorDetail `json:"error"`
	RequestID string            `json:"request_id,omitempty"`
}

// NestedErrorDetail is the inner object of NestedError.
type NestedErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// NestedErrorBody is an ErrorFormat's Body writing NestedError.
func NestedErrorBody(p Problem) any {
	return NestedError{Error: NestedErrorDetail{Code: p.Code, Message: p.Message, Fields: p.Fields}, RequestID: p.RequestID}
}
