package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/trunk"
)

// The voice handover (issue 12) driven through the pages: a virtual
// agent's call rings in the operator's console, the operator answers in
// the browser (WebRTC, the fake microphone playing an espeak-ng phrase),
// and the call's record shows it. The API is notes/transfer-api.md's.

// callTransfer is the API's CallTransfer, as far as the tests read it.
type callTransfer struct {
	ID             int64             `json:"id"`
	DialogID       int64             `json:"dialog_id"`
	CallID         int64             `json:"call_id"`
	AgentName      string            `json:"agent_name"`
	Phone          string            `json:"phone"`
	State          string            `json:"state"`
	Result         string            `json:"result"`
	OperatorID     *int64            `json:"operator_id"`
	OperatorName   *string           `json:"operator_name"`
	Muted          bool              `json:"muted"`
	Held           bool              `json:"held"`
	AcceptedAt     *time.Time        `json:"accepted_at"`
	EndedAt        *time.Time        `json:"ended_at"`
	WaitSeconds    float64           `json:"wait_seconds"`
	TalkSeconds    float64           `json:"talk_seconds"`
	OutputEntities map[string]string `json:"output_entities"`
	Disposition    *struct {
		OutputEntities map[string]string `json:"output_entities"`
		Note           string            `json:"note"`
	} `json:"disposition"`
}

// voiceEnv starts a server whose WebRTC engine gathers loopback
// candidates (the browser is on this machine), with espeak-ng as its
// voice when speak, else the tone stand-in.
func voiceEnv(t *testing.T, dsn string, speak bool) *testenv.Env {
	t.Helper()
	return testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
		c.WebRTC.Loopback = true
		c.WebRTC.LocalIPs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		if speak {
			c.Synth = nil // espeak-ng, the production default
		}
	}})
}

// operatorID is the operator user's id, from GET /v1/operators/me.
func operatorID(t *testing.T, env *testenv.Env, token string) (int64, string) {
	t.Helper()
	var me struct {
		ID   int64  `json:"operator_id"`
		Name string `json:"name"`
	}
	cMust(t, env.Do(t, "GET", "/v1/operators/me", token, nil), 200).JSON(t, &me)
	return me.ID, me.Name
}

// getTransfer reads one transfer as the user of token.
func getTransfer(t *testing.T, env *testenv.Env, token string, id int64) callTransfer {
	t.Helper()
	var tr callTransfer
	cMust(t, env.Do(t, "GET", fmt.Sprintf("/v1/call-transfers/%d", id), token, nil), 200).JSON(t, &tr)
	return tr
}

