package sip_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/trunk"
	"github.com/parley-cc/parley/internal/voice/sip"
)

const ext = "/api/v2/ext"

func must(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// TestEndToEndBaresip is issue 6's end-to-end test on loopback: the real
// dialer calls a baresip instance that answers and says "yes" (a WAV made
// by espeak-ng) through the company's SIP trunk of the agent's trunk_name;
// the agent's script asks with espeak-ng, hears "yes" through pocketsphinx
// with the script's expect phrases as grammar and sets an output entity.
// The External API then shows the output in statistic/dialog, both voices
// in the recording and both turns in the transcription.
//
// Needs baresip-core, espeak-ng, sox, pocketsphinx and pocketsphinx-en-us;
// skipped without them unless PARLEY_TEST_SIP=1.
func TestEndToEndBaresip(t *testing.T) {
	sip.RequireTool(t, "espeak-ng")
	sip.NeedPocketsphinx(t)
	// baresip answers at once; its "yes" comes after the question.
	port := sip.StartBaresip(t, sip.SpeechWAV(t, "yes", 3, 4))

	env := testenv.StartWith(t, testenv.SQLiteDSN(t), testenv.Options{Configure: func(c *server.Config) {
		c.Synth = nil // espeak-ng, the production default, not the tone stand-in
	}})
	ten := env.NewTenant(t, "Acme")
	ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAdmin})
	if _, err := env.Trunks.Create(ctx, trunk.NewTrunk{Name: "loopback", Host: "127.0.0.1", Port: port, RingTimeout: 10}); err != nil {
		t.Fatal(err)
	}
	a, err := env.Agents.Create(ctx, agent.NewAgent{Name: "voice", TrunkName: "loopback", Language: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	q := "?agent_uuid=" + a.UUID
	must(t, env.Do(t, "PUT", ext+"/agent-settings/general"+q, ten.Token,
		map[string]any{"total_channel_limit": 1, "tts": "en-us@espeak", "asr": "pocketsphinx"}), 200)
	must(t, env.Do(t, "POST", ext+"/output-entity"+q, ten.Token, map[string]any{"name": "answer"}), 201)
	const question = "Hello. Shall we go on?"
	must(t, env.Do(t, "PUT", ext+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "main", "source": `def main(s):
    s.say("` + question + `")
    answer = s.listen(timeout=6, expect=["yes", "no"])
    if answer:
        s.set("answer", answer)
    s.hangup()
`}), 200)
	var up struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	must(t, env.Do(t, "POST", ext+"/dialog/dialog-initial"+q, ten.Token, map[string]any{"msisdn": sip.BaresipUser}), 200).JSON(t, &up)

	var stats []map[string]any
	deadline := time.Now().Add(45 * time.Second)
	for {
		r := env.Do(t, "GET", ext+"/statistic/dialog?agent_uuid="+a.UUID+"&dialog_uuid="+up.DialogUUID, ten.Token, nil)
		if r.Status == 200 {
			r.JSON(t, &stats)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no statistics after 45 s: %d %s", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(stats) != 1 {
		t.Fatalf("stats %v", stats)
	}
	st := stats[0]
	t.Logf("statistic/dialog: %v", st)
	if st["answer"] != "yes" || st["status"] != "done" {
		t.Errorf("statistic/dialog: %v", st)
	}
	callUUID, _ := st["call_uuid"].(string)

	var rec struct {
		FileName string `json:"file_name"`
		Data     string `json:"data"`
	}
	must(t, env.Do(t, "GET", ext+"/statistic/download/call?agent_uuid="+a.UUID+"&call_uuid="+callUUID, ten.Token, nil), 200).JSON(t, &rec)
	wav, err := base64.StdEncoding.DecodeString(rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	agentRMS, calleeRMS, dur := sip.LegRMS(t, wav)
	t.Logf("recording %s: %v, agent RMS %.0f, callee RMS %.0f", rec.FileName, dur, agentRMS, calleeRMS)
	if agentRMS < 100 || calleeRMS < 50 || dur < 3*time.Second {
		t.Errorf("recording %v: agent RMS %.0f, callee RMS %.0f", dur, agentRMS, calleeRMS)
	}

	var tr struct {
		Data []struct {
			Action string          `json:"action_alias"`
			Data   json.RawMessage `json:"data"`
			Date   string          `json:"date"`
		} `json:"data"`
	}
	must(t, env.Do(t, "GET", ext+"/statistic/"+callUUID+"/transcription?agent_uuid="+a.UUID, ten.Token, nil), 200).JSON(t, &tr)
	var actions []string
	var said, heard map[string]any
	var sayAt, listenAt time.Time
	for _, it := range tr.Data {
		actions = append(actions, it.Action)
		at, err := time.Parse("2006-01-02 15:04:05.000", it.Date)
		if err != nil {
			t.Errorf("turn date %q: %v", it.Date, err)
		}
		switch it.Action {
		case "say":
			_ = json.Unmarshal(it.Data, &said)
			sayAt = at
		case "listen":
			_ = json.Unmarshal(it.Data, &heard)
			listenAt = at
		}
	}
	t.Logf("transcription: %v say %v listen %v", actions, said, heard)
	if strings.Join(actions, " ") != "dial answer say listen set hangup" {
		t.Errorf("transcription actions %v", actions)
	}
	if said["text"] != question || said["speaker"] != "agent" || said["barged_in"] != nil {
		t.Errorf("say turn %v", said)
	}
	if heard["text"] != "yes" || heard["speaker"] != "callee" {
		t.Errorf("listen turn %v", heard)
	}
	// Each turn carries its latency stages (issue 15), which the
	// supervisor's call page shows.
	if lat, _ := heard["latency_ms"].(map[string]any); lat["endpoint_ms"] == nil || lat["recognition_ms"] == nil || (lat["end"] != "grammar" && lat["end"] != "silence") {
		t.Errorf("listen turn latency %v", heard["latency_ms"])
	}
	if lat, _ := said["latency_ms"].(map[string]any); lat["synthesis_ms"] == nil || lat["first_packet_ms"] == nil {
		t.Errorf("say turn latency %v", said["latency_ms"])
	}
	// "yes" starts 3 s into baresip's audio, after the question.
	start, _ := heard["start_ms"].(float64)
	end, _ := heard["end_ms"].(float64)
	if start < 2500 || end <= start {
		t.Errorf("listen turn times %v-%v ms", start, end)
	}
	if d := listenAt.Sub(sayAt); d < 2*time.Second {
		t.Errorf("listen turn %v after the say turn", d)
	}
}
