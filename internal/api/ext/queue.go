package ext

import (
	"net/http"
	"strconv"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/outbound"
)

// dateLayout is how the family writes times: "2020-05-19 16:45:30" (UTC).
const dateLayout = "2006-01-02 15:04:05"

func pageParams(r *http.Request) (limit, offset int, err error) {
	if limit, err = api.QueryInt(r, "limit", 100, 1000); err != nil {
		return 0, 0, err
	}
	if offset, err = api.QueryInt(r, "offset", 0, 1<<30); err != nil {
		return 0, 0, err
	}
	return limit, offset, outbound.Page(limit, offset)
}

type queueDialog struct {
	MSISDN   string    `json:"msisdn"`
	UUID     string    `json:"uuid"`
	Result   string    `json:"result"`
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	Wait     queueWait `json:"wait"` // not in the seed: why the dialog waits
}

type queueWait struct {
	Reason  string  `json:"reason"`
	Until   *string `json:"until"`
	Message string  `json:"message"`
}

func toQueueWait(w outbound.Wait) queueWait {
	out := queueWait{Reason: string(w.Reason), Message: w.Message}
	if !w.Until.IsZero() {
		s := w.Until.UTC().Format(dateLayout)
		out.Until = &s
	}
	return out
}

func (h *Handler) queueDialogs(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	items, err := h.Dialogs.Queue(r.Context(), agentParam(r), r.URL.Query().Get("bulk_uuid"), limit, offset)
	if err != nil {
		return err
	}
	out := make([]queueDialog, len(items))
	for i, it := range items {
		out[i] = queueDialog{MSISDN: it.MSISDN, UUID: it.UUID, Result: it.Result, Status: string(it.Status), Attempts: it.Attempts,
			Wait: toQueueWait(it.Wait)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type queueCall struct {
	MSISDN     string `json:"msisdn"`
	UUID       string `json:"uuid"`
	Result     string `json:"result"`
	DateAdded  string `json:"date_added"`
	DialogUUID string `json:"dialog_uuid"`
	Status     string `json:"status"`
}

func (h *Handler) queueCalls(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	items, err := h.Dialogs.Calls(r.Context(), agentParam(r), r.URL.Query().Get("bulk_uuid"), limit, offset)
	if err != nil {
		return err
	}
	out := make([]queueCall, len(items))
	for i, it := range items {
		out[i] = queueCall{MSISDN: it.MSISDN, UUID: it.UUID, Result: it.Result, Status: string(it.Status), DialogUUID: it.DialogUUID,
			DateAdded: time.UnixMilli(it.StartedAt).UTC().Format(dateLayout)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// The three queue controls answer 200 with null, as the seed shows.
func (h *Handler) queueStop(w http.ResponseWriter, r *http.Request) error {
	return writeNull(w, h.Dialogs.Stop(r.Context(), agentParam(r)))
}

func (h *Handler) queueReturn(w http.ResponseWriter, r *http.Request) error {
	return writeNull(w, h.Dialogs.Return(r.Context(), agentParam(r)))
}

func (h *Handler) queueRemove(w http.ResponseWriter, r *http.Request) error {
	return writeNull(w, h.Dialogs.Remove(r.Context(), agentParam(r), r.URL.Query().Get("dialog_uuid")))
}

func writeNull(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nil)
	return nil
}

type selection struct {
	UUID         string `json:"uuid"`
	Name         string `json:"name"`
	StartedOn    string `json:"started_on"`
	IsCompleted  bool   `json:"is_completed"`
	DialogsCount int    `json:"dialogs_count"`
	// PendingDialogsCount (not in the seed) gives a selection's progress:
	// its dialogs still waiting, being called or stopped.
	PendingDialogsCount int `json:"pending_dialogs_count"`
}

// selections is GET /selection; started_on is "DD-MM-YYYY HH:MM:SS" as the
// seed shows it.
func (h *Handler) selections(w http.ResponseWriter, r *http.Request) error {
	var completed *bool
	if v := r.URL.Query().Get("is_completed"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return parley.FieldError("is_completed", "must be true or false")
		}
		completed = &b
	}
	sels, err := h.Dialogs.Selections(r.Context(), agentParam(r), completed)
	if err != nil {
		return err
	}
	out := make([]selection, len(sels))
	for i, s := range sels {
		out[i] = selection{UUID: s.UUID, Name: s.Name, IsCompleted: s.IsCompleted, DialogsCount: s.DialogsCount, PendingDialogsCount: s.PendingCount,
			StartedOn: time.UnixMilli(s.StartedOn).UTC().Format("02-01-2006 15:04:05")}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
