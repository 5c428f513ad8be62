package chat

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Chat reports for supervisors (issue 14): the chats created in a window,
// per menu and per operator, with their first response and handle times,
// CSAT and abandoned chats, and a count per day of the window in the
// supervisor's timezone for the chart. The window's chats are read once
// and aggregated here, so both databases give the same percentiles.

// MaxReportChats bounds the chats one report reads; a window with more is
// refused (narrow it).
const MaxReportChats = 200_000

// MaxReportDays bounds a report's window.
const MaxReportDays = 366

// ReportFilter is a report's window [From, To) and the timezone its days
// are counted in.
type ReportFilter struct {
	From, To time.Time
	Location *time.Location
}

// Durations summarises a set of durations.
type Durations struct {
	Count         int
	Avg, P50, P90 time.Duration
}

// ReportRow is the figures of one menu, one operator or the whole company.
// ID 0 is "no menu" in the menus' rows.
type ReportRow struct {
	ID            int64
	Name          string
	Chats         int
	Ended         int
	Abandoned     int // ended before any operator answered, by the end user's silence or inactivity
	FirstResponse Durations
	Handle        Durations // from the first operator joining to the end
	CSATCount     int
	CSATAvg       *float64
}

// ReportDay is one day of the window in the report's timezone.
type ReportDay struct {
	Date      string // YYYY-MM-DD
	Chats     int
	Abandoned int
	CSATCount int
	CSATAvg   *float64
}

// ChatReport is a report's answer.
type ChatReport struct {
	From, To  time.Time
	Location  *time.Location
	Totals    ReportRow
	Menus     []ReportRow
	Operators []ReportRow
	Days      []ReportDay
}

// reportChat is what the report reads of one chat.
type reportChat struct {
	menu, op                          *int64
	status, endReason                 string
	created, queued                   int64
	ended, firstReply, joined, rating *int64
}

// abandoned reports whether the chat ended before any operator answered,
// by the end user: they went silent (timed out) or ended it themselves.
func (c *reportChat) abandoned() bool {
	return c.ended != nil && c.firstReply == nil && (c.status == StatusTimedOut || c.endReason == ReasonEndUser)
}

// firstResponse is from entering the queue (or creation) to the first
// operator answer.
func (c *reportChat) firstResponse() (time.Duration, bool) {
	if c.firstReply == nil {
		return 0, false
	}
	start := c.created
	if c.queued > 0 && c.queued <= *c.firstReply {
		start = c.queued
	}
	return time.Duration(*c.firstReply-start) * time.Millisecond, true
}

func (c *reportChat) handle() (time.Duration, bool) {
	if c.ended == nil || c.joined == nil || *c.ended < *c.joined {
		return 0, false
	}
	return time.Duration(*c.ended-*c.joined) * time.Millisecond, true
}

