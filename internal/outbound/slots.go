package outbound

import (
	"time"

	"github.com/parley-cc/parley/internal/agent"
)

// SlotOpen reports whether now falls in one of the slots, read on the wall
// clock of loc. No slots means any time. A slot whose not_after is earlier
// than its not_before runs past midnight into the next day.
//
// Wall-clock reading makes DST changes come out as people expect: a 09:00
// slot opens at 09:00 local time on both sides of a change, and a slot over
// a skipped hour is simply shorter that night.
func SlotOpen(now time.Time, loc *time.Location, slots []agent.TimeSlot) bool {
	if len(slots) == 0 {
		return true
	}
	local := now.In(loc)
	day := isoWeekday(local.Weekday())
	minute := local.Hour()*60 + local.Minute()
	for _, s := range slots {
		from, to := agent.ClockMinutes(s.NotBefore), agent.ClockMinutes(s.NotAfter)
		switch {
		case from < to:
			if s.Day == day && minute >= from && minute < to {
				return true
			}
		default: // past midnight: [from, 24:00) on Day, [00:00, to) the day after
			if (s.Day == day && minute >= from) || (s.Day%7+1 == day && minute < to) {
				return true
			}
		}
	}
	return false
}

func isoWeekday(d time.Weekday) int {
	if d == time.Sunday {
		return 7
	}
	return int(d)
}

// NextSlotOpening returns the first instant at or after now when the slots
// are open: now itself when they are open (or there are none), otherwise
// the next opening of a slot on loc's wall clock. A week ahead covers
// every slot; ok is false only when no slot can ever open.
func NextSlotOpening(now time.Time, loc *time.Location, slots []agent.TimeSlot) (at time.Time, ok bool) {
	if SlotOpen(now, loc, slots) {
		return now, true
	}
	local := now.In(loc)
	var best time.Time
	for days := 0; days <= 7; days++ {
		date := local.AddDate(0, 0, days)
		for _, s := range slots {
			if s.Day != isoWeekday(date.Weekday()) {
				continue
			}
			from := agent.ClockMinutes(s.NotBefore)
			open := time.Date(date.Year(), date.Month(), date.Day(), from/60, from%60, 0, 0, loc)
			// A wall-clock time skipped by a DST change normalizes to later;
			// it still has to fall in the window to count.
			if !open.After(now) || !SlotOpen(open, loc, slots) {
				continue
			}
			if best.IsZero() || open.Before(best) {
				best = open
			}
		}
		if !best.IsZero() {
			return best, true
		}
	}
	return time.Time{}, false
}
