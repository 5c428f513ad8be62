package events

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

func TestBusRemoteEventsOnlyForClusterSubscribers(t *testing.T) {
	b := NewBus()
	local, stopLocal := b.Subscribe(10)
	defer stopLocal()
	cluster, stopCluster := b.SubscribeCluster(10)
	defer stopCluster()
	var forwarded []Event
	b.Forward(func(ev Event) { forwarded = append(forwarded, ev) })

	b.Publish(Event{Type: "mine", CompanyID: 1})
	b.Inject(Event{Type: "theirs", CompanyID: 1, At: time.Now()})

	if len(local) != 1 || (<-local).Type != "mine" {
		t.Fatalf("local subscriber: want only the local event")
	}
	if len(cluster) != 2 {
		t.Fatalf("cluster subscriber got %d events, want 2", len(cluster))
	}
	if ev := <-cluster; ev.Type != "mine" || ev.Remote {
		t.Fatalf("first cluster event %+v", ev)
	}
	if ev := <-cluster; ev.Type != "theirs" || !ev.Remote {
		t.Fatalf("second cluster event %+v", ev)
	}
	if len(forwarded) != 1 || forwarded[0].Type != "mine" {
		t.Fatalf("forwarded %+v: want the local event only (remote ones are never sent back)", forwarded)
	}
	b.Forward(nil)
	b.Publish(Event{Type: "after"})
	if len(forwarded) != 1 {
		t.Fatal("forwarder still called after Forward(nil)")
	}
}

// natsURL returns the NATS server of the tests. Without one the test is
// skipped, unless PARLEY_TEST_NATS=1 says it is required.
func natsURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_NATS_URL")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	pu, err := url.Parse(u)
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", pu.Host, 2*time.Second); err == nil {
			c.Close()
			return u
		}
	}
	if os.Getenv("PARLEY_TEST_NATS") == "1" {
		t.Fatalf("NATS is required (PARLEY_TEST_NATS=1) and not reachable at %s: %v "+
			"(start nats-server, or set PARLEY_TEST_NATS_URL)", u, err)
	}
	t.Skipf("no NATS server at %s (%v): set PARLEY_TEST_NATS=1 to make this a failure", u, err)
	return ""
}

func TestNATSLinksBuses(t *testing.T) {
	u := natsURL(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b1, b2 := NewBus(), NewBus()
	// A subject of its own, so that concurrent runs on the same NATS
	// server do not see each other's events.
	subject := fmt.Sprintf("parley-test.%d.events", time.Now().UnixNano())
	n1, err := ConnectNATS(b1, NATSOptions{URL: u, Subject: subject, Node: "node-1", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	n2, err := ConnectNATS(b2, NATSOptions{URL: u, Subject: subject, Node: "node-2", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	c1, stop1 := b1.SubscribeCluster(100)
	defer stop1()
	c2, stop2 := b2.SubscribeCluster(100)
	defer stop2()
	l2, stopL2 := b2.Subscribe(100)
	defer stopL2()

	const company = 42
	b1.Publish(Event{Type: "message.created", CompanyID: company, Subject: "s", ChatID: 7, Seq: 3,
		Data: map[string]any{"message_id": int64(12345678901), "content": "hi"}})

	select {
	case ev := <-c2:
		if !ev.Remote || ev.Type != "message.created" || ev.ChatID != 7 || ev.Seq != 3 || ev.CompanyID != company {
			t.Fatalf("node 2 got %+v", ev)
		}
		if n, ok := ev.Data["message_id"].(json.Number); !ok || n.String() != "12345678901" {
			t.Fatalf("message_id came through as %#v", ev.Data["message_id"])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("node 2 did not receive node 1's event")
	}
	// Node 1 sees its event once (locally), never echoed back; node 2's
	// local-only subscribers (webhooks) never see it.
	time.Sleep(300 * time.Millisecond)
	if n := len(c1); n != 1 {
		t.Fatalf("node 1's cluster subscriber got %d events, want exactly its own one", n)
	}
	if ev := <-c1; ev.Remote {
		t.Fatal("node 1's own event came back as remote")
	}
	if len(c2) != 0 {
		t.Fatalf("node 2 got %d more events", len(c2))
	}
	if len(l2) != 0 {
		t.Fatal("a remote event reached a Subscribe (node-local) subscriber")
	}
	if sent, _, _ := n1.Stats(); sent != 1 {
		t.Fatalf("node 1 sent %d events", sent)
	}
}

func TestNATSUnreachable(t *testing.T) {
	if _, err := ConnectNATS(NewBus(), NATSOptions{URL: "nats://127.0.0.1:1", Node: "n"}); err == nil {
		t.Fatal("connected to nothing")
	}
	if _, err := ConnectNATS(NewBus(), NATSOptions{URL: "nats://127.0.0.1:1", Node: "n", Subject: "a.>"}); err == nil {
		t.Fatal("accepted a wildcard subject prefix")
	}
}
