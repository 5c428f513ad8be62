package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/trunk"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// External transfers (issue 12): the script's s.transfer(to=...) sends
// the call to a number or SIP URI over the agent's trunk, bridged in
// Parley or, on a trunk with the refer option, by a blind REFER.

// externalScript greets and transfers to target; it goes on when the
// transfer failed.
func externalScript(target string) string {
	return `def main(s):
    s.say("Hello. Let me put you through to a person who can help you with that.")
    if s.transfer("wants a person", to="` + target + `"):
        return
    s.say("Nobody answered.")
    s.hangup()
`
}

// externalAgent makes a trunk to port (refer: the trunk's refer option)
// and an agent on it running script, with one dialog to msisdn; it
// returns the agent's and the dialog's uuids.
func externalAgent(t *testing.T, env *testenv.Env, tn *testenv.Tenant, port int, refer bool, script, msisdn string) (string, string) {
	t.Helper()
	actx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: tn.CompanyID, CompanyUUID: tn.CompanyUUID, Role: parley.RoleAdmin})
	if _, err := env.Trunks.Create(actx, trunk.NewTrunk{Name: "loopback", Host: "127.0.0.1", Port: port, RingTimeout: 10, Refer: refer}); err != nil {
		t.Fatal(err)
	}
	a, err := env.Agents.Create(actx, agent.NewAgent{Name: "Front desk", TrunkName: "loopback", Language: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	dialogUUID := shopAgent(t, env, tn, a.UUID,
		map[string]any{"total_channel_limit": 1, "routing_channel_limit": 1},
		map[string]any{"menu_id": nil, "hold_prompt": "", "ring_timeout_seconds": 30, "transfer_timeout_seconds": 60, "external_to": ""},
		script, map[string]any{"msisdn": msisdn, "name": "Ann Lee"})
	return a.UUID, dialogUUID
}

// transcriptTurns reads the call's transcript: each action's data (of
// its last turn).
func transcriptTurns(t *testing.T, env *testenv.Env, token, agentUUID, callUUID string) map[string]map[string]any {
	t.Helper()
	var turns struct {
		Data []struct {
			Action string         `json:"action_alias"`
			Data   map[string]any `json:"data"`
		} `json:"data"`
	}
	cMust(t, env.Do(t, "GET", "/api/v2/ext/statistic/"+callUUID+"/transcription?agent_uuid="+agentUUID, token, nil), 200).JSON(t, &turns)
	out := map[string]map[string]any{}
	for _, x := range turns.Data {
		out[x.Action] = x.Data
	}
	return out
}

// heardSoFar waits until baresip's recording in progress of its call
// number n (1-based, in the order the calls began) in dir holds at least
// secs of audio: a count of samples received, not a time waited. (The
// sndfile module's dump-*-dec.wav is a 16-bit mono WAV whose header sizes
// are only written at the end.)
func heardSoFar(t *testing.T, ctx context.Context, dir string, n int, secs float64) {
	t.Helper()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
		if len(files) >= n {
			sort.Strings(files)
			if b, err := os.ReadFile(files[n-1]); err == nil && len(b) > 44 {
				rate := int(binary.LittleEndian.Uint32(b[24:28]))
				if rate > 0 && float64(len(b)-44) >= secs*float64(2*rate) {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: baresip did not hear %v s of its call %d", dir, secs, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestCallTransferExternal: the script transfers to a SIP URI; Parley
// dials it over the agent's trunk and bridges the two legs. Two baresip
// processes: the callee, asking for a person (an espeak-ng WAV,
// repeated), and the operator's phone, answering with another phrase.
// The trunk points at a SIP proxy (voicetest.SIPProxy, the carrier) that
// sends each INVITE on by its user to one of them: a trunk sends every
// INVITE to its own address, whatever host the target URI names. Once
// the phone has heard ten seconds of the call, the phone hangs up
// (ctrl_tcp's hangup), which ends the bridge. Both INVITEs went through
// the trunk's proxy; each side heard the other (pocketsphinx on what
// each baresip recorded); Parley's recording continued through the
// bridge, the phone's voice on the agent leg; the statistics say
// transferred to the target, and the transcript has the handover to it.
func TestCallTransferExternal(t *testing.T) {
	ps := needPocketsphinx(t)
	needTool(t, "baresip")
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			const phoneUser = "15550200"
			callee := voicetest.StartBaresipLines(t, voicetest.BaresipLine{User: voicetest.BaresipUser, WAV: espeakWAV(t, calleeWants, 8000, 1.5, 1.5, 12)})
			phone := voicetest.StartBaresipLines(t, voicetest.BaresipLine{User: phoneUser, WAV: espeakWAV(t, operatorSay, 8000, 1.0, 1.5, 12)})
			proxy := voicetest.StartSIPProxy(t, map[string]int{voicetest.BaresipUser: callee.Port, phoneUser: phone.Port})
			// A host the proxy is not: the trunk is the outbound proxy.
			target := "sip:" + phoneUser + "@operators.example.com"
			env := voiceEnv(t, testenv.DSN(t, d), false)
			tn := env.NewTenant(t, "Voice")
			agentUUID, dialogUUID := externalAgent(t, env, tn, proxy.Port, false, externalScript(target), voicetest.BaresipUser)

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			heardSoFar(t, ctx, phone.Heard, 1, 10)
			phone.Hangup(t)

			row := dialogStats(t, env, tn.Token, agentUUID, dialogUUID)
			t.Logf("statistic/dialog: %v", row)
			talk, _ := row["transfer_talk_seconds"].(float64)
			if row["result"] != "transferred" || row["transfer_operator"] != target || talk <= 0 {
				t.Errorf("statistics of the transferred dialog, want transferred to %s with talk seconds: %v", target, row)
			}
			callUUID, _ := row["call_uuid"].(string)
			turns := transcriptTurns(t, env, tn.Token, agentUUID, callUUID)
			if h := turns["handover"]; h == nil || h["to"] != target || h["refer"] != nil {
				t.Errorf("transcript's handover turn %v, want bridged to %s (all turns %v)", h, target, turns)
			}
			if e := turns["transfer_end"]; e == nil || e["to"] != target {
				t.Errorf("transcript's transfer_end turn %v, want to %s", e, target)
			}

			phrases := []string{calleeWants, operatorSay, "hello let me put you through to a person who can help you with that", "nobody answered"}
			if inv := proxy.Invites(); len(inv) != 2 || !strings.Contains(inv[0], voicetest.BaresipUser+"@") || !strings.HasPrefix(inv[1], target) {
				t.Errorf("INVITEs through the trunk's proxy: %v, want the callee's then %s", inv, target)
			}
			rate, phoneHeard := phone.HeardWAV(t, ctx)
			_, calleeHeard := callee.HeardWAV(t, ctx)
			talked := time.Duration(len(phoneHeard)) * time.Second / time.Duration(rate)
			got := heardPhrases(t, ctx, ps, phoneHeard, rate, phrases)
			t.Logf("the operator's phone heard %v in %v", got, talked)
			if !contains(got, calleeWants) {
				t.Errorf("the operator's phone did not hear the callee's %q: %v", calleeWants, got)
			}
			from := max(0, len(calleeHeard)-int((talked-time.Second).Seconds()*float64(rate)))
			got = heardPhrases(t, ctx, ps, calleeHeard[from:], rate, phrases)
			t.Logf("the callee heard %v in the last %v", got, talked)
			if !contains(got, operatorSay) {
				t.Errorf("the callee did not hear the operator's phone's %q: %v", operatorSay, got)
			}

			var rec struct {
				Data string `json:"data"`
			}
			cMust(t, env.Do(t, "GET", "/api/v2/ext/statistic/download/call?agent_uuid="+agentUUID+"&call_uuid="+callUUID, tn.Token, nil), 200).JSON(t, &rec)
			wav, err := base64.StdEncoding.DecodeString(rec.Data)
			if err != nil {
				t.Fatal(err)
			}
			rrate, legs, err := audio.DecodeWAV(bytes.NewReader(wav))
			if err != nil || len(legs) != 2 {
				t.Fatalf("recording: %v, %d legs", err, len(legs))
			}
			split := max(0, len(legs[0])-int((talked-time.Second).Seconds()*float64(rrate)))
			agentLeg := heardPhrases(t, ctx, ps, legs[0][split:], rrate, phrases)
			calleeLeg := heardPhrases(t, ctx, ps, legs[1][split:], rrate, phrases)
			t.Logf("recording (%v), its last %v: agent leg %v, callee leg %v",
				time.Duration(len(legs[0]))*time.Second/time.Duration(rrate), talked, agentLeg, calleeLeg)
			if !contains(agentLeg, operatorSay) || !contains(calleeLeg, calleeWants) {
				t.Errorf("the recording does not hold the bridged call: agent leg %v, callee leg %v", agentLeg, calleeLeg)
			}
		})
	}
}

// TestCallTransferExternalFails: a bridged external transfer whose target
// does not exist (baresip answers 404 for a user it has no line for):
// s.transfer() returns False, the callee stays with the script, which
// goes on and hangs up; the dialog is not transferred and the transcript
// says why.
func TestCallTransferExternalFails(t *testing.T) {
	needTool(t, "baresip")
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			sip := voicetest.StartBaresip(t, espeakWAV(t, calleeWants, 8000, 1.5, 1.5, 3))
			target := fmt.Sprintf("sip:15550999@127.0.0.1:%d", sip.Port)
			env := voiceEnv(t, testenv.DSN(t, d), false)
			tn := env.NewTenant(t, "Voice")
			agentUUID, dialogUUID := externalAgent(t, env, tn, sip.Port, false, externalScript(target), voicetest.BaresipUser)

			row := dialogStats(t, env, tn.Token, agentUUID, dialogUUID)
			t.Logf("statistic/dialog: %v", row)
			if row["result"] == "transferred" || row["transfer_operator"] != nil {
				t.Errorf("statistics of the dialog whose transfer failed: %v", row)
			}
			callUUID, _ := row["call_uuid"].(string)
			turns := transcriptTurns(t, env, tn.Token, agentUUID, callUUID)
			h, r := turns["handover"], turns["transfer_result"]
			if h != nil || r == nil || r["result"] != "failed" || r["to"] != target || r["message"] == "" {
				t.Errorf("transcript: handover turn %v, transfer_result %v; want a failed transfer to %s (all turns %v)", h, r, target, turns)
			}
			// The script went on after s.transfer() returned False: its last
			// prompt is the one after the transfer.
			if say := turns["say"]; say == nil || say["text"] != "Nobody answered." {
				t.Errorf("the script did not go on after the failed transfer: %v", turns)
			}
		})
	}
}

