package apps

import (
	"math"
	"net/http"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

func statsRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/stats/live", Handle: (*Handler).liveStats},
		{Method: "GET", Path: "/stats/chats", Handle: (*Handler).chatReport},
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

// durationsDTO is a summary of durations in seconds (null without any).
type durationsDTO struct {
	Count int      `json:"count"`
	Avg   *float64 `json:"avg"`
	P50   *float64 `json:"p50"`
	P90   *float64 `json:"p90"`
}

func toDurations(d chat.Durations) durationsDTO {
	out := durationsDTO{Count: d.Count}
	if d.Count > 0 {
		sec := func(x time.Duration) *float64 { v := math.Round(x.Seconds()*10) / 10; return &v }
		out.Avg, out.P50, out.P90 = sec(d.Avg), sec(d.P50), sec(d.P90)
	}
	return out
}

type reportRowDTO struct {
	ID                  int64        `json:"id"`
	Name                string       `json:"name"`
	Chats               int          `json:"chats"`
	Ended               int          `json:"ended"`
	Abandoned           int          `json:"abandoned"`
	FirstResponseSecond durationsDTO `json:"first_response_seconds"`
	HandleSeconds       durationsDTO `json:"handle_seconds"`
	CSAT                csatDTO      `json:"csat"`
}

type csatDTO struct {
	Count int      `json:"count"`
	Avg   *float64 `json:"avg"`
}

type reportDayDTO struct {
	Date      string  `json:"date"`
	Chats     int     `json:"chats"`
	Abandoned int     `json:"abandoned"`
	CSAT      csatDTO `json:"csat"`
}

func toReportRow(r chat.ReportRow) reportRowDTO {
	return reportRowDTO{ID: r.ID, Name: r.Name, Chats: r.Chats, Ended: r.Ended, Abandoned: r.Abandoned,
		FirstResponseSecond: toDurations(r.FirstResponse), HandleSeconds: toDurations(r.Handle),
		CSAT: csatDTO{Count: r.CSATCount, Avg: r.CSATAvg}}
}

// reportWindow reads a report's window: from and to are dates (YYYY-MM-DD,
// to included) in tz, or RFC 3339 instants (to excluded); tz is an IANA
// name, default UTC. Default window: the last 7 days up to today.
func reportWindow(r *http.Request, now time.Time) (from, to time.Time, loc *time.Location, err error) {
	q := r.URL.Query()
	loc = time.UTC
	if name := q.Get("tz"); name != "" {
		if loc, err = time.LoadLocation(name); err != nil || name == "Local" {
			return from, to, nil, parley.FieldError("tz", "must be an IANA timezone such as Europe/Rome, got %q", parley.Clip(name))
		}
	}
	parse := func(field, v string, end bool) (time.Time, error) {
		if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
			if end {
				d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
			}
			return d, nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return t, parley.FieldError(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time, got %q", parley.Clip(v))
		}
		return t, nil
	}
	today := now.In(loc)
	to = time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, loc)
	from = time.Date(today.Year(), today.Month(), today.Day()-6, 0, 0, 0, 0, loc)
	if v := q.Get("from"); v != "" {
		if from, err = parse("from", v, false); err != nil {
			return
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parse("to", v, true); err != nil {
			return
		}
	}
	return from, to, loc, nil
}

// chatReport is GET /stats/chats (added, issue 14): the chats created in a
// window per menu and per operator, with first response and handle times,
// CSAT and abandoned chats, and a row per day in the caller's timezone.
// Admin and API users only.
func (h *Handler) chatReport(w http.ResponseWriter, r *http.Request) error {
	if err := staffOnly(r); err != nil {
		return err
	}
	from, to, loc, err := reportWindow(r, time.Now())
	if err != nil {
		return err
	}
	rep, err := h.Chats.ChatReport(r.Context(), chat.ReportFilter{From: from, To: to, Location: loc})
	if err != nil {
		return err
	}
	menus := make([]reportRowDTO, len(rep.Menus))
	for i, m := range rep.Menus {
		menus[i] = toReportRow(m)
	}
	ops := make([]reportRowDTO, len(rep.Operators))
	for i, o := range rep.Operators {
		ops[i] = toReportRow(o)
	}
	days := make([]reportDayDTO, len(rep.Days))
	for i, d := range rep.Days {
		days[i] = reportDayDTO{Date: d.Date, Chats: d.Chats, Abandoned: d.Abandoned, CSAT: csatDTO{Count: d.CSATCount, Avg: d.CSATAvg}}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"from": api.Time(rep.From), "to": api.Time(rep.To), "tz": loc.String(),
		"totals": toReportRow(rep.Totals), "menus": menus, "operators": ops, "days": days,
	})
	return nil
}
