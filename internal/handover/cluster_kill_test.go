package handover_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

// serveCluster is a cluster of real `parley serve` processes on one
// PostgreSQL database linked by NATS, and setup: an in-process server on
// the same database that is not a node (no NATS, no workers: it dials
// and sweeps nothing), which migrates the schema, makes the tenant and
// reads the database for the test.
type serveCluster struct {
	bin, dsn, natsURL, subject string
	setup                      *testenv.Env
	ten                        *testenv.Tenant
}

// newServeCluster builds parley and makes the tenant (clusterTenant with
// ring and wait); start runs its nodes.
func newServeCluster(t *testing.T, ring, wait int) *serveCluster {
	c := &serveCluster{natsURL: testenv.NATSURL(t), dsn: testenv.PostgresDSN(t), subject: clusterSubject(),
		bin: filepath.Join(t.TempDir(), "parley")}
	c.setup = testenv.StartWith(t, c.dsn, testenv.Options{Manual: true})
	if out, err := exec.Command("go", "build", "-o", c.bin, "../../cmd/parley").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c.ten = clusterTenant(t, c.setup, ring, wait)
	return c
}

// serveNode is a real `parley serve` process of the test cluster.
type serveNode struct {
	*testenv.Env        // its HTTP API
	id           string // its node name (in call_transfers.node)
	cmd          *exec.Cmd
	log          string
}

// nodeName is the node name a `parley serve` logs once linked to NATS.
var nodeName = regexp.MustCompile(`msg="NATS linked".* node=("[^"]*"|\S+)`)