// TestCallTransferRefer: on a trunk with the refer option the script's
// transfer is a blind REFER. sipp is the callee (testdata/
// uas_refer_transfer.xml): it answers, checks the REFER's Refer-To,
// accepts it (202), reports the transfer trying and then answered by
// NOTIFY (sipfrag), and expects Parley's BYE. The REFER sipp received is
// read back from its message log; the statistics say transferred to the
// target, the transcript has the REFER handover. In the second case
// (uas_refer_transfer_busy.xml) the target is busy (a 486 sipfrag):
// s.transfer() returns False, the script goes on and hangs up, and the
// dialog is not transferred.
func TestCallTransferRefer(t *testing.T) {
	needTool(t, "sipp")
	for _, d := range testenv.Dialects {
		for _, c := range []struct {
			scenario, to string
			referTo      func(port int) string
			transferred  bool
		}{
			{"uas_refer_transfer.xml", "sip:4000@pbx.example.com", func(int) string { return "sip:4000@pbx.example.com" }, true},
			{"uas_refer_transfer_busy.xml", "4000", func(port int) string { return fmt.Sprintf("sip:4000@127.0.0.1:%d", port) }, false},
		} {
			t.Run(d+"/"+c.scenario, func(t *testing.T) {
				uas := voicetest.StartSipp(t, 0, filepath.Join("testdata", c.scenario), 1)
				env := voiceEnv(t, testenv.DSN(t, d), false)
				tn := env.NewTenant(t, "Voice")
				agentUUID, dialogUUID := externalAgent(t, env, tn, uas.Port, true, externalScript(c.to), "5550100")

				row := dialogStats(t, env, tn.Token, agentUUID, dialogUUID)
				t.Logf("statistic/dialog: %v", row)
				callUUID, _ := row["call_uuid"].(string)
				turns := transcriptTurns(t, env, tn.Token, agentUUID, callUUID)
				h, r := turns["handover"], turns["transfer_result"]
				if c.transferred {
					if row["result"] != "transferred" || row["transfer_operator"] != c.to {
						t.Errorf("statistics of the dialog, want transferred to %s: %v", c.to, row)
					}
					if h == nil || h["to"] != c.to || h["refer"] != true || r != nil {
						t.Errorf("transcript: handover turn %v, transfer_result %v; want a REFER to %s (all turns %v)", h, r, c.to, turns)
					}
				} else {
					if row["result"] == "transferred" || row["transfer_operator"] != nil {
						t.Errorf("statistics of the dialog whose transfer failed: %v", row)
					}
					if h != nil || r == nil || r["result"] != "failed" || r["refer"] != true || r["to"] != c.to {
						t.Errorf("transcript: handover turn %v, transfer_result %v; want a failed REFER to %s (all turns %v)", h, r, c.to, turns)
					}
				}
				uas.Wait(t)
				msgs, err := os.ReadFile(uas.Messages)
				if err != nil {
					t.Fatal(err)
				}
				refer := sipMessage(string(msgs), "REFER ")
				if refer == "" {
					t.Fatalf("sipp received no REFER:\n%s", msgs)
				}
				t.Logf("REFER sipp received:\n%s", refer)
				want := c.referTo(uas.Port)
				if h := sipHeader(refer, "Refer-To"); h != "<"+want+">" && h != want {
					t.Errorf("REFER's Refer-To %q, want %s:\n%s", h, want, refer)
				}
				if sipMessage(string(msgs), "BYE ") == "" {
					t.Errorf("Parley sent no BYE:\n%s", msgs)
				}
			})
		}
	}
}

// sipMessage is the first message of sipp's message log (-trace_msg)
// whose first line starts with start, up to the blank line that ends its
// headers ("" when none).
func sipMessage(log, start string) string {
	lines := strings.Split(strings.ReplaceAll(log, "\r\n", "\n"), "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, start) {
			continue
		}
		end := i
		for end < len(lines) && lines[end] != "" {
			end++
		}
		return strings.Join(lines[i:end], "\n")
	}
	return ""
}

// sipHeader is header name's value in msg.
func sipHeader(msg, name string) string {
	for _, line := range strings.Split(msg, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
