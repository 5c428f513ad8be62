package v1_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestCustomerInactivity: once the operator has answered, the chat and its
// inbox item say since when the customer has been inactive and when the
// rule closes the chat; the customer's message clears it; the rule then
// closes the chat with a system notice and frees the operator; another
// company sees none of it.
func TestCustomerInactivity(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true, Configure: func(c *server.Config) { c.ChatInactivity = 10 * time.Minute }})
		tn := env.NewTenant(t, "Shop")
		other := env.NewTenant(t, "Other")
		var c struct {
			ID int64 `json:"id"`
		}
		mustStatus(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{},
			"end_user": map[string]any{"phone": "+100"}}), 201).JSON(t, &c)
		path := fmt.Sprintf("/v1/chats/%d", c.ID)
		type detail struct {
			Status                string  `json:"status"`
			CustomerInactiveSince *string `json:"customer_inactive_since"`
			InactiveCloseTime     *string `json:"inactive_close_time"`
		}
		get := func() detail {
			t.Helper()
			var d detail
			mustStatus(t, env.Do(t, "GET", path, tn.OperatorToken, nil), 200).JSON(t, &d)
			return d
		}
		type item struct {
			ChatID                int64   `json:"chat_id"`
			CustomerInactiveSince *string `json:"customer_inactive_since"`
		}
		mine := func() []item {
			t.Helper()
			var l struct {
				Chats []item `json:"chats"`
			}
			mustStatus(t, env.Do(t, "GET", "/v1/inbox?view=mine", tn.OperatorToken, nil), 200).JSON(t, &l)
			return l.Chats
		}

		mustStatus(t, env.Do(t, "PATCH", path, tn.OperatorToken, map[string]any{"status": "assigned"}), 200)
		mustStatus(t, env.Do(t, "POST", path+"/messages", tn.Token, map[string]any{"sender_type": "client", "content": "Hello?"}), 201)
		if d := get(); d.CustomerInactiveSince != nil || d.InactiveCloseTime != nil {
			t.Fatalf("before any answer: %+v", d)
		}
		mustStatus(t, env.Do(t, "POST", path+"/messages", tn.OperatorToken, map[string]any{"sender_type": "operator", "content": "Hi!"}), 201)
		d := get()
		if d.CustomerInactiveSince == nil || d.InactiveCloseTime == nil {
			t.Fatalf("after the answer: %+v", d)
		}
		since, _ := time.Parse(time.RFC3339Nano, *d.CustomerInactiveSince)
		closes, _ := time.Parse(time.RFC3339Nano, *d.InactiveCloseTime)
		if closes.Sub(since) != 10*time.Minute {
			t.Errorf("closes %s after the answer, want 10m", closes.Sub(since))
		}
		if items := mine(); len(items) != 1 || items[0].CustomerInactiveSince == nil || *items[0].CustomerInactiveSince != *d.CustomerInactiveSince {
			t.Errorf("the inbox item: %+v", items)
		}
		mustStatus(t, env.Do(t, "GET", path, other.Token, nil), 404)

		// The customer writes: no longer inactive.
		mustStatus(t, env.Do(t, "POST", path+"/messages", tn.Token, map[string]any{"sender_type": "client", "content": "Still here"}), 201)
		if d := get(); d.CustomerInactiveSince != nil {
			t.Fatalf("after the customer's message: %+v", d)
		}
		mustStatus(t, env.Do(t, "POST", path+"/messages", tn.OperatorToken, map[string]any{"sender_type": "operator", "content": "Good."}), 201)
		d = get()
		closes, _ = time.Parse(time.RFC3339Nano, *d.InactiveCloseTime)
		if n, _, err := env.Chats.CloseInactiveChats(context.Background(), closes.Add(-time.Millisecond)); err != nil || n != 0 {
			t.Fatalf("a sweep before the close time closed %d: %v", n, err)
		}
		if n, _, err := env.Chats.CloseInactiveChats(context.Background(), closes); err != nil || n != 1 {
			t.Fatalf("the sweep at the close time closed %d: %v", n, err)
		}
		if d := get(); d.Status != "timed_out" || d.CustomerInactiveSince != nil {
			t.Fatalf("after the close: %+v", d)
		}
		var ms struct {
			Messages []struct {
				SenderType string `json:"sender_type"`
				Content    string `json:"content"`
			} `json:"messages"`
		}
		mustStatus(t, env.Do(t, "GET", path+"/messages", tn.OperatorToken, nil), 200).JSON(t, &ms)
		if last := ms.Messages[len(ms.Messages)-1]; last.SenderType != "system" {
			t.Errorf("the last message: %+v, want the system notice", last)
		}
		if items := mine(); len(items) != 0 {
			t.Errorf("the closed chat is still the operator's: %+v", items)
		}
	})
}
