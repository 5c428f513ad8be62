package outbound

import (
	"fmt"
	"time"

	"github.com/parley-cc/parley/internal/agent"
)

// WaitReason says why a dialog that is not finished is not being called:
// what a supervisor looking at a queue that does not move needs to know.
type WaitReason string

const (
	WaitCalling    WaitReason = "calling"            // a call is in progress
	WaitStopped    WaitReason = "stopped"            // paused by queue stop; queue return resumes it
	WaitRetry      WaitReason = "retry_delay"        // an attempt failed; the next one waits for the agent's delay
	WaitSlots      WaitReason = "outside_time_slots" // due, but the agent's time slots are closed
	WaitChannels   WaitReason = "channel_limit"      // due, but every channel of the agent is busy
	WaitNoChannels WaitReason = "no_channels"        // the agent's total_channel_limit is 0: it calls nobody
	WaitDue        WaitReason = "due"                // the dialer takes it at its next pass
)

// Wait is the explanation of one dialog's wait. Until is when the wait
// ends, when that is known (a retry's time, the next window's opening);
// zero otherwise.
type Wait struct {
	Reason  WaitReason
	Until   time.Time
	Message string
}

// Explain says why a dialog in state st waits at now: the one place that
// decides it, from the dialog (its state, the time its next attempt is
// due, its attempts and last result), the agent's dialing settings and
// time slots, and the agent's live calls. The dialer claims by the same
// rules (DueAgents, SlotOpen, Claim), so the explanation is what the
// dialer does.
func Explain(st DialogState, nextAttempt time.Time, attempts int, lastResult string, a *agent.Dialing, live int, now time.Time) Wait {
	switch st {
	case DialogCalling:
		return Wait{Reason: WaitCalling, Message: fmt.Sprintf("A call is in progress (attempt %d).", attempts)}
	case DialogStopped:
		return Wait{Reason: WaitStopped, Message: "Stopped by a queue stop; a queue return puts it back in the queue."}
	case DialogQueued:
	default:
		return Wait{Reason: WaitReason(st), Message: fmt.Sprintf("The dialog is %s.", st)}
	}
	if a.ChannelLimit <= 0 {
		return Wait{Reason: WaitNoChannels, Message: "The agent's total_channel_limit is 0, so it places no calls; raise it in the agent's general settings."}
	}
	if nextAttempt.After(now) {
		w := Wait{Reason: WaitRetry, Until: nextAttempt,
			Message: fmt.Sprintf("Attempt %d ended %s; the next attempt is due at %s, after the agent's delay of %s.",
				attempts, orUnknown(lastResult), when(nextAttempt, a.Location), clock(a.Delay))}
		if open, ok := NextSlotOpening(nextAttempt, a.Location, a.Slots); ok && open.After(nextAttempt) {
			w.Until = open
			w.Message += fmt.Sprintf(" The agent's time slots are closed then; they open at %s.", when(open, a.Location))
		}
		return w
	}
	if !SlotOpen(now, a.Location, a.Slots) {
		open, ok := NextSlotOpening(now, a.Location, a.Slots)
		if !ok {
			return Wait{Reason: WaitSlots, Message: "Outside the agent's time slots, which never open; change them in the agent's settings."}
		}
		return Wait{Reason: WaitSlots, Until: open,
			Message: fmt.Sprintf("Outside the agent's time slots (%s); the next window opens at %s.", a.Location, when(open, a.Location))}
	}
	if live >= a.ChannelLimit {
		return Wait{Reason: WaitChannels,
			Message: fmt.Sprintf("All %d channels of the agent are busy (total_channel_limit); it is called when one frees.", a.ChannelLimit)}
	}
	return Wait{Reason: WaitDue, Message: "Due now: the dialer calls it at its next pass."}
}

// when writes t on the agent's wall clock, with UTC beside it.
func when(t time.Time, loc *time.Location) string {
	u := t.UTC().Format("2006-01-02 15:04:05 UTC")
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return u
	}
	return t.In(loc).Format("2006-01-02 15:04 MST") + " (" + loc.String() + "; " + u + ")"
}

func clock(d time.Duration) string {
	m := int(d / time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

func orUnknown(result string) string {
	if result == "" {
		return "without a result"
	}
	return result
}
