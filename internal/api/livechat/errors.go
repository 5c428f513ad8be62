package livechat

import (
	"net/http"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
)

// eKeyReused is this family's own error code: an idempotencyKey sent again
// with another request body.
const eKeyReused = "idempotency_key_reused"

// wrapper is the seed's ResponseWrapper<T>.
type wrapper struct {
	Success bool       `json:"success"`
	Data    any        `json:"data"`
	Error   *errorBody `json:"error,omitempty"`
}

// errorBody is the seed's CdpErrorResponse.
type errorBody struct {
	ErrorID     string         `json:"errorId"`
	Code        string         `json:"code"`
	Message     string         `json:"message"`
	FieldErrors []fieldError   `json:"fieldErrors,omitempty"`
	Timestamp   int64          `json:"timestamp"`
	Meta        map[string]any `json:"meta,omitempty"`
}

// fieldError is CdpFieldError; the seed names the type but not its fields.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

// statusOf is the one place where domain error codes become this family's
// HTTP statuses and wire codes.
func statusOf(code string) (int, string) {
	switch code {
	case parley.EINVALID, parley.EMALFORMED:
		return http.StatusBadRequest, "VALIDATION_ERROR"
	case parley.EUNAUTHORIZED, parley.ECREDENTIALS:
		return http.StatusUnauthorized, "UNAUTHORIZED"
	case parley.EFORBIDDEN:
		return http.StatusForbidden, "FORBIDDEN"
	case parley.ENOTFOUND:
		return http.StatusNotFound, "NOT_FOUND"
	case parley.EMETHOD:
		return http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"
	case parley.ECONFLICT:
		return http.StatusConflict, "CONFLICT"
	case eKeyReused:
		return http.StatusConflict, "IDEMPOTENCY_KEY_REUSED"
	case parley.ETOOLARGE:
		return http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"
	case parley.ERATELIMITED:
		return http.StatusTooManyRequests, "RATE_LIMITED"
	}
	return http.StatusInternalServerError, "INTERNAL_ERROR"
}

// wireField renames the domain's field names to this family's.
var wireField = map[string]string{
	"content": "text", "uuid": "itemUuid", "identifier": "endUser.identifier", "name": "endUser.name",
	"email": "endUser.email", "phone": "endUser.phone", "contact_info": "endUser.contactInfo",
	"after_seq": "afterSeq",
}

// writeError answers with err in a ResponseWrapper. Every error gets a
// fresh errorId, logged with the request id; internal errors show only
// "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, requestID := api.NoteError(h.Log, r, err)
	status, wire := statusOf(code)
	body := &errorBody{ErrorID: uuid.NewString(), Code: wire, Message: parley.ErrorMessage(err), Timestamp: time.Now().UnixMilli()}
	for f, m := range parley.ErrorFields(err) {
		if n, ok := wireField[f]; ok {
			f = n
		}
		body.FieldErrors = append(body.FieldErrors, fieldError{Field: f, Message: m, Code: wire})
	}
	sort.Slice(body.FieldErrors, func(i, j int) bool { return body.FieldErrors[i].Field < body.FieldErrors[j].Field })
	h.Log.Info("livechat error", "error_id", body.ErrorID, "request_id", requestID, "code", wire, "status", status)
	api.WriteJSON(w, status, wrapper{Error: body})
}

func writeData(w http.ResponseWriter, status int, data any) {
	api.WriteJSON(w, status, wrapper{Success: true, Data: data})
}
