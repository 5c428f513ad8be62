package handover_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/handover"
	"github.com/parley-cc/parley/internal/testenv"
)

// accepted is what an accept landed at the transfer timeout got.
type accepted struct {
	status int
	body   string
	sdp    string
	b      *browser
}

// acceptAtTimeout makes every transfer timeout of env send op's accept:
// when wait is true the accept completes before the timeout looks at the
// row; otherwise both go at once. The outcome comes on the channel.
func acceptAtTimeout(t *testing.T, env *testenv.Env, op operator, wait bool) <-chan accepted {
	out := make(chan accepted, 4)
	handover.SetExpiring(env.Handover, func(id int64) {
		b, offer := newBrowser(t)
		gate := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			<-gate
			r := env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", id), op.Token, map[string]any{"sdp": offer})
			var acc struct {
				SDP string `json:"sdp"`
			}
			if r.Status == 200 {
				r.JSON(t, &acc)
			}
			out <- accepted{status: r.Status, body: string(r.Body), sdp: acc.SDP, b: b}
		}()
		close(gate)
		if wait {
			<-done
		}
	})
	return out
}

// finish checks one call whose accept met its transfer timeout: exactly
// one of them won, the loser was told (409 or the script's False), and
// the operator's capacity is free at the end.
func finish(t *testing.T, env *testenv.Env, ten *testenv.Tenant, op operator, dialog string, got accepted) (acceptWon bool) {
	t.Helper()
	trs := transfers(t, env, ten.Token, "all")
	if len(trs) == 0 {
		t.Fatal("no transfer")
	}
	tr := trs[0] // newest first
	switch got.status {
	case 200:
		if tr.State != "talking" {
			t.Fatalf("the accept won (200) but the transfer is %s/%s", tr.State, tr.Result)
		}
		if err := got.b.Accept(got.sdp); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got.b.Connected():
		case <-time.After(10 * time.Second):
			t.Fatal("the accepted peer did not connect")
		}
		mark := got.b.mark()
		waitFor(t, 10*time.Second, "the callee's audio", func() bool { return got.b.rms(mark) >= 300 })
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/hangup", tr.ID), op.Token, map[string]any{}), 200)
		if row := stats(t, env, ten, dialog); row["result"] != "transferred" {
			t.Errorf("the accept won, the statistics say %v", row)
		}
	case 409:
		if !strings.Contains(got.body, "not ringing for you") {
			t.Errorf("the losing accept's 409 does not say why: %s", got.body)
		}
		waitFor(t, 10*time.Second, "the transfer's end", func() bool {
			tr = transfers(t, env, ten.Token, "all")[0]
			return tr.State == "ended"
		})
		if tr.Result != "timeout" {
			t.Errorf("the timeout won, the transfer ended %s", tr.Result)
		}
		if row := stats(t, env, ten, dialog); row["result"] == "transferred" || row["busy"] != "yes" {
			t.Errorf("the timeout won: the script should have gone on (busy): %v", row)
		}
	default:
		t.Fatalf("accept at the timeout: %d %s", got.status, got.body)
	}
	got.b.Close()
	var me struct {
		Load int `json:"load"`
	}
	waitFor(t, 10*time.Second, "the operator's capacity back", func() bool {
		must(t, env.Do(t, "GET", "/v1/operators/me", op.Token, nil), 200).JSON(t, &me)
		return me.Load == 0
	})
	return got.status == 200
}

// TestAcceptJustBeforeTimeout: an accept that takes the row as the
// transfer timeout fires wins; the timeout hands the call to its peer
// instead of ending a transfer the operator already talks (the old code
// ended it "accepted" with nobody bridged and told the script False).
func TestAcceptJustBeforeTimeout(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 30, 5, 1)
		op := online(t, env, ten.OperatorToken)
		outcome := acceptAtTimeout(t, env, op, true)
		dialog := call(t, env, ten, "79990001155", 60)
		ringing(t, env, op)
		if !finish(t, env, ten, op, dialog, <-outcome) {
			t.Error("the accept that took the row first lost")
		}
	})
}

// TestAcceptRacesTimeout: an accept and the transfer timeout at the same
// moment, a few times: whichever wins, exactly one does, the other gets
// a clear 409 (or the script its False), and the capacity is consistent.
func TestAcceptRacesTimeout(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 30, 5, 1)
		op := online(t, env, ten.OperatorToken)
		outcome := acceptAtTimeout(t, env, op, false)
		wins := 0
		const rounds = 3
		for i := range rounds {
			dialog := call(t, env, ten, fmt.Sprintf("7999000116%d", i), 60)
			ringing(t, env, op)
			if finish(t, env, ten, op, dialog, <-outcome) {
				wins++
			}
		}
		t.Logf("the accept won %d of %d races", wins, rounds)
	})
}
