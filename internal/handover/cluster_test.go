package handover_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

// A cluster (issue 12, deployments): nodes on one PostgreSQL database
// linked by NATS. These tests need both (PARLEY_TEST_PG, PARLEY_TEST_NATS).

// clusterConfig is the configuration of a test cluster's node: its own
// NATS subjects (events and handover relay), loopback WebRTC.
func clusterConfig(t *testing.T) func(*server.Config) {
	u, subject := testenv.NATSURL(t), clusterSubject()
	return func(c *server.Config) {
		c.NATSURL, c.NATSSubject = u, subject
		c.WebRTC = webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
		c.SimPace = 0.05
	}
}

// clusterSubject is a test cluster's own NATS subject prefix: tests
// running at once do not hear each other.
func clusterSubject() string { return fmt.Sprintf("parley-test.%d.events", time.Now().UnixNano()) }

// clusterTenant makes the tenant of a cluster test on env: its agent runs
// transferScript ("busy" is its output entity) with ring and wait as its
// transfer's ring and transfer timeouts, one call in transfer at a time.
func clusterTenant(t *testing.T, env *testenv.Env, ring, wait int) *testenv.Tenant {
	ten := env.NewTenant(t, "Acme")
	q := "?agent_uuid=" + ten.AgentUUID
	must(t, env.Do(t, "POST", ext+"/output-entity/bulk"+q, ten.Token, map[string]any{"entities": []any{map[string]any{"name": "busy"}}}), 200)
	must(t, env.Do(t, "PUT", ext+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "main", "source": transferScript}), 200)
	settings(t, env, ten, ring, wait, 1)
	return ten
}

// twoNodes starts a cluster of two in-process nodes (clusterConfig, then
// edit with the node's number when edit is set): node 1 dials, node 2
// dials nothing; and the tenant (clusterTenant).
func twoNodes(t *testing.T, ring, wait int, edit func(n int, c *server.Config)) (node1, node2 *testenv.Env, ten *testenv.Tenant) {
	base := clusterConfig(t)
	dsn := testenv.PostgresDSN(t)
	configure := func(n int) func(*server.Config) {
		return func(c *server.Config) {
			base(c)
			if edit != nil {
				edit(n, c)
			}
		}
	}
	node1 = testenv.StartWith(t, dsn, testenv.Options{Configure: configure(1)})
	node2 = testenv.StartWith(t, dsn, testenv.Options{Configure: configure(2), Manual: true})
	node1.Handover.Poll = 50 * time.Millisecond
	return node1, node2, clusterTenant(t, node1, ring, wait)
}