// start runs a node on addr (loopback WebRTC, the sim trunk in real time
// (the retried call waits for the sweep on hold), a 2 s lease so that a
// dead node's work is swept soon) and waits until it answers /healthz;
// n numbers its log.
func (c *serveCluster) start(t *testing.T, addr string, n int) *serveNode {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("node-%d.log", n))
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Its own data directory: the default is the working directory's.
	cmd := exec.Command(c.bin, "serve", "--addr", addr, "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "PARLEY_DB="+c.dsn, "PARLEY_NATS_URL="+c.natsURL, "PARLEY_NATS_SUBJECT="+c.subject,
		"PARLEY_RTC_LOOPBACK=1", "PARLEY_SIM_TTS=tone", "PARLEY_LEASE=2s", "PARLEY_LOG_LEVEL=info", "PARLEY_LOG_FORMAT=text")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	node := &serveNode{Env: testenv.Remote("http://" + addr), cmd: cmd, log: logPath}
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
	waitFor(t, 10*time.Second, "the node's name in its log", func() bool {
		b, _ := os.ReadFile(logPath)
		m := nodeName.FindSubmatch(b)
		if m == nil {
			return false
		}
		node.id = strings.Trim(string(m[1]), `"`)
		return true
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

// transferNodes are the nodes of the dialog's transfers, in order.
func transferNodes(t *testing.T, c *serveCluster, dialog string) []string {
	ids, err := store.Collect(context.Background(), c.setup.DB.Reader(), func(r store.Scanner) (s string, err error) {
		err = r.Scan(&s)
		return s, err
	}, `SELECT t.node FROM call_transfers t JOIN dialogs d ON d.id = t.dialog_id WHERE d.uuid = ? ORDER BY t.id`, dialog)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestClusterNodeKilled: two `parley serve` processes; whichever dials
// the call holds it (node 1, as the transfer's node says), and the
// operator's console talks to the other (node 2) only: they go online
// there, their accept is relayed to node 1 and their WebRTC peer
// connects to node 1. During the bridged call node 1 is killed with
// SIGKILL, then restarted (a new node name, as after a crash).
// Meanwhile a control for the call sent to node 2 is refused with 409 at
// once (no node holds it). After the restart: the transfer ended as
// interrupted, once; the operator's capacity came back (the requeued
// dialog's new call, on either node, rings for them, and they take it
// through node 2 again); the dialog's cut-off call is marked interrupted
// and its statistics count the dialog once.
func TestClusterNodeKilled(t *testing.T) {
	c := newServeCluster(t, 30, 120)
	ten := c.ten
	addrs := []string{freeAddr(t), freeAddr(t)}
	nodes := []*serveNode{c.start(t, addrs[0], 1), c.start(t, addrs[1], 2)}
	if nodes[0].id == nodes[1].id {
		t.Fatalf("two nodes named %q", nodes[0].id)
	}
	dialog := call(t, nodes[0].Env, ten, "79990001144", 120)

	// The holder: the transfer's node.
	var holder string
	waitFor(t, 60*time.Second, "the call's transfer", func() bool {
		if ids := transferNodes(t, c, dialog); len(ids) == 1 {
			holder = ids[0]
		}
		return holder != ""
	})
	var node1, node2 *serveNode
	n1 := 0
	switch holder {
	case nodes[0].id:
		node1, node2 = nodes[0], nodes[1]
	case nodes[1].id:
		node1, node2, n1 = nodes[1], nodes[0], 1
	default:
		t.Fatalf("the transfer is held by %q, neither node (%q, %q)", holder, nodes[0].id, nodes[1].id)
	}
	t.Logf("node 1 (the call's): %s, started %s; node 2 (the console's): %s", node1.id, []string{"first", "second"}[n1], node2.id)

	op := online(t, node2.Env, ten.OperatorToken)
	tr := ringing(t, node2.Env, op)
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
	waitFor(t, 10*time.Second, "the callee's audio from node 1", func() bool { return b.rms(mark) >= 300 })

	node1.kill(t)
	// Nobody holds the call now: a control is refused at once, not after
	// the relay's timeout (NATS has no responder for the dead node).
	r := node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/mute", tr.ID), op.Token, map[string]any{"muted": true})
	must(t, r, 409)
	b.Close()

	restarted := c.start(t, addrs[n1], 3)
	if restarted.id == node1.id {
		t.Errorf("the restarted node has the dead node's name %q", node1.id)
	}
	var got transfer
	waitFor(t, 30*time.Second, "the dead node's transfer swept", func() bool {
		must(t, node2.Do(t, "GET", fmt.Sprintf("/v1/call-transfers/%d", tr.ID), ten.Token, nil), 200).JSON(t, &got)
		return got.State == "ended"
	})
	if got.Result != "interrupted" {
		t.Errorf("the killed node's transfer: %+v", got)
	}
	// The requeued dialog is dialed again by either node; its new
	// transfer rings for the same operator: their capacity is back.
	tr2 := ringing(t, node2.Env, op)
	if tr2.ID == tr.ID {
		t.Fatalf("the same transfer rings again: %+v", tr2)
	}
	if h := transferNodes(t, c, dialog); len(h) == 2 {
		t.Logf("the retried call is on %s (restarted node 1: %s)", h[1], restarted.id)
	}
	b2, offer2 := newBrowser(t)
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", tr2.ID), op.Token, map[string]any{"sdp": offer2}), 200).JSON(t, &acc)
	if err := b2.Accept(acc.SDP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b2.Connected():
	case <-time.After(10 * time.Second):
		t.Fatal("the operator's peer did not connect to the retried call's node")
	}
	must(t, node2.Do(t, "POST", fmt.Sprintf("/v1/call-transfers/%d/hangup", tr2.ID), op.Token, map[string]any{}), 200)
	b2.Close()

	row := stats(t, node2.Env, ten, dialog)
	if row["result"] != "transferred" || row["transfer_operator_id"] != float64(op.ID) {
		t.Errorf("statistics: %v", row)
	}
	calls, err := store.Collect(context.Background(), c.setup.DB.Reader(), func(r store.Scanner) (s string, err error) {
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
		trs = transfers(t, node2.Env, ten.Token, "live")
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
