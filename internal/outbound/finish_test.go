package outbound_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestFinishNeedsTheLease drives the dialer's side of the service by hand:
// an outcome is stored only while its process still holds the dialog's
// lease. A dialog recovered from a stalled process (its lease expired) is
// claimed again by another, and the stalled one's late outcome is dropped
// (ErrLeaseLost, FinishAll's lost) while the new holder's is stored.
func TestFinishNeedsTheLease(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		start := time.Now()
		clk := newClock(start)
		env, ten := manualEnv(t, dsn, clk)
		ctx := context.Background()
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/general?agent_uuid="+ten.AgentUUID, ten.Token,
			map[string]any{"total_channel_limit": 2}), 200)
		first := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000001"})
		second := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000002"})
		actx := parley.WithCaller(ctx, parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAdmin})
		a, err := env.Agents.Get(actx, ten.AgentUUID)
		if err != nil {
			t.Fatal(err)
		}
		dialing, err := env.Agents.Dialing(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}

		stalled, err := env.Dialogs.Claim(ctx, dialing, "node-a", time.Minute)
		if err != nil || len(stalled) != 2 {
			t.Fatalf("claim: %d attempts, %v", len(stalled), err)
		}
		if again, err := env.Dialogs.Claim(ctx, dialing, "node-b", time.Minute); err != nil || len(again) != 0 {
			t.Fatalf("a second claim within the channel limit of 2 took %d, %v", len(again), err)
		}
		// node-a stalls past its lease; the dialogs go back to the queue.
		clk.Set(start.Add(2 * time.Minute))
		if n, err := env.Dialogs.RecoverExpired(ctx); err != nil || n != 2 {
			t.Fatalf("recovered %d, %v", n, err)
		}
		fresh, err := env.Dialogs.Claim(ctx, dialing, "node-b", time.Minute)
		if err != nil || len(fresh) != 2 || fresh[0].Number != 1 {
			t.Fatalf("claim after recovery: %+v, %v", fresh, err)
		}
		answered := func(at *outbound.Attempt) *outbound.Outcome {
			return &outbound.Outcome{Result: outbound.ResultAnswered, Kind: "completed", Outputs: map[string]string{},
				Answered: at.StartedAt, Ended: at.StartedAt.Add(time.Second)}
		}
		if err := env.Dialogs.Finish(ctx, stalled[0], answered(stalled[0])); !errors.Is(err, outbound.ErrLeaseLost) {
			t.Fatalf("the stalled process's outcome: %v, want ErrLeaseLost", err)
		}
		lost, err := env.Dialogs.FinishAll(ctx, []outbound.Finished{
			{Attempt: stalled[1], Outcome: answered(stalled[1])}, {Attempt: fresh[0], Outcome: answered(fresh[0])}})
		if err != nil || len(lost) != 1 || lost[0] != stalled[1] {
			t.Fatalf("FinishAll: lost %v, %v", lost, err)
		}
		stats := func(id string) int {
			return env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+id, ten.Token, nil).Status
		}
		done, pending := fresh[0].DialogUUID, fresh[1].DialogUUID
		if stats(done) != 200 || stats(pending) != 404 || (done != first && done != second) {
			t.Errorf("statistics: %s %d, %s %d", done, stats(done), pending, stats(pending))
		}
		var calls []map[string]any
		mustStatus(t, env.Do(t, "GET", ext+"/queue/call?agent_uuid="+ten.AgentUUID, ten.Token, nil), 200).JSON(t, &calls)
		states := map[any]int{}
		for _, c := range calls {
			states[c["status"]]++
		}
		if len(calls) != 4 || states["interrupted"] != 2 || states["ended"] != 1 || states["live"] != 1 {
			t.Errorf("calls: %v", calls)
		}
	})
}
