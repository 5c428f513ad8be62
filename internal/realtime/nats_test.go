package realtime_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestNATSStreamAcrossNodes runs two nodes on one PostgreSQL database,
// linked by NATS: a message posted on node 1 reaches a WebSocket held on
// node 2, exactly once, and node 1's own subscribers get it once too.
func TestNATSStreamAcrossNodes(t *testing.T) {
	u := testenv.NATSURL(t)
	dsn := testenv.PostgresDSN(t)
	subject := fmt.Sprintf("parley-test.%d.events", time.Now().UnixNano()) // this test's own cluster
	configure := func(c *server.Config) { c.NATSURL, c.NATSSubject = u, subject }
	node1 := testenv.StartWith(t, dsn, testenv.Options{Configure: configure})
	node2 := testenv.StartWith(t, dsn, testenv.Options{Configure: configure})
	tn := node1.NewTenant(t, "Acme")
	chatID := newChat(t, node1, tn.Token)

	on2 := dial(t, node2.URL(), tn.Token, false)
	on2.subscribe(chatID, -1)
	all2 := dial(t, node2.URL(), tn.OperatorToken, true) // the queue is the operator's
	all2.send(map[string]any{"type": "subscribe", "all": true})
	all2.expect("subscribed")
	on1 := dial(t, node1.URL(), tn.Token, false)
	on1.subscribe(chatID, -1)

	post(t, node1, tn.Token, chatID, "from node 1")
	for name, c := range map[string]*wsClient{"node 2, chat": on2, "node 2, all (operator)": all2, "node 1": on1} {
		f := c.expect("event")
		// The chat's creation crosses NATS asynchronously and may reach
		// node 2 after the subscriptions above: it is not the message.
		for f.ChatID == chatID && f.Seq < 2 {
			f = c.expect("event")
		}
		if f.ChatID != chatID || f.Seq != 2 || f.Data["content"] != "from node 1" {
			t.Fatalf("%s got %s", name, f)
		}
		if rest := c.ping(); len(rest) != 0 {
			t.Fatalf("%s got more: %v", name, rest)
		}
	}
	// And the other way round.
	post(t, node2, tn.Token, chatID, "from node 2")
	for _, c := range []*wsClient{on1, on2} {
		if f := c.expect("event"); f.Seq != 3 || f.Data["content"] != "from node 2" {
			t.Fatalf("got %s", f)
		}
	}
	if _, received, _ := node2.NATS.Stats(); received == 0 {
		t.Fatal("node 2 received nothing from NATS")
	}
}
