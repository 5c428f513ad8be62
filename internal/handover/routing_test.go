package handover_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// acceptAndHangUp accepts tr as op with an in-process peer, then hangs up.
func acceptAndHangUp(t *testing.T, env *testenv.Env, op operator, id int64) {
	t.Helper()
	b, offer := newBrowser(t)
	defer b.Close()
	var acc struct {
		SDP string `json:"sdp"`
	}
	must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", id), op.Token, map[string]any{"sdp": offer}), 200).JSON(t, &acc)
	if err := b.Accept(acc.SDP); err != nil {
		t.Fatal(err)
	}
	<-b.Connected()
	time.Sleep(300 * time.Millisecond)
	must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/hangup", id), op.Token, map[string]any{}), 200)
}

// TestRoutingChannelLimit: with routing_channel_limit 1, of two calls
// handed over at once one is offered and the other's s.transfer()
// returns False (the script sets "busy" and goes on).
func TestRoutingChannelLimit(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 30, 60, 1)
		op := online(t, env, ten.OperatorToken)
		d1 := call(t, env, ten, "79990000001", 60)
		d2 := call(t, env, ten, "79990000002", 60)
		tr := ringing(t, env, op)
		// The other call found the limit and went on without a transfer.
		var other string
		waitFor(t, 20*time.Second, "the refused call's statistics", func() bool {
			for _, d := range []string{d1, d2} {
				r := env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+d, ten.Token, nil)
				if r.Status == 200 {
					other = d
					return true
				}
			}
			return false
		})
		row := stats(t, env, ten, other)
		if row["busy"] != "yes" || row["result"] != "completed" {
			t.Errorf("the refused call: %v", row)
		}
		acceptAndHangUp(t, env, op, tr.ID)
		taken := d1
		if other == d1 {
			taken = d2
		}
		if row := stats(t, env, ten, taken); row["result"] != "transferred" || row["busy"] != nil {
			t.Errorf("the transferred call: %v", row)
		}
	})
}

// TestRingTimeoutMovesOn: not accepted within the ring timeout, the offer
// moves to the other operator, who accepts; the first operator can no
// longer accept it (409) and no longer sees it.
func TestRingTimeoutMovesOn(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 5, 60, 1)
		op1 := online(t, env, ten.OperatorToken)
		op2 := newOperator(t, env, ten, "acme-op2")
		call(t, env, ten, "79990000001", 60)
		first := ringing(t, env, op1)
		second := ringing(t, env, op2) // 5 s later
		if first.ID != second.ID {
			t.Fatalf("different transfers: %d, %d", first.ID, second.ID)
		}
		b, offer := newBrowser(t)
		defer b.Close()
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", first.ID), op1.Token, map[string]any{"sdp": offer}), 409)
		if l := transfers(t, env, op1.Token, "live"); len(l) != 0 {
			t.Errorf("the first operator still sees the offer: %+v", l)
		}
		acceptAndHangUp(t, env, op2, second.ID)
	})
}

// TestOperatorOfflineWhileRinging: the operator the call rings for goes
// offline; the offer moves to the other operator at once (long before
// the ring timeout) and the first one's capacity is released.
func TestOperatorOfflineWhileRinging(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 120, 300, 1)
		op1 := online(t, env, ten.OperatorToken)
		op2 := newOperator(t, env, ten, "acme-op2")
		call(t, env, ten, "79990000001", 60)
		first := ringing(t, env, op1)
		must(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", op1.ID), op1.Token, map[string]any{"status": "offline"}), 200)
		start := time.Now()
		second := ringing(t, env, op2)
		if second.ID != first.ID || time.Since(start) > 60*time.Second {
			t.Fatalf("moved to %+v after %s", second, time.Since(start))
		}
		var me struct {
			Load int `json:"load"`
		}
		must(t, env.Do(t, "GET", "/v1/operators/me", op1.Token, nil), 200).JSON(t, &me)
		if me.Load != 0 {
			t.Errorf("the offline operator's load is %d", me.Load)
		}
		acceptAndHangUp(t, env, op2, second.ID)
	})
}

// TestCalleeHangsUpWhileWaiting: the callee hangs up (sim_hold) while the
// offer rings; the transfer ends as callee_hangup and the operator's
// capacity is released.
func TestCalleeHangsUpWhileWaiting(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 60, 120, 1)
		op := online(t, env, ten.OperatorToken)
		dialog := call(t, env, ten, "79990000001", 2)
		tr := ringing(t, env, op)
		var got transfer
		waitFor(t, 20*time.Second, "the transfer's end", func() bool {
			must(t, env.Do(t, "GET", fmt.Sprintf("/v1/call-transfers/%d", tr.ID), ten.Token, nil), 200).JSON(t, &got)
			return got.State == "ended"
		})
		if got.Result != "callee_hangup" {
			t.Errorf("ended: %+v", got)
		}
		var me struct {
			Load int `json:"load"`
		}
		must(t, env.Do(t, "GET", "/v1/operators/me", op.Token, nil), 200).JSON(t, &me)
		if me.Load != 0 {
			t.Errorf("the operator's load is %d", me.Load)
		}
		if row := stats(t, env, ten, dialog); row["result"] == "transferred" || row["busy"] != nil {
			t.Errorf("statistics: %v", row)
		}
	})
}

// TestTransferTimeoutNobodyOnline: nobody online, the transfer times out
// and s.transfer() returns False: the script goes on and sets "busy". An
// operator of another company, online, never sees the offer.
func TestTransferTimeoutNobodyOnline(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 5, 5, 1)
		other := env.NewTenant(t, "Other")
		stranger := online(t, env, other.OperatorToken)
		dialog := call(t, env, ten, "79990000001", 60)
		var trs []transfer
		waitFor(t, 20*time.Second, "the transfer", func() bool {
			trs = transfers(t, env, ten.Token, "all")
			return len(trs) == 1
		})
		if l := transfers(t, env, stranger.Token, "all"); len(l) != 0 {
			t.Errorf("another company's operator sees %+v", l)
		}
		b, offer := newBrowser(t)
		defer b.Close()
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", trs[0].ID), stranger.Token, map[string]any{"sdp": offer}), 404)
		row := stats(t, env, ten, dialog)
		if row["busy"] != "yes" || row["result"] != "completed" {
			t.Errorf("statistics: %v", row)
		}
		var got transfer
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/call-transfers/%d", trs[0].ID), ten.Token, nil), 200).JSON(t, &got)
		if got.State != "ended" || got.Result != "timeout" || got.WaitSeconds < 4 {
			t.Errorf("transfer: %+v", got)
		}
	})
}
