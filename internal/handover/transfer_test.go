package handover_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestTransferHappyPath: the script hands the simulated callee over, the
// offer rings for the online operator, who accepts with a WebRTC offer:
// audio flows both ways (the operator hears the callee's speech, the
// recording holds the operator's tone where the callee heard it), the
// transcript names the operator, and the statistics say transferred,
// with the operator and the durations.
func TestTransferHappyPath(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 20, 60, 1)
		op := online(t, env, ten.OperatorToken)
		dialog := call(t, env, ten, "79990001122", 60)

		tr := ringing(t, env, op)
		if tr.Phone != "79990001122" || len(tr.Transcript) == 0 {
			t.Errorf("offer: %+v", tr)
		}
		b, offer := newBrowser(t)
		var acc struct {
			SDP      string   `json:"sdp"`
			Transfer transfer `json:"transfer"`
		}
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", tr.ID), op.Token, map[string]any{"sdp": offer}), 200).JSON(t, &acc)
		if acc.Transfer.State != "talking" {
			t.Fatalf("accepted: %+v", acc.Transfer)
		}
		if err := b.Accept(acc.SDP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-b.Connected():
		case <-time.After(10 * time.Second):
			t.Fatal("the operator's peer did not connect")
		}
		b.talk(1000)
		mark := b.mark()
		time.Sleep(1500 * time.Millisecond)
		if rms := b.rms(mark); rms < 300 {
			t.Errorf("the operator hears the callee at RMS %.0f: silence", rms)
		}
		// A second accept, by the same operator, is refused: it talks.
		b2, offer2 := newBrowser(t)
		defer b2.Close()
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", tr.ID), op.Token, map[string]any{"sdp": offer2}), 409)

		var got transfer
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/hangup", tr.ID), op.Token, map[string]any{}), 200).JSON(t, &got)
		if got.State != "ended" || got.Result != "accepted" || got.TalkSeconds <= 0 {
			t.Errorf("after hang-up: %+v", got)
		}
		b.Close()
		row := stats(t, env, ten, dialog)
		if row["result"] != "transferred" || row["transfer_operator_id"] != float64(op.ID) || row["transfer_talk_seconds"].(float64) <= 1 ||
			row["transfer_wait_seconds"] == nil {
			t.Errorf("statistics: %v", row)
		}
		left, right := recording(t, env, ten, row["call_uuid"].(string))
		if g := bestTone(left, 1000); g < 0.3 {
			t.Errorf("the recording's callee side heard the operator's tone at most %.2f", g)
		}
		if rms := voicetestRMS(right); rms < 100 {
			t.Errorf("the recording's callee channel is silent (RMS %.0f)", rms)
		}
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/disposition", tr.ID), op.Token,
			map[string]any{"output_entities": map[string]string{"outcome": "sold"}, "note": "wants a callback"}), 200)
		row = stats(t, env, ten, dialog)
		if row["transfer_note"] != "wants a callback" || row["outcome"] != "sold" {
			t.Errorf("statistics after the disposition: %v", row)
		}
	})
}
