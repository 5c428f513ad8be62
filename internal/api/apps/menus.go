package apps

import (
	"encoding/json"
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

type menuDTO struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	AgentID     *int64  `json:"virtual_agent_id"`
	OperatorIDs []int64 `json:"operator_ids"`
	// InactivityMinutes is the menu's inactivity rule; null takes the
	// server's default (PARLEY_CHAT_INACTIVITY), 0 never closes.
	InactivityMinutes *int `json:"inactivity_minutes"`
}

func toMenu(m *chat.Menu) menuDTO {
	return menuDTO{ID: m.ID, Name: m.Name, AgentID: m.AgentID, OperatorIDs: m.OperatorIDs, InactivityMinutes: m.InactivityMinutes}
}

// inactivityInput reads an update's inactivity_minutes: absent keeps the
// rule, null goes back to the server's default, a number sets it.
func inactivityInput(raw json.RawMessage) (*chat.InactivitySetting, error) {
	if raw == nil {
		return nil, nil
	}
	if string(raw) == "null" {
		return &chat.InactivitySetting{}, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, parley.FieldError("inactivity_minutes", "must be a whole number of minutes or null")
	}
	return &chat.InactivitySetting{Minutes: &n}, nil
}

func (h *Handler) createMenu(w http.ResponseWriter, r *http.Request) error {
	if err := staffOnly(r); err != nil {
		return err
	}
	var in struct {
		Name              string  `json:"name"`
		AgentUUID         string  `json:"agent_uuid"`
		OperatorIDs       []int64 `json:"operator_ids"`
		InactivityMinutes *int    `json:"inactivity_minutes"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	m, err := h.Chats.CreateMenu(r.Context(), chat.NewMenu{Name: in.Name, AgentUUID: in.AgentUUID, OperatorIDs: in.OperatorIDs,
		InactivityMinutes: in.InactivityMinutes})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toMenu(m))
	return nil
}

func (h *Handler) listMenus(w http.ResponseWriter, r *http.Request) error {
	ms, err := h.Chats.ListMenus(r.Context())
	if err != nil {
		return err
	}
	out := make([]menuDTO, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMenu(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"menus": out})
	return nil
}

func (h *Handler) getMenu(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	m, err := h.Chats.GetMenu(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMenu(m))
	return nil
}

func (h *Handler) updateMenu(w http.ResponseWriter, r *http.Request) error {
	if err := staffOnly(r); err != nil {
		return err
	}
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name              *string         `json:"name"`
		AgentUUID         *string         `json:"agent_uuid"`
		OperatorIDs       *[]int64        `json:"operator_ids"`
		InactivityMinutes json.RawMessage `json:"inactivity_minutes"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	inactivity, err := inactivityInput(in.InactivityMinutes)
	if err != nil {
		return err
	}
	if in.Name == nil && in.AgentUUID == nil && in.OperatorIDs == nil && inactivity == nil {
		return parley.Errorf(parley.EINVALID, "Nothing to change: give name, agent_uuid, operator_ids or inactivity_minutes.")
	}
	m, err := h.Chats.UpdateMenu(r.Context(), id, chat.MenuUpdate{Name: in.Name, AgentUUID: in.AgentUUID, OperatorIDs: in.OperatorIDs,
		Inactivity: inactivity})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMenu(m))
	return nil
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request) error {
	if err := staffOnly(r); err != nil {
		return err
	}
	var in struct {
		Name   string  `json:"name"`
		MenuID api.Int `json:"menu_id"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.MenuID < 0 {
		return parley.FieldError("menu_id", "must be a positive integer")
	}
	p, err := h.Chats.CreateProjectWithMenu(r.Context(), in.Name, int64(in.MenuID))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"project_uuid": p.UUID, "name": p.Name, "menu_id": p.MenuID})
	return nil
}

func (h *Handler) deleteMenu(w http.ResponseWriter, r *http.Request) error {
	if err := staffOnly(r); err != nil {
		return err
	}
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.Chats.DeleteMenu(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type projectDTO struct {
	ProjectUUID string `json:"project_uuid"`
	Name        string `json:"name"`
	MenuID      *int64 `json:"menu_id"`
}

// listProjects is for staff: a project's UUID is what the widget's embed
// snippet carries, and the pages show it to whoever places the widget.
func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request) error {
	if err := staffOnly(r); err != nil {
		return err
	}
	ps, err := h.Chats.ListProjects(r.Context())
	if err != nil {
		return err
	}
	out := make([]projectDTO, 0, len(ps))
	for _, p := range ps {
		out = append(out, projectDTO{ProjectUUID: p.UUID, Name: p.Name, MenuID: p.MenuID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
	return nil
}
