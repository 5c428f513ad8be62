package ext

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
)

func (h *Handler) listSlots(w http.ResponseWriter, r *http.Request) error {
	slots, err := h.Agents.ListTimeSlots(r.Context(), agentParam(r))
	if err != nil {
		return err
	}
	out := make([]timeSlot, len(slots))
	for i, t := range slots {
		out[i] = toSlot(t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// slotFromBody checks that the window's fields are all present.
func slotFromBody(in timeSlotBody) (agent.TimeSlot, error) {
	switch {
	case in.Day == nil:
		return agent.TimeSlot{}, parley.FieldError("day", "is required")
	case in.NotBefore == nil:
		return agent.TimeSlot{}, parley.FieldError("not_before", "is required")
	case in.NotAfter == nil:
		return agent.TimeSlot{}, parley.FieldError("not_after", "is required")
	}
	t := agent.TimeSlot{Day: int(*in.Day), NotBefore: *in.NotBefore, NotAfter: *in.NotAfter}
	if in.TimeSlotUUID != nil {
		t.UUID = *in.TimeSlotUUID
	}
	return t, nil
}

func (h *Handler) createSlot(w http.ResponseWriter, r *http.Request) error {
	var in timeSlotBody
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := slotFromBody(in)
	if err != nil {
		return err
	}
	out, err := h.Agents.CreateTimeSlot(r.Context(), agentParam(r), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toSlot(*out))
	return nil
}

// putSlot answers 201, as the seed shows for this method.
func (h *Handler) putSlot(w http.ResponseWriter, r *http.Request) error {
	var in timeSlotBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.TimeSlotUUID == nil {
		return parley.FieldError("time_slot_uuid", "is required")
	}
	t, err := slotFromBody(in)
	if err != nil {
		return err
	}
	out, err := h.Agents.UpdateTimeSlot(r.Context(), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toSlot(*out))
	return nil
}

// deleteSlot takes time_slot_uuid in the body, as the seed shows, or in the
// query for clients that cannot send a DELETE body.
func (h *Handler) deleteSlot(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		TimeSlotUUID string `json:"time_slot_uuid"`
	}
	present, err := decodeOptional(r, &in)
	if err != nil {
		return err
	}
	if !present {
		in.TimeSlotUUID = r.URL.Query().Get("time_slot_uuid")
	}
	if err := h.Agents.DeleteTimeSlot(r.Context(), in.TimeSlotUUID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