// waitTransfer polls GET /v1/call-transfers/{id} until ok holds.
func waitTransfer(t *testing.T, env *testenv.Env, token string, id int64, what string, ok func(callTransfer) bool) callTransfer {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		tr := getTransfer(t, env, token, id)
		if ok(tr) {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for the transfer %s: %+v", what, tr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialogStats waits for the dialog's statistics row.
func dialogStats(t *testing.T, env *testenv.Env, token, agentUUID, dialogUUID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := env.Do(t, "GET", "/api/v2/ext/statistic/dialog?agent_uuid="+agentUUID+"&dialog_uuid="+dialogUUID, token, nil)
		var rows []map[string]any
		if r.Status == 200 {
			r.JSON(t, &rows)
			if len(rows) == 1 && rows[0]["status"] != nil && rows[0]["result"] != "" {
				return rows[0]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no statistics for dialog %s: %d %s", dialogUUID, r.Status, r.Body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkTransferredStats checks a statistics row of a transferred dialog:
// result transferred, the operator, wait and talk seconds.
func checkTransferredStats(t *testing.T, row map[string]any, opID int64, opName string) {
	t.Helper()
	t.Logf("statistic/dialog: %v", row)
	wait, _ := row["transfer_wait_seconds"].(float64)
	talk, _ := row["transfer_talk_seconds"].(float64)
	if row["result"] != "transferred" || row["transfer_operator_id"] != float64(opID) || row["transfer_operator"] != opName ||
		row["transfer_wait_seconds"] == nil || wait < 0 || talk <= 0 {
		t.Errorf("statistics of the transferred dialog, want operator %d %q: %v", opID, opName, row)
	}
}

// shopAgent configures an agent for transfers: limits, speech, transfer
// settings, an initial entity "name" and an output entity "asked", and
// script; it uploads one dialog to msisdn with extra entities and returns
// its uuid.
func shopAgent(t *testing.T, env *testenv.Env, tn *testenv.Tenant, agentUUID string, general, transfer map[string]any, script string, dialog map[string]any) string {
	t.Helper()
	ext, q := "/api/v2/ext", "?agent_uuid="+agentUUID
	cMust(t, env.Do(t, "PUT", ext+"/agent-settings/general"+q, tn.Token, general), 200)
	cMust(t, env.Do(t, "PUT", ext+"/agent-settings/transfer"+q, tn.Token, transfer), 200)
	cMust(t, env.Do(t, "POST", ext+"/initial-entity"+q, tn.Token, map[string]any{"name": "name"}), 201)
	cMust(t, env.Do(t, "POST", ext+"/output-entity"+q, tn.Token, map[string]any{"name": "asked"}), 201)
	cMust(t, env.Do(t, "PUT", ext+"/agent-settings/script"+q, tn.Token, map[string]any{"name": "main", "source": script}), 200)
	var up struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	cMust(t, env.Do(t, "POST", ext+"/dialog/dialog-initial"+q, tn.Token, dialog), 200).JSON(t, &up)
	return up.DialogUUID
}

// offerID waits for an offer card in the console and returns its
// transfer id.
func offerID(t *testing.T, ctx context.Context) int64 {
	t.Helper()
	cWait(t, ctx, "an offer rings", `document.querySelector("#offers .offer")`)
	return int64(cEval[float64](t, ctx, `Number(document.querySelector("#offers .offer").dataset.transfer)`))
}

// answer clicks the offer's Answer button and waits until the call's
// audio is connected.
func answer(t *testing.T, ctx context.Context) {
	t.Helper()
	cRun(t, ctx, "answer", chromedp.Click(chromedp.CSS(`#offers .offer button.accept`)))
	cWait(t, ctx, "the call connects", `window.parleyCall.state === "talking" && window.parleyCall.connection === "connected"`)
}

const (
	greeting    = "hello how can i help you"
	calleeWants = "i want to talk to a person"
	holdPrompt  = "please hold while i connect you"
	operatorSay = "good morning this is the operator speaking"
)

// transferScript greets, listens, and hands the call to a person when
// asked; it goes on when nobody takes it.
const transferScript = `def main(s):
    s.say("Hello. How can I help you?")
    heard = s.listen(timeout=10, expect=["` + calleeWants + `", "no thank you"])
    s.set("asked", heard or "")
    if heard and "person" in heard:
        if s.transfer("wants a person"):
            return
        s.say("Everyone is busy. We will call you back.")
    s.hangup()
`

// TestCallTransferToBrowser is issue 12's end-to-end test. baresip is the
// callee: it answers at once and keeps asking for a person (an espeak-ng
// WAV, repeated). The agent's script (espeak-ng, pocketsphinx) hears it
// and transfers; headless Chromium, logged in as the operator with a fake
// microphone saying another phrase, rings, shows the call card and
// answers in the console. Audio goes both ways: the page measures the
// callee's level on the remote track, and pocketsphinx finds the
// operator's phrase in what baresip heard after the answer. The operator
// hangs up and records a result and a note. Parley's recording holds the
// agent and then the operator on the agent leg and the callee on the
// other; the statistics say transferred, with the operator and the
// durations.
func TestCallTransferToBrowser(t *testing.T) {
	ps := needPocketsphinx(t)
	needTool(t, "baresip")
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			// The callee asks after the greeting, then again every few seconds.
			port, heardDir := startBaresip(t, espeakWAV(t, calleeWants, 8000, 3.5, 2.5, 12))
			mic := espeakWAV(t, operatorSay, 48000, 0.8, 1.2, 0)
			env := voiceEnv(t, testenv.DSN(t, d), true)
			tn := env.NewTenant(t, "Voice")
			actx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: tn.CompanyID, CompanyUUID: tn.CompanyUUID, Role: parley.RoleAdmin})
			if _, err := env.Trunks.Create(actx, trunk.NewTrunk{Name: "loopback", Host: "127.0.0.1", Port: port, RingTimeout: 10}); err != nil {
				t.Fatal(err)
			}
			a, err := env.Agents.Create(actx, agent.NewAgent{Name: "Debt reminder", TrunkName: "loopback", Language: "en-US"})
			if err != nil {
				t.Fatal(err)
			}
			opID, opName := operatorID(t, env, tn.OperatorToken)

			ctx := voiceBrowser(t, mic)
			loginConsole(t, ctx, env, tn)
			setPresence(t, ctx, "online")

			dialogUUID := shopAgent(t, env, tn, a.UUID,
				map[string]any{"total_channel_limit": 1, "routing_channel_limit": 1, "tts": "en-us@espeak", "asr": "pocketsphinx"},
				map[string]any{"menu_id": nil, "hold_prompt": "Please hold while I connect you.", "ring_timeout_seconds": 60, "transfer_timeout_seconds": 120, "external_to": ""},
				transferScript, map[string]any{"msisdn": baresipUser, "name": "Ann Lee"})

			id := offerID(t, ctx)
			cWait(t, ctx, "the phone rings", `window.parleyCall.ringing`)
			card := cEval[string](t, ctx, `document.querySelector("#offers .offer").innerText`)
			for _, want := range []string{baresipUser, "Debt reminder", "Ann Lee", "person", "Answer", "Decline"} {
				if !strings.Contains(card, want) {
					t.Errorf("the call card lacks %q:\n%s", want, card)
				}
			}
			answer(t, ctx)
			// The codec is known once the caller's packets arrive.
			cWait(t, ctx, "the codec", `window.parleyCall.codec !== ""`)
			if codec := cEval[string](t, ctx, `window.parleyCall.codec`); !strings.EqualFold(codec, "audio/PCMU") {
				t.Errorf("the browser receives %q, want audio/PCMU end to end", codec)
			}
			// Hear the callee (at least a second of speech), and talk long
			// enough for the looping phrase to go out whole more than once.
			cWait(t, ctx, "the callee heard in the page", `window.parleyCall.loud >= 10 && window.parleyCall.frames >= 120`)
			loud, maxRMS := cEval[float64](t, ctx, `window.parleyCall.loud`), cEval[float64](t, ctx, `window.parleyCall.maxRms`)
			t.Logf("page: %v measures loud, max RMS %.3f", loud, maxRMS)
			tr := getTransfer(t, env, tn.OperatorToken, id)
			if tr.State != "talking" || tr.OperatorID == nil || *tr.OperatorID != opID {
				t.Errorf("while talking: %+v", tr)
			}

			cRun(t, ctx, "hang up", chromedp.Click(chromedp.CSS(`#call-hangup`)))
			cWait(t, ctx, "the results form", `!document.getElementById("wrapup").hidden`)
			cRun(t, ctx, "write the results",
				chromedp.SetValue(chromedp.CSS(`#wrapup-rows .kvrow:last-child [name=key]`), "promise"),
				chromedp.SetValue(chromedp.CSS(`#wrapup-rows .kvrow:last-child [name=value]`), "pays friday"),
				chromedp.SetValue(chromedp.CSS(`#wrapup-note`), "Asked for more time."),
				chromedp.Click(chromedp.CSS(`#wrapup button[type=submit]`)))
			cWait(t, ctx, "the results saved", `document.getElementById("notify").textContent === "The call's results are saved."`)

			tr = waitTransfer(t, env, tn.OperatorToken, id, "ended", func(x callTransfer) bool { return x.State == "ended" })
			if tr.AcceptedAt == nil || tr.EndedAt == nil || tr.TalkSeconds <= 0 {
				t.Fatalf("ended transfer: %+v", tr)
			}
			// A talked transfer's result stays "accepted" (internal/chat);
			// the contract also allows "operator_hangup".
			if tr.Result != "accepted" && tr.Result != "operator_hangup" {
				t.Errorf("ended by the operator with result %q, want accepted", tr.Result)
			}
			if tr.Disposition == nil || tr.Disposition.Note != "Asked for more time." || tr.Disposition.OutputEntities["promise"] != "pays friday" {
				t.Errorf("disposition: %+v", tr.Disposition)
			}
			talked := tr.EndedAt.Sub(*tr.AcceptedAt)
			phrases := []string{operatorSay, greeting, holdPrompt, calleeWants, "everyone is busy we will call you back"}

			// What baresip heard after the answer: the operator.
			rctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rate, heard := heardWAV(t, rctx, heardDir)
			from := max(0, len(heard)-int((talked-time.Second).Seconds()*float64(rate)))
			got := heardPhrases(t, rctx, ps, heard[from:len(heard)-rate/4], rate, phrases)
			t.Logf("baresip heard %v in the last %v", got, talked)
			if !contains(got, operatorSay) {
				t.Errorf("baresip did not hear the operator's %q after the answer: %v", operatorSay, got)
			}

			// Parley's statistics and recording.
			row := dialogStats(t, env, tn.Token, a.UUID, dialogUUID)
			checkTransferredStats(t, row, opID, opName)
			callUUID, _ := row["call_uuid"].(string)

			// The transcript hands over to the operator by name, and says the
			// operator ended it.
			var turns struct {
				Data []struct {
					Action string         `json:"action_alias"`
					Data   map[string]any `json:"data"`
				} `json:"data"`
			}
			cMust(t, env.Do(t, "GET", "/api/v2/ext/statistic/"+callUUID+"/transcription?agent_uuid="+a.UUID, tn.Token, nil), 200).JSON(t, &turns)
			var handover, ended map[string]any
			for _, x := range turns.Data {
				switch x.Action {
				case "handover":
					handover = x.Data
				case "transfer_end":
					ended = x.Data
				}
			}
			if handover == nil || handover["operator_name"] != opName || ended == nil || ended["ended_by"] != "operator_hangup" {
				t.Errorf("transcript: handover turn %v, end turn %v (want operator %q, ended by operator_hangup)", handover, ended, opName)
			}
			var rec struct {
				Data string `json:"data"`
			}
			cMust(t, env.Do(t, "GET", "/api/v2/ext/statistic/download/call?agent_uuid="+a.UUID+"&call_uuid="+callUUID, tn.Token, nil), 200).JSON(t, &rec)
			wav, err := base64.StdEncoding.DecodeString(rec.Data)
			if err != nil {
				t.Fatal(err)
			}
			rrate, legs, err := audio.DecodeWAV(bytes.NewReader(wav))
			if err != nil || len(legs) != 2 {
				t.Fatalf("recording: %v, %d legs", err, len(legs))
			}
			split := max(0, len(legs[0])-int(talked.Seconds()*float64(rrate)))
			agentPart := heardPhrases(t, rctx, ps, legs[0][:split], rrate, phrases)
			operatorPart := heardPhrases(t, rctx, ps, legs[0][split+rrate:], rrate, phrases)
			calleePart := heardPhrases(t, rctx, ps, legs[1], rrate, phrases)
			t.Logf("recording (%v): agent leg before the answer %v, after %v; callee leg %v",
				time.Duration(len(legs[0]))*time.Second/time.Duration(rrate), agentPart, operatorPart, calleePart)
			if !contains(agentPart, greeting) || !contains(operatorPart, operatorSay) || !contains(calleePart, calleeWants) {
				t.Errorf("the recording lacks a voice: agent %v, operator %v, callee %v", agentPart, operatorPart, calleePart)
			}
		})
	}
}
