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

// wire maps domain error codes to this family's HTTP statuses and wire
// codes, in one place.
var wire = map[string]struct {
	status int
	code   string
}{
	parley.EINVALID:      {http.StatusBadRequest, "VALIDATION_ERROR"},
	parley.EMALFORMED:    {http.StatusBadRequest, "VALIDATION_ERROR"},
	parley.EUNAUTHORIZED: {http.StatusUnauthorized, "UNAUTHORIZED"},
	parley.ECREDENTIALS:  {http.StatusUnauthorized, "UNAUTHORIZED"},
	parley.EFORBIDDEN:    {http.StatusForbidden, "FORBIDDEN"},
	parley.ENOTFOUND:     {http.StatusNotFound, "NOT_FOUND"},
	parley.EMETHOD:       {http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
	parley.ECONFLICT:     {http.StatusConflict, "CONFLICT"},
	eKeyReused:           {http.StatusConflict, "IDEMPOTENCY_KEY_REUSED"},
	parley.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
	parley.ERATELIMITED:  {http.StatusTooManyRequests, "RATE_LIMITED"},
}

// statusOf is the HTTP status and wire code of a domain error code.
func statusOf(code string) (int, string) {
	if w, ok := wire[code]; ok {
		return w.status, w.code
	}
	return http.StatusInternalServerError, "INTERNAL_ERROR"
}

// wireField renames the domain's field names to this family's.
var wireField = map[string]string{
	"content": "text", "uuid": "itemUuid", "identifier": "endUser.identifier", "name": "endUser.name",
	"email": "endUser.email", "phone": "endUser.phone", "contact_info": "endUser.contactInfo",
	"after_seq": "afterSeq", "idempotency_key": "idempotencyKey",
}

// writeError answers with err in a ResponseWrapper. Every error gets a
// fresh errorId, logged with the request id; internal errors show only
// "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	api.ErrorFormat{
		Status: func(code string) int { status, _ := statusOf(code); return status },
		Body: func(p api.Problem) any {
			_, code := statusOf(p.Code)
			body := &errorBody{ErrorID: uuid.NewString(), Code: code, Message: p.Message, Timestamp: time.Now().UnixMilli()}
			for f, m := range p.Fields {
				if n, ok := wireField[f]; ok {
					f = n
				}
				body.FieldErrors = append(body.FieldErrors, fieldError{Field: f, Message: m, Code: code})
			}
			sort.Slice(body.FieldErrors, func(i, j int) bool { return body.FieldErrors[i].Field < body.FieldErrors[j].Field })
			h.Log.Info("livechat error", "error_id", body.ErrorID, "request_id", p.RequestID, "code", code, "status", p.Status)
			return wrapper{Error: body}
		},
	}.Write(h.Log, w, r, err)
}

func writeData(w http.ResponseWriter, status int, data any) {
	api.WriteJSON(w, status, wrapper{Success: true, Data: data})
}
