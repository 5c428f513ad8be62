package ext

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/outbound"
)

// GroupUploadLimit is the body limit of dialogs-group-initial: room for a
// few hundred thousand rows.
const GroupUploadLimit = 64 << 20

func uploadOptions(r *http.Request) (outbound.UploadOptions, error) {
	q := r.URL.Query()
	opts := outbound.UploadOptions{BulkUUID: q.Get("bulk_uuid"), SelectionName: q.Get("selection_name")}
	if v := q.Get("with_selection"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opts, parley.FieldError("with_selection", "must be true or false")
		}
		opts.WithSelection = b
	}
	return opts, nil
}

// uploadDialog is POST /dialog/dialog-initial.
func (h *Handler) uploadDialog(w http.ResponseWriter, r *http.Request) error {
	opts, err := uploadOptions(r)
	if err != nil {
		return err
	}
	var row map[string]json.RawMessage
	if err := api.Decode(r, &row); err != nil {
		return err
	}
	if row == nil {
		return parley.Errorf(parley.EMALFORMED, "The body must be a JSON object.")
	}
	id, err := h.Dialogs.Create(r.Context(), agentParam(r), opts, row)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"dialog_uuid": id})
	return nil
}

// uploadGroup is POST /dialog/dialogs-group-initial: it answers as soon as
// the body is stored; rows are validated and stored by a background task.
func (h *Handler) uploadGroup(w http.ResponseWriter, r *http.Request) error {
	opts, err := uploadOptions(r)
	if err != nil {
		return err
	}
	body, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	bulk, task, err := h.Dialogs.StartImport(r.Context(), agentParam(r), opts, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"bulk_uuid": bulk, "task_uuid": task})
	return nil
}

func (h *Handler) groupStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := h.Dialogs.Status(r.Context(), r.URL.Query().Get("task_uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": string(st.State), "info": st.Info,
		"total_rows": st.Total, "processed_rows": st.Processed, "failed_rows": st.Failed})
	return nil
}

type resultRow struct {
	Status     bool   `json:"status"`
	MSISDN     string `json:"msisdn"`
	Message    string `json:"message"`
	DialogUUID string `json:"dialog_uuid"`
}

// groupResult streams one result per input row, so that the answer for a
// 100,000-row upload is never built in memory.
func (h *Handler) groupResult(w http.ResponseWriter, r *http.Request) error {
	limit, err := api.QueryInt(r, "limit", outbound.MaxImportRows, outbound.MaxImportRows)
	if err != nil {
		return err
	}
	offset, err := api.QueryInt(r, "offset", 0, outbound.MaxImportRows)
	if err != nil {
		return err
	}
	sw := &streamWriter{w: w}
	err = h.Dialogs.Results(r.Context(), r.URL.Query().Get("task_uuid"), limit, offset, func(row outbound.ResultRow) error {
		return sw.item(resultRow{Status: row.OK, MSISDN: row.MSISDN, Message: row.Message, DialogUUID: row.DialogUUID})
	})
	return sw.end(err)
}

// streamWriter writes a JSON array element by element. Errors before the
// first element are still answered normally; after it, the connection is
// cut so that the client sees a truncated body rather than a wrong one.
type streamWriter struct {
	w     http.ResponseWriter
	count int
	enc   *json.Encoder
}

func (s *streamWriter) item(v any) error {
	if s.count == 0 {
		s.w.Header().Set("Content-Type", "application/json; charset=utf-8")
		s.w.WriteHeader(http.StatusOK)
		if _, err := s.w.Write([]byte("[")); err != nil {
			return err
		}
		s.enc = json.NewEncoder(s.w)
	} else if _, err := s.w.Write([]byte(",")); err != nil {
		return err
	}
	s.count++
	return s.enc.Encode(v)
}

func (s *streamWriter) end(err error) error {
	switch {
	case err != nil && s.count == 0:
		return err
	case err != nil:
		panic(http.ErrAbortHandler)
	case s.count == 0:
		writeJSON(s.w, http.StatusOK, []any{})
		return nil
	}
	_, err = s.w.Write([]byte("]\n"))
	return err
}
