// Package dialer calls queued dialogs: a loop that claims the dialogs that
// are due, within each agent's time slots and channel limit, places the
// calls through a trunk, runs the agent's script on them, and hands the
// outcome back to the outbound service, which stores it. It holds no SQL:
// dialogs, calls and their leases belong to internal/outbound, agents'
// settings to internal/agent. Several processes may dial from one
// PostgreSQL database.
package dialer

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
