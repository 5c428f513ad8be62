package ext

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
)

// errorBody is the External API's error shape. The seed asks for "a
// description of the error in the body" under 409; every error uses it.
type errorBody struct {
	Message   string            `json:"message"`
	Code      string            `json:"code"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// statusOf is the one place where domain error codes become this family's
// HTTP statuses. The seed answers "other errors" with 409, bad credentials
// with 422, and missing statistics with 404.
func statusOf(code string) int {
	switch code {
	case parley.EINVALID, parley.EMALFORMED, parley.ECONFLICT:
		return http.StatusConflict
	case parley.ENOTFOUND:
		return http.StatusNotFound
	case parley.EFORBIDDEN:
		return http.StatusForbidden
	case parley.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case parley.ECREDENTIALS:
		return http.StatusUnprocessableEntity
	case parley.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case parley.EMETHOD:
		return http.StatusMethodNotAllowed
	case parley.ERATELIMITED:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// writeError answers with err in the External API's format. Internal errors
// are logged with the request id and shown only as "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	errorFormat.Write(h.Log, w, r, err)
}

var errorFormat = api.ErrorFormat{Status: statusOf, Body: func(p api.Problem) any {
	return errorBody{Message: p.Message, Code: p.Code, Fields: p.Fields, RequestID: p.RequestID}
}}

var writeJSON = api.WriteJSON