// TestClusterAcceptOnOtherNode: the call is on node 1 (node 2 dials
// nothing); the operator's console talks to node 2 only. The offer rings
// for them there (list and stream frame), their accept is relayed to node 1, which answers the
// WebRTC offer: audio flows both ways between the browser and node 1. The
// in-call controls, a supervisor's listen and the hang-up sent to node 2
// reach the call as well.
func TestClusterAcceptOnOtherNode(t *testing.T) {
	node1, node2, ten := twoNodes(t, 20, 60, nil)
	op := online(t, node2, ten.OperatorToken)
	frames := streamFrames(t, node2, op.Token)
	dialog := call(t, node1, ten, "79990001133", 60)

	// The offer rings on the operator's stream on node 2 (node 1's
	// change, through NATS).
	if f := nextTransferFrame(t, frames, "ringing", op.ID); f["phone"] != "79990001133" {
		t.Errorf("the offer's frame on node 2: %v", f)
	}
	tr := ringing(t, node2, op)
	b, offer := newBrowser(t)
	var acc struct {
		SDP      string   `json:"sdp"`
		Transfer transfer `json:"transfer"`
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", tr.ID), op.Token, map[string]any{"sdp": offer}), 200).JSON(t, &acc)
	if acc.Transfer.State != "talking" || acc.SDP == "" {
		t.Fatalf("accepted on node 2: %+v", acc.Transfer)
	}
	if err := b.Accept(acc.SDP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("the operator's peer did not connect to node 1")
	}
	b.talk(1000)
	mark := b.mark()
	time.Sleep(1500 * time.Millisecond)
	if rms := b.rms(mark); rms < 300 {
		t.Errorf("the operator hears the callee at RMS %.0f: silence", rms)
	}
	// The controls sent to node 2 act on the call on node 1.
	var got transfer
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/dtmf", tr.ID), op.Token, map[string]any{"digits": "12#"}), 200)
	var muted struct {
		Muted bool `json:"muted"`
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/mute", tr.ID), op.Token, map[string]any{"muted": true}), 200).JSON(t, &muted)
	if !muted.Muted {
		t.Error("mute relayed to node 1: not muted")
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/mute", tr.ID), op.Token, map[string]any{"muted": false}), 200)

	// A supervisor on node 2 sees the call on node 1 and listens to it.
	var live struct {
		Items []struct {
			CallID int64  `json:"call_id"`
			State  string `json:"state"`
			Phone  string `json:"phone"`
		} `json:"items"`
	}
	must(t, node2.Do(t, "GET", "/v1/live-calls", ten.Token, nil), 200).JSON(t, &live)
	if len(live.Items) != 1 || live.Items[0].CallID != tr.CallID || live.Items[0].State != "transfer" || live.Items[0].Phone != "79990001133" {
		t.Fatalf("node 2's live view: %+v", live)
	}
	sup, loffer := newListener(t)
	var ans struct {
		SDP string `json:"sdp"`
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/live-calls/%d/listen", live.Items[0].CallID), ten.Token, map[string]any{"sdp": loffer}), 200).JSON(t, &ans)
	if err := sup.Accept(ans.SDP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sup.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not connect to node 1")
	}
	smark := sup.mark()
	time.Sleep(time.Second)
	if rms := sup.rms(smark); rms < 300 {
		t.Errorf("the supervisor hears RMS %.0f: silence", rms)
	}
	// A call no node holds: 404.
	must(t, node2.Do(t, "POST", "/v1/live-calls/999999/listen", ten.Token, map[string]any{"sdp": loffer}), 404)

	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/hangup", tr.ID), op.Token, map[string]any{}), 200).JSON(t, &got)
	if got.State != "ended" || got.Result != "accepted" || got.TalkSeconds <= 0 {
		t.Errorf("after hang-up on node 2: %+v", got)
	}
	b.Close()
	row := stats(t, node2, ten, dialog)
	if row["result"] != "transferred" || row["transfer_operator_id"] != float64(op.ID) {
		t.Errorf("statistics: %v", row)
	}
	// The callee heard the operator: node 1 recorded the operator's tone.
	left, _ := recording(t, node1, ten, row["call_uuid"].(string))
	if g := bestTone(left, 1000); g < 0.3 {
		t.Errorf("the recording's callee side heard the operator's tone at most %.2f", g)
	}
	var me struct {
		Load int `json:"load"`
	}
	must(t, node2.Do(t, "GET", "/v1/operators/me", op.Token, nil), 200).JSON(t, &me)
	if me.Load != 0 {
		t.Errorf("the operator's load after the call: %d", me.Load)
	}
}

// TestClusterAnswerIsTheHolders: each node has its own public address
// (PARLEY_PUBLIC_IP); an accept sent to node 2 for a call on node 1 is
// answered with node 1's address, where the call's media is.
func TestClusterAnswerIsTheHolders(t *testing.T) {
	node1, node2, ten := twoNodes(t, 20, 60, func(n int, c *server.Config) {
		c.WebRTC = webrtc.Config{}
		c.PublicIP = netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", n))
	})
	op := online(t, node2, ten.OperatorToken)
	call(t, node1, ten, "79990001177", 60)
	tr := ringing(t, node2, op)
	_, offer := newBrowser(t)
	var acc struct {
		SDP string `json:"sdp"`
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", tr.ID), op.Token, map[string]any{"sdp": offer}), 200).JSON(t, &acc)
	if !strings.Contains(acc.SDP, " 192.0.2.1 ") || strings.Contains(acc.SDP, "192.0.2.2") {
		t.Errorf("the answer relayed by node 2 does not carry node 1's public address:\n%s", acc.SDP)
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/hangup", tr.ID), op.Token, map[string]any{}), 200)
}

// TestClusterOfferMovesOnOtherNode: the ring timeout is node 1's (the
// call's) change; the operator whose offer moved on is connected to node
// 2 and is told there (the remote event's previous operator id), the
// next operator's stream on node 2 rings.
func TestClusterOfferMovesOnOtherNode(t *testing.T) {
	node1, node2, ten := twoNodes(t, 5, 60, nil)
	ops := []operator{online(t, node2, ten.OperatorToken), newOperator(t, node2, ten, "second-operator")}
	frames := []<-chan map[string]any{streamFrames(t, node2, ops[0].Token), streamFrames(t, node2, ops[1].Token)}
	call(t, node1, ten, "79990001188", 60)

	// Whoever it rings for first, the ring timeout moves it to the other.
	var first int
	waitFor(t, 20*time.Second, "the first offer", func() bool {
		for i, op := range ops {
			for _, tr := range transfers(t, node2, op.Token, "live") {
				if tr.State == "ringing" {
					first = i
					return true
				}
			}
		}
		return false
	})
	next := ops[1-first]
	nextTransferFrame(t, frames[1-first], "ringing", next.ID)
	// The first operator's console is told the offer left them: a frame
	// of the transfer ringing for the other operator, or back to waiting
	// with no operator (the state between the two offers, which the hub
	// may read from the row when it sends the ring timeout's frame).
	left := false
	for end := time.After(20 * time.Second); !left; {
		select {
		case f, ok := <-frames[first]:
			if !ok {
				t.Fatal("the first operator's stream closed")
			}
			if f["type"] != "call_transfer" {
				continue
			}
			tr := f["transfer"].(map[string]any)
			left = tr["operator_id"] != float64(ops[first].ID)
		case <-end:
			t.Fatal("the first operator's stream was never told that the offer left them")
		}
	}
	tr := ringing(t, node2, next)
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/decline", tr.ID), next.Token, map[string]any{}), 200)
}
