package ext

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/outbound"
)

// statRow is a dialog's statistics row: fixed keys and one key per output
// entity. The seed spells the number "msisnd" in its examples; both
// spellings are sent. A fixed key wins over an output entity of that name.
func statRow(r outbound.StatRow) map[string]any {
	row := map[string]any{}
	for k, v := range r.Outputs {
		row[k] = v
	}
	transferKeys(row, r.Transfer)
	row["msisdn"] = r.MSISDN
	row["msisnd"] = r.MSISDN
	row["dialog_uuid"] = r.DialogUUID
	row["call_uuid"] = r.CallUUID
	row["date"] = r.FinishedAt.Format(dateLayout)
	row["status"] = string(r.Status)
	row["result"] = r.Result
	if r.Message != "" {
		row["message"] = r.Message
	}
	return row
}

func (h *Handler) statDialog(w http.ResponseWriter, r *http.Request) error {
	st, err := h.Dialogs.DialogStats(r.Context(), r.URL.Query().Get("dialog_uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, []map[string]any{statRow(*st)})
	return nil
}

func (h *Handler) statGroup(w http.ResponseWriter, r *http.Request) error {
	sw := &streamWriter{w: w}
	err := h.Dialogs.GroupStats(r.Context(), r.URL.Query().Get("bulk_uuid"), func(row outbound.StatRow) error {
		return sw.item(statRow(row))
	})
	return sw.end(err)
}

type reportBody struct {
	AgentUUID string   `json:"agent_uuid"`
	Start     string   `json:"start"`
	End       string   `json:"end"`
	Limit     *api.Int `json:"limit"`
	Offset    *api.Int `json:"offset"`
}

// statReport is POST /statistic/dialog-report: output entities of the
// agent's dialogs finished in [start, end], 100 a page by default.
func (h *Handler) statReport(w http.ResponseWriter, r *http.Request) error {
	var in reportBody
	if err := decode(r, &in); err != nil {
		return err
	}
	start, err := outbound.ParseReportTime("start", in.Start)
	if err != nil {
		return err
	}
	end, err := outbound.ParseReportTime("end", in.End)
	if err != nil {
		return err
	}
	limit, offset := 100, 0
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	if in.Offset != nil {
		offset = int(*in.Offset)
	}
	rows, total, err := h.Dialogs.Report(r.Context(), in.AgentUUID, start, end, limit, offset)
	if err != nil {
		return err
	}
	result := make([]map[string]any, len(rows))
	for i, row := range rows {
		m := map[string]any{}
		for k, v := range row.Outputs {
			m[k] = v
		}
		transferKeys(m, row.Transfer)
		if row.Transfer != nil {
			m["result"] = row.Result
		}
		m["call_uuid"] = row.CallUUID
		m["dialog_uuid"] = row.DialogUUID
		result[i] = m
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result, "total": total})
	return nil
}

// downloadCall is GET /statistic/download/call: the WAV, base64 in JSON.
func (h *Handler) downloadCall(w http.ResponseWriter, r *http.Request) error {
	name, wav, err := h.Dialogs.Recording(r.Context(), r.URL.Query().Get("call_uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"file_name": name, "data": base64.StdEncoding.EncodeToString(wav)})
	return nil
}

type transcriptItem struct {
	ActionAlias string          `json:"action_alias"`
	AgentUUID   string          `json:"agent_uuid"`
	CallUUID    string          `json:"call_uuid"`
	Data        json.RawMessage `json:"data"`
	Date        string          `json:"date"`
	DialogUUID  string          `json:"dialog_uuid"`
}

// transcription is GET /statistic/{call_uuid}/transcription?type=json|text.
// An unknown call answers 404 with an empty list, as the seed says.
func (h *Handler) transcription(w http.ResponseWriter, r *http.Request) error {
	typ := r.URL.Query().Get("type")
	if typ != "" && typ != "json" && typ != "text" {
		return parley.FieldError("type", "must be json or text")
	}
	turns, err := h.Dialogs.Transcript(r.Context(), r.PathValue("call_uuid"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(turns) == 0 {
		status = http.StatusNotFound
	}
	if typ == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(turns) > 0 { // the UUID is then a stored one, safe in a header
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.txt"`, turns[0].CallUUID))
		}
		w.WriteHeader(status)
		var b strings.Builder
		for _, t := range turns {
			b.WriteString(textLine(t))
		}
		_, err := w.Write([]byte(b.String()))
		return err
	}
	items := make([]transcriptItem, len(turns))
	for i, t := range turns {
		data := t.Data
		if data == nil {
			data = json.RawMessage("null")
		}
		items[i] = transcriptItem{ActionAlias: t.Action, AgentUUID: t.AgentUUID, CallUUID: t.CallUUID, Data: data,
			Date: t.At.Format("2006-01-02 15:04:05.000"), DialogUUID: t.DialogUUID}
	}
	writeJSON(w, status, dataList[transcriptItem]{Data: items})
	return nil
}

// textLine renders a turn for the text transcript: who said what, when.
func textLine(t outbound.Turn) string {
	var d struct {
		Text, Name, Value, Reason, Message string
	}
	_ = json.Unmarshal(t.Data, &d)
	at := t.At.Format("15:04:05.000")
	switch t.Action {
	case "say":
		return fmt.Sprintf("[%s] agent: %s\n", at, d.Text)
	case "listen":
		if d.Text == "" {
			return fmt.Sprintf("[%s] callee: (silence)\n", at)
		}
		return fmt.Sprintf("[%s] callee: %s\n", at, d.Text)
	case "set":
		return fmt.Sprintf("[%s] set %s = %s\n", at, d.Name, d.Value)
	}
	return strings.TrimSpace(fmt.Sprintf("[%s] %s %s", at, t.Action, d.Reason+d.Message)) + "\n"
}

// transferKeys adds a transferred call's keys to a statistics row: the
// operator, the wait and talk seconds, and the operator's disposition
// (its output entities as keys, over the script's, and its note).
func transferKeys(row map[string]any, tr *outbound.TransferStat) {
	if tr == nil {
		return
	}
	for k, v := range tr.Outputs {
		row[k] = v
	}
	row["transfer_operator_id"] = tr.OperatorID
	row["transfer_operator"] = tr.OperatorName
	row["transfer_wait_seconds"] = tr.WaitSeconds
	row["transfer_talk_seconds"] = tr.TalkSeconds
	row["transfer_note"] = tr.Note
}
