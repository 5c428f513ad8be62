package handover_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

// serveNode is a real `parley serve` process of the test cluster.
type serveNode struct {
	cmd *exec.Cmd
	log string
}

// startServe runs bin as a cluster node on addr (loopback WebRTC, the sim
// trunk in real time (the retried call waits for the sweep on hold), a 2 s lease so that a dead node's
// work is swept soon) and waits until it answers /healthz.
func startServe(t *testing.T, bin, addr, dsn, natsURL, subject string, n int) *serveNode {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("node-%d.log", n))
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Its own data directory: the default is the working directory's.
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "PARLEY_DB="+dsn, "PARLEY_NATS_URL="+natsURL, "PARLEY_NATS_SUBJECT="+subject,
		"PARLEY_RTC_LOOPBACK=1", "PARLEY_SIM_TTS=tone", "PARLEY_LEASE=2s", "PARLEY_LOG_LEVEL=info")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	node := &serveNode{cmd: cmd, log: logPath}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("node %d log:\n%s", n, b)
		}
	})
	waitFor(t, 60*time.Second, "parley serve's /healthz", func() bool {
		r, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	return node
}

// kill ends the node with SIGKILL: no cleanup of any kind.
func (n *serveNode) kill(t *testing.T) {
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = n.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestClusterNodeKilled: node 1 is a `parley serve` process holding a
// call bridged to an operator whose console talks to node 2 (in process,
// dialing nothing). Node 1 is killed with SIGKILL, then restarted (a new
// node id, as after a crash). Meanwhile a control for the call is refused
// with 409 at once (no node holds it). After the restart: the transfer
// ended as interrupted, once; the operator's capacity came back (the
// requeued dialog's new call rings for them, and they take it through
// node 2 again); the dialog's cut-off call is marked interrupted and its
// statistics count the dialog once.
func TestClusterNodeKilled(t *testing.T) {
	configure := clusterConfig(t)
	dsn := testenv.PostgresDSN(t)
	node2 := testenv.StartWith(t, dsn, testenv.Options{Configure: configure, Manual: true}) // migrates the schema
	bin := filepath.Join(t.TempDir(), "parley")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/parley").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ten := node2.NewTenant(t, "Acme")
	q := "?agent_uuid=" + ten.AgentUUID
	must(t, node2.Do(t, "POST", ext+"/output-entity/bulk"+q, ten.Token, map[string]any{"entities": []any{map[string]any{"name": "busy"}}}), 200)
	must(t, node2.Do(t, "PUT", ext+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "main", "source": transferScript}), 200)
	settings(t, node2, ten, 30, 120, 1)
	op := online(t, node2, ten.OperatorToken)

	addr := freeAddr(t)
	node1 := startServe(t, bin, addr, dsn, node2.Config.NATSURL, node2.Config.NATSSubject, 1)
	dialog := call(t, node2, ten, "79990001144", 120)

	tr := ringing(t, node2, op)
	b, offer := newBrowser(t)
	var acc struct {
		SDP      string   `json:"sdp"`
		Transfer transfer `json:"transfer"`
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", tr.ID), op.Token, map[string]any{"sdp": offer}), 200).JSON(t, &acc)
	if err := b.Accept(acc.SDP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("the operator's peer did not connect to node 1")
	}
	mark := b.mark()
	waitFor(t, 10*time.Second, "the callee's audio from the node 1 process", func() bool { return b.rms(mark) >= 300 })

	node1.kill(t)
	// Nobody holds the call now: a control is refused at once, not after
	// the relay's timeout (NATS has no responder for the dead node).
	r := node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/mute", tr.ID), op.Token, map[string]any{"muted": true})
	must(t, r, 409)
	b.Close()

	startServe(t, bin, addr, dsn, node2.Config.NATSURL, node2.Config.NATSSubject, 2)
	var got transfer
	waitFor(t, 30*time.Second, "the dead node's transfer swept", func() bool {
		must(t, node2.Do(t, "GET", fmt.Sprintf("/v1/call-transfers/%d", tr.ID), ten.Token, nil), 200).JSON(t, &got)
		return got.State == "ended"
	})
	if got.Result != "interrupted" {
		t.Errorf("the killed node's transfer: %+v", got)
	}
	// The requeued dialog is dialed again by the restarted node; its new
	// transfer rings for the same operator: their capacity is back.
	tr2 := ringing(t, node2, op)
	if tr2.ID == tr.ID {
		t.Fatalf("the same transfer rings again: %+v", tr2)
	}
	b2, offer2 := newBrowser(t)
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", tr2.ID), op.Token, map[string]any{"sdp": offer2}), 200).JSON(t, &acc)
	if err := b2.Accept(acc.SDP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b2.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("the operator's peer did not connect to the restarted node")
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/hangup", tr2.ID), op.Token, map[string]any{}), 200)
	b2.Close()

	row := stats(t, node2, ten, dialog)
	if row["result"] != "transferred" || row["transfer_operator_id"] != float64(op.ID) {
		t.Errorf("statistics: %v", row)
	}
	calls, err := store.Collect(context.Background(), node2.DB.Reader(), func(r store.Scanner) (s string, err error) {
		err = r.Scan(&s)
		return s, err
	}, `SELECT c.status FROM calls c JOIN dialogs d ON d.id = c.dialog_id WHERE d.uuid = ? ORDER BY c.id`, dialog)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] != "interrupted" || calls[1] == "interrupted" || calls[1] == "live" {
		t.Errorf("the dialog's calls: %v (want the killed one interrupted, then the retried one ended)", calls)
	}
	var trs []transfer
	waitFor(t, 10*time.Second, "every transfer ended", func() bool {
		trs = transfers(t, node2, ten.Token, "live")
		return len(trs) == 0
	})
	var me struct {
		Load int `json:"load"`
	}
	must(t, node2.Do(t, "GET", "/v1/operators/me", op.Token, nil), 200).JSON(t, &me)
	if me.Load != 0 {
		t.Errorf("the operator's load at the end: %d", me.Load)
	}
}
