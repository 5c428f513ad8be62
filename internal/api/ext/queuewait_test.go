package ext_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// heldTrunk answers a call only when the test says how: calls stay live
// (their channel busy) until release.
type heldTrunk struct {
	dialled chan string // call UUIDs, as they are dialled
	release chan string // the result of the next held call
}

func (h *heldTrunk) Dial(ctx context.Context, req dialer.CallRequest) (dialer.Conn, string, error) {
	h.dialled <- req.CallUUID
	select {
	case res := <-h.release:
		return nil, res, nil
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

type queueWait struct {
	UUID   string `json:"uuid"`
	Status string `json:"status"`
	Wait   struct {
		Reason  string  `json:"reason"`
		Until   *string `json:"until"`
		Message string  `json:"message"`
	} `json:"wait"`
}

// TestQueueExplainsWaits: GET /queue/dialog says why each dialog waits,
// with the time the wait ends when there is one: due; the channel limit
// reached while a call is live; a retry after the agent's delay at a
// time; stopped; outside the time slots until the next window opens (on
// the agent's wall clock, Moscow here). The statistics' 404 says it too.
func TestQueueExplainsWaits(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		held := &heldTrunk{dialled: make(chan string, 4), release: make(chan string)}
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true, Configure: func(c *server.Config) {
			c.Trunks = map[string]dialer.Trunk{"held": held}
		}})
		// Friday 2026-11-20 12:00 UTC is 15:00 in Moscow.
		clk := &testClock{now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
		env.Dialer.Now, env.Dialogs.Now = clk.Now, clk.Now
		tn := env.NewTenant(t, "Waits")
		var a struct {
			AgentUUID string `json:"agent_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/company-agents", tn.Token, map[string]any{"name": "Held", "timezone": "Europe/Moscow", "trunk_name": "held"}), 201).JSON(t, &a)
		q := "?agent_uuid=" + a.AgentUUID
		mustStatus(t, env.Do(t, "PUT", ext.Prefix+"/agent-settings/general"+q, tn.Token,
			map[string]any{"delay": "00:30", "recall_count": 2, "total_channel_limit": 1}), 200)
		var first, second struct {
			DialogUUID string `json:"dialog_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialog-initial"+q, tn.Token, map[string]any{"msisdn": "79990000001"}), 200).JSON(t, &first)
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialog-initial"+q, tn.Token, map[string]any{"msisdn": "79990000002"}), 200).JSON(t, &second)

		queue := func() map[string]queueWait {
			t.Helper()
			var list []queueWait
			mustStatus(t, env.Do(t, "GET", ext.Prefix+"/queue/dialog"+q, tn.Token, nil), 200).JSON(t, &list)
			out := map[string]queueWait{}
			for _, d := range list {
				out[d.UUID] = d
			}
			return out
		}
		expect := func(what string, d queueWait, reason, until, says string) {
			t.Helper()
			got := ""
			if d.Wait.Until != nil {
				got = *d.Wait.Until
			}
			if d.Wait.Reason != reason || got != until || !strings.Contains(d.Wait.Message, says) {
				t.Errorf("%s: wait %+v (until %q); want %s until %q saying %q", what, d.Wait, got, reason, until, says)
			}
		}

		w := queue()
		expect("before any call", w[first.DialogUUID], "due", "", "Due now")

		// The first call holds the agent's only channel.
		if n, err := env.Dialer.Tick(context.Background()); err != nil || n != 1 {
			t.Fatalf("tick: %d calls, %v", n, err)
		}
		<-held.dialled
		w = queue()
		expect("the live call", w[first.DialogUUID], "calling", "", "in progress")
		expect("behind the live call", w[second.DialogUUID], "channel_limit", "", "All 1 channels of the agent are busy")

		// Busy: the next attempt waits for the agent's delay of 30 minutes.
		held.release <- "busy"
		env.Dialer.Wait()
		w = queue()
		expect("after a busy line", w[first.DialogUUID], "retry_delay", "2026-11-20 12:30:00", "Attempt 1 ended busy")
		expect("with the channel free", w[second.DialogUUID], "due", "", "Due now")

		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/queue/stop"+q, tn.Token, nil), 200)
		expect("stopped", queue()[second.DialogUUID], "stopped", "", "queue return")
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/queue/return"+q, tn.Token, nil), 200)

		// Only on Mondays 09:00-18:00 Moscow time: the window opens on
		// 2026-11-23 at 09:00 MSK, 06:00 UTC, for both.
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/agent-settings/time-slot"+q, tn.Token,
			map[string]any{"day": 1, "not_before": "09:00", "not_after": "18:00"}), 201)
		w = queue()
		expect("outside the slots", w[second.DialogUUID], "outside_time_slots", "2026-11-23 06:00:00", "2026-11-23 09:00 MSK")
		expect("a retry due while the slots are closed", w[first.DialogUUID], "retry_delay", "2026-11-23 06:00:00", "they open at 2026-11-23 09:00 MSK")
		if n, err := env.Dialer.Tick(context.Background()); err != nil || n != 0 {
			t.Fatalf("tick outside the slots: %d calls, %v", n, err)
		}

		// The statistics of a dialog that waits say why there are none yet.
		r := env.Do(t, "GET", ext.Prefix+"/statistic/dialog?dialog_uuid="+second.DialogUUID, tn.Token, nil)
		var e struct{ Message string }
		if r.Status == 404 {
			r.JSON(t, &e)
		}
		if r.Status != 404 || !strings.HasPrefix(e.Message, "No data for dialog report: not finished yet. Outside the agent's time slots") {
			t.Errorf("statistic of a waiting dialog: %d %s", r.Status, r.Body)
		}
	})
}
