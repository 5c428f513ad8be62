package apps_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestWebhookSweepDeliversLostChatEvents: a message committed by a node
// whose bus never reached a dispatcher (it runs none) is still delivered,
// once, by another node's sweep of the chat event log; and a node whose
// bus and sweep both see an event delivers it once.
func TestWebhookSweepDeliversLostChatEvents(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		// A chat event is stamped with its transaction's time, before the
		// commit: the sweep trails the clock by a lag longer than the
		// test's transactions (30 s in production).
		const lag = time.Second
		sweeping := func(c *server.Config) {
			c.WebhookAllowPrivate = true
			c.WebhookBackoff = 5 * time.Millisecond
			c.WebhookSweepEvery = 20 * time.Millisecond
			c.WebhookSweepLag = lag
		}
		// The sweeping node starts first so that its cursor predates the
		// messages below.
		sweeper := testenv.StartWith(t, dsn, testenv.Options{Configure: sweeping})
		whReady(t, sweeper)
		tn := sweeper.NewTenant(t, "Sweep")
		rc := whNewReceiver(t, whAlways(200))
		hook := whCreate(t, sweeper, tn.Token, map[string]any{"url": rc.URL, "events": []string{"message.created"}})
		time.Sleep(100 * time.Millisecond) // a few sweeps: the cursor row exists

		// A node without workers (no dispatcher): its events reach no bus
		// subscriber that queues webhooks.
		silent := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		var c chatObj
		must(t, silent.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{}, "end_user": map[string]any{"phone": "7"}}), 201).JSON(t, &c)
		must(t, silent.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID), tn.Token,
			map[string]any{"message": map[string]any{"content": "lost on the bus"}}), 200)
		whEventually(t, "the swept delivery", func() bool { return len(rc.requests()) >= 1 })

		// The same node's own message: bus and sweep both see it.
		must(t, sweeper.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID), tn.Token,
			map[string]any{"message": map[string]any{"content": "seen twice"}}), 200)
		whEventually(t, "the second delivery", func() bool { return len(rc.requests()) >= 2 })
		time.Sleep(lag + 200*time.Millisecond) // more sweeps pass over both events
		got := rc.requests()
		if len(got) != 2 {
			t.Fatalf("%d deliveries, want 2 (each message once)", len(got))
		}
		contents := map[string]bool{}
		for _, r := range got {
			whVerify(t, hook.Secret, r)
			var p struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			contents[fmt.Sprint(p.Data["content"])] = p.Type == "message.created"
		}
		if !contents["lost on the bus"] || !contents["seen twice"] {
			t.Fatalf("delivered %v", contents)
		}
	})
}
