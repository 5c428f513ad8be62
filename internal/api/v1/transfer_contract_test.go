package v1_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api/apitest"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/voice/voicetest"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

// startRTC starts a server whose WebRTC engine gathers loopback
// candidates, which the in-process browser (voicetest) reaches.
func startRTC(t *testing.T, dsn string) *testenv.Env {
	return testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
		c.WebRTC = webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
		c.SimPace = 0.05
	}})
}

// fixtureTransfer records a waiting transfer of the tenant's agent, for
// the route matrices (no call is behind it: acting on it is 409).
func fixtureTransfer(t *testing.T, env *testenv.Env, f *fixture) int64 {
	ctx := context.Background()
	aid, err := agent.IDByUUID(ctx, env.DB.Reader(), f.CompanyID, f.AgentUUID)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := env.Chats.StartTransfer(ctx, chat.NewTransfer{CompanyID: f.CompanyID, AgentID: aid, DialogID: 1, CallID: 1, CallUUID: "fixture",
		Phone: "79990000000", Limit: 10, Lease: time.Hour, Outputs: map[string]string{"secret": f.Secrets[0]}})
	if err != nil {
		t.Fatal(err)
	}
	return tr.ID
}

// transferContract drives the call-transfer and live-call routes through
// every documented status: a simulated call handed over, accepted with an
// in-process WebRTC peer, controlled, listened to and hung up; a second
// one declined.
func transferContract(t *testing.T, rec *apitest.Recorder, env *testenv.Env, tn *testenv.Tenant) {
	tok, opTok := bearer(tn.Token), bearer(tn.OperatorToken)
	ext, q := "/api/v2/ext", "?agent_uuid="+tn.AgentUUID
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", ext + "/agent-settings/script" + q, map[string]any{"name": "main", "source": "def main(s):\n    s.say(\"Hello\")\n    if s.transfer(\"person\"):\n        return\n    s.say(\"Busy\")\n"}},
		{"PUT", ext + "/agent-settings/transfer" + q, map[string]any{"ring_timeout_seconds": 30, "transfer_timeout_seconds": 60}},
		{"PUT", ext + "/agent-settings/general" + q, map[string]any{"routing_channel_limit": 5}},
	} {
		if r := env.Do(t, c.method, c.path, tn.Token, c.body); r.Status != 200 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	var me struct {
		OperatorID int64 `json:"operator_id"`
	}
	env.Do(t, "GET", "/v1/operators/me", tn.OperatorToken, nil).JSON(t, &me)
	env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), tn.OperatorToken, map[string]any{"status": "online"})
	dial := func(hold int) {
		if r := env.Do(t, "POST", ext+"/dialog/dialog-initial"+q, tn.Token, map[string]any{"msisdn": "79990001122", "sim_hold": fmt.Sprint(hold)}); r.Status != 200 {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
	}
	ringing := func() int64 {
		end := time.Now().Add(20 * time.Second)
		for time.Now().Before(end) {
			var list struct {
				Items []struct {
					ID    int64  `json:"id"`
					State string `json:"state"`
				} `json:"items"`
			}
			decode(t, rec, call{"GET", "/v1/call-transfers?state=live", opTok, nil, 200}, &list)
			for _, it := range list.Items {
				if it.State == "ringing" {
					return it.ID
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("no transfer rang")
		return 0
	}
	dial(60)
	id := ringing()
	tp := fmt.Sprintf("/v1/call-transfers/%d", id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, offer, err := voicetest.NewBrowser(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	run(t, rec, []call{
		{"GET", "/v1/call-transfers?state=sideways", tok, nil, 400},
		{"GET", "/v1/call-transfers?limit=5&offset=0", tok, nil, 200},
		{"GET", tp, tok, nil, 200},
		{"GET", "/v1/call-transfers/999999", tok, nil, 404},
		{"GET", "/v1/call-transfers/abc", tok, nil, 400},
		{"POST", tp + "/accept", tok, map[string]any{"sdp": offer}, 403},
		{"POST", "/v1/call-transfers/999999/accept", opTok, map[string]any{"sdp": offer}, 404},
		{"POST", tp + "/mute", opTok, map[string]any{"muted": true}, 409},
		{"POST", tp + "/hold", opTok, map[string]any{"held": true}, 409},
		{"POST", tp + "/dtmf", opTok, map[string]any{"digits": "1"}, 409},
		{"POST", tp + "/hangup", opTok, map[string]any{}, 409},
		{"POST", tp + "/disposition", opTok, map[string]any{"note": "x"}, 409},
		{"POST", tp + "/decline", tok, map[string]any{}, 403},
	})
	var acc struct {
		SDP string `json:"sdp"`
	}
	decode(t, rec, call{"POST", tp + "/accept", opTok, map[string]any{"sdp": offer}, 200}, &acc)
	if err := b.Accept(acc.SDP); err != nil {
		t.Fatal(err)
	}
	var live struct {
		Items []struct {
			CallID int64 `json:"call_id"`
		} `json:"items"`
	}
	decode(t, rec, call{"GET", "/v1/live-calls", tok, nil, 200}, &live)
	if len(live.Items) != 1 {
		t.Fatalf("live calls: %+v", live)
	}
	lp := fmt.Sprintf("/v1/live-calls/%d/listen", live.Items[0].CallID)
	lb, loffer, err := voicetest.NewBrowser(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	run(t, rec, []call{
		{"POST", tp + "/accept", opTok, map[string]any{"sdp": offer}, 409},
		{"POST", tp + "/decline", opTok, map[string]any{}, 409},
		{"POST", tp + "/mute", opTok, map[string]any{"muted": true}, 200},
		{"POST", tp + "/mute", opTok, map[string]any{"muted": false}, 200},
		{"POST", tp + "/hold", opTok, map[string]any{"held": true}, 200},
		{"POST", tp + "/hold", opTok, map[string]any{"held": false}, 200},
		{"POST", tp + "/dtmf", opTok, map[string]any{"digits": "12#"}, 200},
		{"POST", tp + "/disposition", opTok, map[string]any{"output_entities": map[string]string{"k": "v"}, "note": "called back"}, 200},
		{"GET", "/v1/live-calls", opTok, nil, 403},
		{"POST", lp, opTok, map[string]any{"sdp": loffer}, 403},
		{"POST", "/v1/live-calls/999999/listen", tok, map[string]any{"sdp": loffer}, 404},
		{"POST", lp, tok, map[string]any{"sdp": loffer}, 200},
		{"POST", tp + "/hangup", opTok, map[string]any{}, 200},
		{"POST", "/v1/call-transfers/999999/hangup", opTok, map[string]any{}, 404},
		{"POST", "/v1/call-transfers/999999/mute", opTok, map[string]any{"muted": true}, 404},
		{"POST", "/v1/call-transfers/999999/hold", opTok, map[string]any{"held": true}, 404},
		{"POST", "/v1/call-transfers/999999/dtmf", opTok, map[string]any{"digits": "1"}, 404},
		{"POST", "/v1/call-transfers/999999/disposition", opTok, map[string]any{"note": "x"}, 404},
		{"POST", "/v1/call-transfers/999999/decline", opTok, map[string]any{}, 404},
	})
	// A second call: declined, it has nothing to dispose.
	dial(3)
	id2 := ringing()
	tp2 := fmt.Sprintf("/v1/call-transfers/%d", id2)
	run(t, rec, []call{
		{"POST", tp2 + "/decline", opTok, map[string]any{}, 200},
		{"POST", tp2 + "/disposition", tok, map[string]any{"note": "x"}, 409},
	})
}