// ChatReport reads the report of the caller's company. Only admin and API
// users read it: it shows every operator.
func (s *Service) ChatReport(ctx context.Context, f ReportFilter) (*ChatReport, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if c, _ := parley.CallerFrom(ctx); !c.HasAPIAccess() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "Only supervisors (admin and API users) read the chat reports.")
	}
	if f.Location == nil {
		f.Location = time.UTC
	}
	if !f.To.After(f.From) {
		return nil, parley.FieldError("to", "must be after from")
	}
	if f.To.Sub(f.From) > MaxReportDays*24*time.Hour+time.Hour {
		return nil, parley.FieldError("to", "the window may span at most %d days", MaxReportDays)
	}
	out := &ChatReport{From: f.From, To: f.To, Location: f.Location}
	var chats []reportChat
	menuNames, opNames := map[int64]string{}, map[int64]string{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		var err error
		chats, err = store.Collect(ctx, q, func(r store.Scanner) (c reportChat, err error) {
			var queued *int64
			err = r.Scan(&c.menu, &c.op, &c.status, &c.endReason, &c.created, &queued, &c.ended, &c.firstReply, &c.joined, &c.rating)
			if queued != nil {
				c.queued = *queued
			}
			return c, err
		}, `SELECT c.menu_id, c.operator_id, c.status, c.end_reason, c.created_at, c.queued_at, c.ended_at, c.first_reply_at,
			(SELECT MIN(p.joined_at) FROM chat_participants p WHERE p.chat_id = c.id AND p.kind = '`+PartOperator+`'),
			r.rating
			FROM chats c LEFT JOIN chat_ratings r ON r.chat_id = c.id
			WHERE c.company_id = ? AND c.created_at >= ? AND c.created_at < ? ORDER BY c.id LIMIT ?`,
			cid, f.From.UnixMilli(), f.To.UnixMilli(), MaxReportChats+1)
		if err != nil {
			return err
		}
		if len(chats) > MaxReportChats {
			return parley.FieldError("from", "the window holds more than %d chats; narrow it", MaxReportChats)
		}
		if err := names(ctx, q, `SELECT id, name FROM menus WHERE company_id = ?`, cid, menuNames); err != nil {
			return err
		}
		return names(ctx, q, `SELECT id, name FROM operators WHERE company_id = ?`, cid, opNames)
	})
	if err != nil {
		return nil, err
	}
	total := newAgg()
	menus, ops := map[int64]*agg{}, map[int64]*agg{}
	days := map[string]*agg{}
	for i := range chats {
		c := &chats[i]
		total.add(c)
		var m int64
		if c.menu != nil {
			m = *c.menu
		}
		aggOf(menus, m).add(c)
		if c.op != nil {
			aggOf(ops, *c.op).add(c)
		}
		aggOfDay(days, ms(c.created).In(f.Location).Format(time.DateOnly)).add(c)
	}
	out.Totals = total.row(0, "All chats")
	out.Menus = rows(menus, func(id int64) string {
		if id == 0 {
			return "No menu"
		}
		return menuNames[id]
	})
	out.Operators = rows(ops, func(id int64) string { return opNames[id] })
	// Every day of the window, chats or not, so a chart has no gaps.
	for d := f.From.In(f.Location); d.Before(f.To); d = startOfNextDay(d) {
		key := d.Format(time.DateOnly)
		a := days[key]
		if a == nil {
			a = newAgg()
		}
		r := a.row(0, key)
		out.Days = append(out.Days, ReportDay{Date: key, Chats: r.Chats, Abandoned: r.Abandoned, CSATCount: r.CSATCount, CSATAvg: r.CSATAvg})
	}
	return out, nil
}

// startOfNextDay is midnight after t in t's location (DST-proof: days are
// not always 24 hours).
func startOfNextDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
}

func names(ctx context.Context, q store.Querier, query string, cid int64, into map[int64]string) error {
	_, err := store.Collect(ctx, q, func(r store.Scanner) (struct{}, error) {
		var id int64
		var name string
		err := r.Scan(&id, &name)
		into[id] = name
		return struct{}{}, err
	}, query, cid)
	return err
}

// agg gathers one row's chats.
type agg struct {
	chats, ended, abandoned int
	first, handle           []time.Duration
	ratings                 []int
}

func newAgg() *agg { return &agg{} }

func aggOf(m map[int64]*agg, id int64) *agg {
	if m[id] == nil {
		m[id] = newAgg()
	}
	return m[id]
}

func aggOfDay(m map[string]*agg, day string) *agg {
	if m[day] == nil {
		m[day] = newAgg()
	}
	return m[day]
}

func (a *agg) add(c *reportChat) {
	a.chats++
	if c.ended != nil {
		a.ended++
	}
	if c.abandoned() {
		a.abandoned++
	}
	if d, ok := c.firstResponse(); ok {
		a.first = append(a.first, d)
	}
	if d, ok := c.handle(); ok {
		a.handle = append(a.handle, d)
	}
	if c.rating != nil {
		a.ratings = append(a.ratings, int(*c.rating))
	}
}

func (a *agg) row(id int64, name string) ReportRow {
	r := ReportRow{ID: id, Name: name, Chats: a.chats, Ended: a.ended, Abandoned: a.abandoned,
		FirstResponse: summarise(a.first), Handle: summarise(a.handle), CSATCount: len(a.ratings)}
	if len(a.ratings) > 0 {
		sum := 0
		for _, v := range a.ratings {
			sum += v
		}
		avg := math.Round(float64(sum)/float64(len(a.ratings))*100) / 100
		r.CSATAvg = &avg
	}
	return r
}

func rows(m map[int64]*agg, name func(int64) string) []ReportRow {
	out := make([]ReportRow, 0, len(m))
	for id, a := range m {
		out = append(out, a.row(id, name(id)))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Chats != out[j].Chats {
			return out[i].Chats > out[j].Chats
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// summarise answers the count, mean and nearest-rank percentiles of ds.
func summarise(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ds[max(i, 0)]
	}
	return Durations{Count: len(ds), Avg: sum / time.Duration(len(ds)), P50: rank(0.5), P90: rank(0.9)}
}
