package apps

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
)

// errorBody is this family's error shape. The seed documents no error
// format; this one keeps the human message where the platform's clients
// look for it ("message") and adds a stable code and field errors.
type errorBody struct {
	Message   string            `json:"message"`
	Code      string            `json:"code"`
	Errors    map[string]string `json:"errors,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// statusOf is the one place where domain error codes become this family's
// HTTP statuses.
func statusOf(code string) int {
	// Bad input is 422 here, as the platform's clients expect; the rest
	// are the usual statuses.
	if code == parley.EINVALID || code == parley.EMALFORMED {
		return http.StatusUnprocessableEntity
	}
	return api.HTTPStatus(code)
}

var errorFormat = api.ErrorFormat{Status: statusOf, Body: func(p api.Problem) any {
	return errorBody{Message: p.Message, Code: p.Code, Errors: p.Fields, RequestID: p.RequestID}
}}

// writeError answers with err in this family's format. Internal errors are
// logged with the request id and shown only as "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	errorFormat.Write(h.Log, w, r, err)
}

var writeJSON = api.WriteJSON
