package v1

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
)

// errorBody is the v1 error shape: {"error": {...}, "request_id": "..."}.
type errorBody struct {
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// statusOf is the one place where domain error codes become this family's
// HTTP statuses: the usual ones.
var statusOf = api.HTTPStatus

// writeError answers with err in the v1 format. Internal errors are logged
// with the request id and shown only as "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, requestID := api.NoteError(h.Log, r, err)
	writeJSON(w, statusOf(code), errorBody{
		Error:     errorDetail{Code: code, Message: parley.ErrorMessage(err), Fields: parley.ErrorFields(err)},
		RequestID: requestID,
	})
}

var writeJSON = api.WriteJSON
