package apps

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/webhook"
)

// webhookRoutes are the company's webhook methods (see the webhook
// package). Only admin and API users may call them; operators get 403.
func webhookRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/webhooks", Handle: (*Handler).listWebhooks},
		{Method: "POST", Path: "/webhooks", Handle: (*Handler).createWebhook},
		{Method: "GET", Path: "/webhooks/{webhookId}", Handle: (*Handler).getWebhook},
		{Method: "PATCH", Path: "/webhooks/{webhookId}", Handle: (*Handler).updateWebhook},
		{Method: "DELETE", Path: "/webhooks/{webhookId}", Handle: (*Handler).deleteWebhook},
		{Method: "GET", Path: "/webhooks/{webhookId}/deliveries", Handle: (*Handler).listWebhookDeliveries},
		{Method: "POST", Path: "/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", Handle: (*Handler).redeliverWebhookDelivery},
	}
}

// webhookService is webhook.Service, named here so that the Handler's
// field needs no import in routes.go.
type webhookService = webhook.Service

// Page sizes of the webhook lists.
const (
	webhookPageDefault = 25
	webhookPageMax     = 100
)

type webhookDTO struct {
	ID     int64    `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Active bool     `json:"active"`
	// Secret is in full in the answer of POST /webhooks only; masked in
	// every other answer.
	Secret    string `json:"secret"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func toWebhookDTO(w *webhook.Webhook) webhookDTO {
	return webhookDTO{ID: w.ID, URL: w.URL, Events: w.Events, Active: w.Active, Secret: w.Secret,
		CreatedAt: api.Time(w.CreatedAt), UpdatedAt: api.Time(w.UpdatedAt)}
}

type webhookAttemptDTO struct {
	Attempt    int    `json:"attempt"`
	At         string `json:"at"`
	StatusCode *int   `json:"status_code"`
	Error      string `json:"error"`
	DurationMS int64  `json:"duration_ms"`
}

type webhookDeliveryDTO struct {
	ID            int64               `json:"id"`
	WebhookID     int64               `json:"webhook_id"`
	EventID       string              `json:"event_id"`
	EventType     string              `json:"event_type"`
	Status        string              `json:"status"`
	Attempts      int                 `json:"attempts"`
	NextAttemptAt *string             `json:"next_attempt_at"`
	LastStatus    *int                `json:"last_status"`
	LastError     string              `json:"last_error"`
	CreatedAt     string              `json:"created_at"`
	DeliveredAt   *string             `json:"delivered_at"`
	Payload       json.RawMessage     `json:"payload"`
	AttemptLog    []webhookAttemptDTO `json:"attempt_log"`
}

func toWebhookDeliveryDTO(d *webhook.Delivery) webhookDeliveryDTO {
	out := webhookDeliveryDTO{ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType,
		Status: d.Status, Attempts: d.Attempts, NextAttemptAt: api.TimePtr(d.NextAttemptAt),
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: api.Time(d.CreatedAt),
		DeliveredAt: api.TimePtr(d.DeliveredAt), Payload: d.Payload, AttemptLog: []webhookAttemptDTO{}}
	for _, a := range d.Log {
		out.AttemptLog = append(out.AttemptLog, webhookAttemptDTO{Attempt: a.Attempt, At: api.Time(a.At),
			StatusCode: a.StatusCode, Error: a.Error, DurationMS: a.Duration.Milliseconds()})
	}
	return out
}

// webhookPage reads the paging of a list: page (from 1) and per_page, or
// limit and offset; not both.
func webhookPage(r *http.Request) (limit, offset int, err error) {
	q := r.URL.Query()
	if (q.Has("page") || q.Has("per_page")) && (q.Has("limit") || q.Has("offset")) {
		return 0, 0, parley.FieldError("page", "use either page and per_page, or limit and offset")
	}
	if q.Has("page") || q.Has("per_page") {
		page, err := api.QueryInt(r, "page", 1, 1_000_000)
		if err != nil {
			return 0, 0, err
		}
		if page < 1 {
			return 0, 0, parley.FieldError("page", "must be an integer from 1 to 1000000")
		}
		per, err := api.QueryInt(r, "per_page", webhookPageDefault, webhookPageMax)
		if err != nil {
			return 0, 0, err
		}
		if per < 1 {
			return 0, 0, parley.FieldError("per_page", "must be an integer from 1 to %d", webhookPageMax)
		}
		return per, (page - 1) * per, nil
	}
	if limit, err = api.QueryInt(r, "limit", webhookPageDefault, webhookPageMax); err != nil {
		return 0, 0, err
	}
	if limit < 1 {
		return 0, 0, parley.FieldError("limit", "must be an integer from 1 to %d", webhookPageMax)
	}
	if offset, err = api.QueryInt(r, "offset", 0, 100_000_000); err != nil {
		return 0, 0, err
	}
	return limit, offset, nil
}

// decodeWebhookBody decodes a JSON object into dst, refusing fields that
// are not in allowed (a misspelt "event" must not silently subscribe to
// everything).
func decodeWebhookBody(r *http.Request, dst any, allowed ...string) error {
	body, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	if err := api.DecodeBytes(body, dst); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		for k := range fields {
			if !slices.Contains(allowed, k) {
				return &parley.Error{Code: parley.EMALFORMED, Message: fmt.Sprintf("%s: is not a field of a webhook", parley.Clip(k)),
					Fields: map[string]string{parley.Clip(k): "is not a field of a webhook"}}
			}
		}
	}
	return nil
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := webhookPage(r)
	if err != nil {
		return err
	}
	list, total, err := h.Webhooks.List(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	out := make([]webhookDTO, 0, len(list))
	for _, wh := range list {
		out = append(out, toWebhookDTO(wh))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
		Active *bool    `json:"active"`
	}
	if err := decodeWebhookBody(r, &in, "url", "events", "active"); err != nil {
		return err
	}
	wh, err := h.Webhooks.Create(r.Context(), webhook.NewWebhook{URL: in.URL, Events: in.Events, Active: in.Active})
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/webhooks/%d", Prefix, wh.ID))
	writeJSON(w, http.StatusCreated, toWebhookDTO(wh))
	return nil
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "webhookId")
	if err != nil {
		return err
	}
	wh, err := h.Webhooks.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWebhookDTO(wh))
	return nil
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "webhookId")
	if err != nil {
		return err
	}
	var in struct {
		URL    *string   `json:"url"`
		Events *[]string `json:"events"`
		Active *bool     `json:"active"`
	}
	if err := decodeWebhookBody(r, &in, "url", "events", "active"); err != nil {
		return err
	}
	wh, err := h.Webhooks.Update(r.Context(), id, webhook.Update{URL: in.URL, Events: in.Events, Active: in.Active})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWebhookDTO(wh))
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "webhookId")
	if err != nil {
		return err
	}
	if err := h.Webhooks.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "webhookId")
	if err != nil {
		return err
	}
	limit, offset, err := webhookPage(r)
	if err != nil {
		return err
	}
	list, total, err := h.Webhooks.ListDeliveries(r.Context(), id, r.URL.Query().Get("status"), limit, offset)
	if err != nil {
		return err
	}
	out := make([]webhookDeliveryDTO, 0, len(list))
	for _, d := range list {
		out = append(out, toWebhookDeliveryDTO(d))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) redeliverWebhookDelivery(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "webhookId")
	if err != nil {
		return err
	}
	did, err := api.PathID(r, "deliveryId")
	if err != nil {
		return err
	}
	d, err := h.Webhooks.Redeliver(r.Context(), id, did)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toWebhookDeliveryDTO(d))
	return nil
}
