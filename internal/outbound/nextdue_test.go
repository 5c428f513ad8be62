package outbound_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestNextDueAfter: what the dialer sleeps until. A dialog retried after
// the agent's delay is due then; one due already at the pass is left out
// (the pass dialled it or something that wakes the dialer holds it back);
// an agent without channels has nothing due; a call in progress is due
// for recovery when its lease runs out.
func TestNextDueAfter(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		clk := newClock(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
		env, ten := manualEnv(t, dsn, clk)
		ctx := context.Background()
		q := ext + "/agent-settings/general?agent_uuid=" + ten.AgentUUID
		mustStatus(t, env.Do(t, "PUT", q, ten.Token, map[string]any{"recall_count": 1, "delay": "00:10", "total_channel_limit": 1}), 200)
		if _, ok, err := env.Dialogs.NextDueAfter(ctx, clk.Now()); err != nil || ok {
			t.Fatalf("empty queue: due %v %v", ok, err)
		}
		upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000001", "sim_answer": "no_answer"})
		if _, ok, err := env.Dialogs.NextDueAfter(ctx, clk.Now()); err != nil || ok {
			t.Fatalf("a dialog due at the pass itself is left out: %v %v", ok, err)
		}
		if at, ok, err := env.Dialogs.NextDueAfter(ctx, clk.Now().Add(-time.Second)); err != nil || !ok || !at.Equal(clk.Now()) {
			t.Fatalf("a dialog queued after the pass: %v %v %v", at, ok, err)
		}
		if n := tick(t, env); n != 1 {
			t.Fatalf("%d calls", n)
		}
		at, ok, err := env.Dialogs.NextDueAfter(ctx, clk.Now())
		if err != nil || !ok || !at.Equal(clk.Now().Add(10*time.Minute)) {
			t.Fatalf("the retry after 10 minutes: %v %v %v", at, ok, err)
		}
		mustStatus(t, env.Do(t, "PUT", q, ten.Token, map[string]any{"total_channel_limit": 0}), 200)
		if _, ok, err := env.Dialogs.NextDueAfter(ctx, clk.Now()); err != nil || ok {
			t.Fatalf("an agent without channels: %v %v", ok, err)
		}
	})
}
