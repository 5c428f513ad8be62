package v1

import (
	"net/http"

	"github.com/parley-cc/parley/internal/api"
)

// errorFormat is the v1 error shape, {"error": {...}, "request_id": "..."},
// with the usual statuses.
var errorFormat = api.ErrorFormat{Body: api.NestedErrorBody}

// writeError answers with err in the v1 format. Internal errors are logged
// with the request id and shown only as "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	errorFormat.Write(h.Log, w, r, err)
}

var writeJSON = api.WriteJSON
