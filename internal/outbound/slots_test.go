package outbound

import (
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/agent"
)

func TestSlotOpen(t *testing.T) {
	moscow, _ := time.LoadLocation("Europe/Moscow")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// 2026-11-20 is a Friday (ISO 5).
	at := func(loc *time.Location, s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	weekdays := []agent.TimeSlot{{Day: 5, NotBefore: "09:00", NotAfter: "18:00"}}
	night := []agent.TimeSlot{{Day: 5, NotBefore: "22:00", NotAfter: "02:00"}}
	sunday := []agent.TimeSlot{{Day: 7, NotBefore: "23:00", NotAfter: "01:00"}}
	allDay := []agent.TimeSlot{{Day: 5, NotBefore: "00:00", NotAfter: "24:00"}}
	for _, c := range []struct {
		name  string
		now   time.Time
		loc   *time.Location
		slots []agent.TimeSlot
		open  bool
	}{
		{"no slots is any time", at(moscow, "2026-11-20 03:00"), moscow, nil, true},
		{"inside", at(moscow, "2026-11-20 09:00"), moscow, weekdays, true},
		{"end is exclusive", at(moscow, "2026-11-20 18:00"), moscow, weekdays, false},
		{"other day", at(moscow, "2026-11-21 10:00"), moscow, weekdays, false},
		// 09:30 in Moscow is 06:30 UTC: the agent's zone decides, not UTC.
		{"agent zone, not UTC", at(time.UTC, "2026-11-20 06:30"), moscow, weekdays, true},
		{"agent zone, not UTC (closed)", at(time.UTC, "2026-11-20 15:30"), moscow, weekdays, false},
		{"before midnight", at(moscow, "2026-11-20 23:30"), moscow, night, true},
		{"after midnight, next day", at(moscow, "2026-11-21 01:59"), moscow, night, true},
		{"after the window", at(moscow, "2026-11-21 02:00"), moscow, night, false},
		{"after midnight of the slot's own day", at(moscow, "2026-11-20 01:00"), moscow, night, false},
		{"Sunday wraps to Monday", at(moscow, "2026-11-23 00:30"), moscow, sunday, true},
		{"24:00 end", at(moscow, "2026-11-20 23:59"), moscow, allDay, true},
		// DST: Berlin leaves summer time on Sunday 2026-10-25 at 03:00 -> 02:00.
		// A Sunday 09:00-10:00 slot opens at 09:00 local on both sides.
		{"DST day, local 09:30", at(berlin, "2026-10-25 09:30"), berlin, []agent.TimeSlot{{Day: 7, NotBefore: "09:00", NotAfter: "10:00"}}, true},
		{"DST day, UTC 07:30 is local 08:30", time.Date(2026, 10, 25, 7, 30, 0, 0, time.UTC), berlin, []agent.TimeSlot{{Day: 7, NotBefore: "09:00", NotAfter: "10:00"}}, false},
		{"summer time, UTC 07:30 is local 09:30", time.Date(2026, 10, 18, 7, 30, 0, 0, time.UTC), berlin, []agent.TimeSlot{{Day: 7, NotBefore: "09:00", NotAfter: "10:00"}}, true},
		// Spring forward 2026-03-29 02:00 -> 03:00: a 02:00-03:00 slot never opens that night.
		{"skipped hour", time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), berlin, []agent.TimeSlot{{Day: 7, NotBefore: "02:00", NotAfter: "03:00"}}, false},
	} {
		if got := SlotOpen(c.now, c.loc, c.slots); got != c.open {
			t.Errorf("%s: SlotOpen(%s) = %v, want %v", c.name, c.now.In(c.loc).Format("Mon 2006-01-02 15:04 MST"), got, c.open)
		}
	}
}

func TestNextSlotOpening(t *testing.T) {
	moscow, _ := time.LoadLocation("Europe/Moscow")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	weekdays := []agent.TimeSlot{}
	for d := 1; d <= 5; d++ {
		weekdays = append(weekdays, agent.TimeSlot{Day: d, NotBefore: "09:00", NotAfter: "18:00"})
	}
	for _, c := range []struct {
		name  string
		now   time.Time
		loc   *time.Location
		slots []agent.TimeSlot
		want  time.Time
	}{
		{"open now", time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC), moscow, weekdays, time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC)},
		{"no slots", time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC), moscow, nil, time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)},
		// Friday 23:00 in Moscow: Monday 09:00 MSK is 06:00 UTC.
		{"Friday evening", time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC), moscow, weekdays, time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)},
		{"before today's window", time.Date(2026, 11, 19, 4, 0, 0, 0, time.UTC), moscow, weekdays, time.Date(2026, 11, 19, 6, 0, 0, 0, time.UTC)},
		{"one slot a week, just missed", time.Date(2026, 11, 16, 16, 0, 0, 0, time.UTC), moscow, weekdays[:1], time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)},
		// Spring forward 2026-03-29: a Sunday 02:00-03:00 slot never opens
		// that night; the next Sunday's does, at 02:00 CEST (00:00 UTC).
		{"skipped hour", time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC), berlin, []agent.TimeSlot{{Day: 7, NotBefore: "02:00", NotAfter: "03:00"}}, time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)},
	} {
		got, ok := NextSlotOpening(c.now, c.loc, c.slots)
		if !ok || !got.Equal(c.want) {
			t.Errorf("%s: NextSlotOpening = %s %v, want %s", c.name, got.UTC(), ok, c.want.UTC())
		} else if !SlotOpen(got, c.loc, c.slots) {
			t.Errorf("%s: the slots are not open at %s", c.name, got.UTC())
		}
	}
}
