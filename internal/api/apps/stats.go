package apps

import (
	"net/http"
)

func statsRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/stats/live", Handle: (*Handler).liveStats},
	}
}

type menuLoadDTO struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Queued   int    `json:"queued"`
	VA       int    `json:"va"`
	Assigned int    `json:"assigned"`
}

type totalsDTO struct {
	Queued   int `json:"queued"`
	VA       int `json:"va"`
	Assigned int `json:"assigned"`
}

type operatorLoadDTO struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Load     int    `json:"load"`
	Capacity int    `json:"capacity"`
}

// liveStats is GET /stats/live (added, for the supervisor views): the open
// chats of each menu by state (queued, with the virtual agent, assigned),
// the totals over every open chat, and each operator's status, load and
// capacity. Admin and API users only: it shows the whole company.
func (h *Handler) liveStats(w http.ResponseWriter, r *http.Request) error {
	if err := staffOnly(r); err != nil {
		return err
	}
	st, err := h.Chats.LiveStats(r.Context())
	if err != nil {
		return err
	}
	menus := make([]menuLoadDTO, len(st.Menus))
	for i, m := range st.Menus {
		menus[i] = menuLoadDTO{ID: m.ID, Name: m.Name, Queued: m.Queued, VA: m.VA, Assigned: m.Assigned}
	}
	ops := make([]operatorLoadDTO, len(st.Operators))
	for i, o := range st.Operators {
		ops[i] = operatorLoadDTO{ID: o.ID, Name: o.Name, Status: o.Status, Load: o.Load, Capacity: o.Capacity}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"menus":     menus,
		"totals":    totalsDTO{Queued: st.Totals.Queued, VA: st.Totals.VA, Assigned: st.Totals.Assigned},
		"operators": ops,
	})
	return nil
}
