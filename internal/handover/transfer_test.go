package handover_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/voice/bridge"
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
		time.Sleep(3 * time.Second) // the callee hears the hold prompt, then hold music
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
		// A supervisor listens, receive-only: they hear the call.
		var live struct {
			Items []struct {
				CallID int64  `json:"call_id"`
				State  string `json:"state"`
			} `json:"items"`
			PerAgent []struct {
				InTransfer int `json:"in_transfer"`
				Limit      int `json:"routing_channel_limit"`
			} `json:"per_agent"`
		}
		must(t, env.Do(t, "GET", "/v1/live-calls", ten.Token, nil), 200).JSON(t, &live)
		if len(live.Items) != 1 || live.Items[0].State != "transfer" || len(live.PerAgent) != 1 || live.PerAgent[0].InTransfer != 1 || live.PerAgent[0].Limit != 1 {
			t.Fatalf("live calls: %+v", live)
		}
		sup, loffer := newListener(t)
		var ans struct {
			SDP string `json:"sdp"`
		}
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/live-calls/%d/listen", live.Items[0].CallID), ten.Token, map[string]any{"sdp": loffer}), 200).JSON(t, &ans)
		if err := sup.Accept(ans.SDP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sup.Connected():
		case <-time.After(10 * time.Second):
			t.Fatal("the listener did not connect")
		}
		smark := sup.mark()
		time.Sleep(time.Second)
		if rms := sup.rms(smark); rms < 300 {
			t.Errorf("the supervisor hears RMS %.0f: silence", rms)
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
		// While waiting the callee heard hold music (after the prompt).
		hold := 0.0
		for _, hz := range bridge.HoldNotes() {
			hold = max(hold, bestTone(left, hz))
		}
		if hold < 0.3 {
			t.Errorf("no hold music in what the callee heard (best note %.2f)", hold)
		}
		// The transcript has the handover turn naming the operator.
		var turns struct {
			Data []struct {
				ActionAlias string         `json:"action_alias"`
				Data        map[string]any `json:"data"`
			} `json:"data"`
		}
		must(t, env.Do(t, "GET", ext+"/statistic/"+row["call_uuid"].(string)+"/transcription?type=json", ten.Token, nil), 200).JSON(t, &turns)
		handed := false
		for _, tu := range turns.Data {
			if tu.ActionAlias == "handover" && tu.Data["operator_name"] != "" && tu.Data["operator_id"] == float64(op.ID) {
				handed = true
			}
		}
		if !handed {
			t.Errorf("no handover turn naming the operator: %+v", turns)
		}
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/disposition", tr.ID), op.Token,
			map[string]any{"output_entities": map[string]string{"outcome": "sold"}, "note": "wants a callback"}), 200)
		row = stats(t, env, ten, dialog)
		if row["transfer_note"] != "wants a callback" || row["outcome"] != "sold" {
			t.Errorf("statistics after the disposition: %v", row)
		}
	})
}
