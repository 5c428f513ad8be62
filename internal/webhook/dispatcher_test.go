package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/webhook"
)

// manualEnv is a server whose workers do not run, with a service that
// accepts loopback URLs; tests run their own dispatchers on its database.
func manualEnv(t *testing.T, dsn string) (*testenv.Env, context.Context, int64) {
	t.Helper()
	env := testenv.StartWith(t, dsn, testenv.Options{Manual: true, Configure: func(c *server.Config) { c.WebhookAllowPrivate = true }})
	ten := env.NewTenant(t, "Acme")
	ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAPI})
	return env, ctx, ten.CompanyID
}

// eventually polls cond until it holds; the deadline only keeps a broken
// build from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEnqueue(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ctx, cid := manualEnv(t, dsn)
		mk := func(events []string, active bool) int64 {
			w, err := env.Webhooks.Create(ctx, webhook.NewWebhook{URL: "http://127.0.0.1:9/hook", Events: events, Active: &active})
			if err != nil {
				t.Fatal(err)
			}
			return w.ID
		}
		chats := mk([]string{"chat.*"}, true)
		dialogs := mk([]string{"dialog.finished"}, true)
		off := mk([]string{"*"}, false)
		d := &webhook.Dispatcher{DB: env.DB}

		ev := events.Event{Type: "chat.created", CompanyID: cid, Subject: "c-1", Data: map[string]any{"chat_id": 7},
			At: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
		for i, want := range []int{1, 0, 0} { // the same event again adds nothing
			if n, err := d.Enqueue(ctx, ev); err != nil || n != want {
				t.Fatalf("enqueue #%d: %d, %v; want %d", i+1, n, err, want)
			}
		}
		other := ev
		other.CompanyID = cid + 1000
		if n, err := d.Enqueue(ctx, other); err != nil || n != 0 {
			t.Fatalf("another company's event: %d, %v", n, err)
		}
		count := func(id int64) int {
			list, total, err := env.Webhooks.ListDeliveries(ctx, id, "", 10, 0)
			if err != nil || total != len(list) {
				t.Fatalf("deliveries of %d: %v", id, err)
			}
			return total
		}
		if count(chats) != 1 || count(dialogs) != 0 || count(off) != 0 {
			t.Fatalf("deliveries: chats %d, dialogs %d, inactive %d", count(chats), count(dialogs), count(off))
		}
		list, _, _ := env.Webhooks.ListDeliveries(ctx, chats, webhook.StatusPending, 10, 0)
		if len(list) != 1 || list[0].EventType != "chat.created" || !strings.Contains(string(list[0].Payload), `"chat_id":7`) {
			t.Fatalf("pending deliveries: %+v", list)
		}

		// A chat event is named by its place in the chat's log.
		a := events.Event{Type: "chat.status", CompanyID: cid, ChatID: 3, Seq: 9, At: time.Now()}
		b := a
		b.At = b.At.Add(time.Second)
		if n, _ := d.Enqueue(ctx, a); n != 1 {
			t.Fatalf("chat event: %d", n)
		}
		if n, _ := d.Enqueue(ctx, b); n != 0 {
			t.Fatalf("the same chat event seen again was enqueued again")
		}
	})
}

// With AllowPrivate off, the dispatcher refuses at connect time a URL that
// was saved while internal addresses were allowed (as a DNS rebinding
// would make it): the attempt fails and the receiver is never reached.
func TestDispatcherRefusesInternalAddressAtDial(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ctx, cid := manualEnv(t, dsn)
		var hits atomic.Int32
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		defer rcv.Close()
		w, err := env.Webhooks.Create(ctx, webhook.NewWebhook{URL: rcv.URL + "/hook"})
		if err != nil {
			t.Fatal(err)
		}
		d := &webhook.Dispatcher{DB: env.DB, MaxAttempts: 2, Backoff: time.Millisecond}
		if n, err := d.Enqueue(ctx, events.Event{Type: "call.finished", CompanyID: cid, Subject: "x"}); n != 1 || err != nil {
			t.Fatalf("enqueue: %d, %v", n, err)
		}
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(runCtx); close(done) }()
		defer func() { cancel(); <-done }()

		var got *webhook.Delivery
		eventually(t, "the delivery to fail", func() bool {
			list, _, err := env.Webhooks.ListDeliveries(ctx, w.ID, "", 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			got = list[0]
			return got.Status == webhook.StatusFailed
		})
		if got.Attempts != 2 || len(got.Log) != 2 || got.LastStatus != nil ||
			!strings.Contains(got.LastError, "connection refused by Parley") || strings.Contains(got.LastError, "127.0.0.1") {
			t.Fatalf("delivery: %+v", got)
		}
		if hits.Load() != 0 {
			t.Fatalf("the internal receiver was reached %d times", hits.Load())
		}
	})
}

func TestPurge(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ctx, cid := manualEnv(t, dsn)
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer rcv.Close()
		w, err := env.Webhooks.Create(ctx, webhook.NewWebhook{URL: rcv.URL})
		if err != nil {
			t.Fatal(err)
		}
		d := &webhook.Dispatcher{DB: env.DB, AllowPrivate: true}
		for i := range 3 {
			if _, err := d.Enqueue(ctx, events.Event{Type: "t.x", CompanyID: cid, Subject: string(rune('a' + i))}); err != nil {
				t.Fatal(err)
			}
		}
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(runCtx); close(done) }()
		eventually(t, "three deliveries", func() bool {
			_, n, _ := env.Webhooks.ListDeliveries(ctx, w.ID, webhook.StatusDelivered, 10, 0)
			return n == 3
		})
		cancel()
		<-done
		if n, err := d.Purge(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("purge of nothing old: %d, %v", n, err)
		}
		if _, err := d.Enqueue(ctx, events.Event{Type: "t.x", CompanyID: cid, Subject: "pending"}); err != nil {
			t.Fatal(err)
		}
		if n, err := d.Purge(ctx, time.Now().Add(time.Hour)); err != nil || n != 3 {
			t.Fatalf("purge: %d, %v; want the 3 delivered, not the pending one", n, err)
		}
		if _, n, _ := env.Webhooks.ListDeliveries(ctx, w.ID, "", 10, 0); n != 1 {
			t.Fatalf("%d deliveries left, want the pending one", n)
		}
	})
}
