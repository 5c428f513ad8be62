package v1_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

type chatResp struct {
	ChatID     int64   `json:"chat_id"`
	ClientID   int64   `json:"client_id"`
	Status     string  `json:"status"`
	OperatorID *int64  `json:"operator_id"`
	StartTime  string  `json:"start_time"`
	EndTime    *string `json:"end_time"`
}

type messagesResp struct {
	ChatID   int64 `json:"chat_id"`
	Messages []struct {
		MessageID  int64  `json:"message_id"`
		Seq        int    `json:"seq"`
		SenderType string `json:"sender_type"`
		SenderID   *int64 `json:"sender_id"`
		Content    string `json:"content"`
		SentTime   string `json:"sent_time"`
	} `json:"messages"`
}

// TestChatFlow drives every route once through a whole conversation.
func TestChatFlow(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Alpha")

		// Clients.
		var client struct {
			ClientID    int64  `json:"client_id"`
			Name        string `json:"name"`
			ContactInfo string `json:"contact_info"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": " Ivan ", "contact_info": "+7 999 000-11-22"}), 201).JSON(t, &client)
		if client.ClientID <= 0 || client.Name != "Ivan" || client.ContactInfo != "+7 999 000-11-22" {
			t.Fatalf("created client %+v", client)
		}
		var got struct {
			ClientID    int64  `json:"client_id"`
			Name        string `json:"name"`
			ContactInfo string `json:"contact_info"`
		}
		mustStatus(t, env.Do(t, "GET", fmt.Sprintf("/v1/clients/%d", client.ClientID), tn.OperatorToken, nil), 200).JSON(t, &got)
		if got != client {
			t.Fatalf("GET client %+v, want %+v", got, client)
		}
		if r := env.Do(t, "GET", "/v1/clients/999999", tn.Token, nil); r.Status != 404 || errorCode(r) != "not_found" {
			t.Fatalf("missing client: %d %s", r.Status, r.Body)
		}
		mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "A", "identifier": "tg:1"}), 201)
		if r := env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "B", "identifier": "tg:1"}); r.Status != 409 {
			t.Fatalf("duplicate identifier: %d %s", r.Status, r.Body)
		}

		// Operators: the seed's default status, the list (which holds the
		// operator user's row too), and a status change.
		var op struct {
			OperatorID int64  `json:"operator_id"`
			Name       string `json:"name"`
			Status     string `json:"status"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/operators", tn.Token, map[string]any{"name": "Olga"}), 201).JSON(t, &op)
		if op.OperatorID <= 0 || op.Name != "Olga" || op.Status != "offline" {
			t.Fatalf("created operator %+v", op)
		}
		if r := env.Do(t, "POST", "/v1/operators", tn.Token, map[string]any{"name": "X", "status": "sleeping"}); r.Status != 400 {
			t.Fatalf("bad operator status: %d %s", r.Status, r.Body)
		}
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", op.OperatorID), tn.Token, map[string]any{"status": "online"}), 200).JSON(t, &op)
		if op.Status != "online" {
			t.Fatalf("patched operator %+v", op)
		}
		// An operator user may change itself but not another operator.
		if r := env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", op.OperatorID), tn.OperatorToken, map[string]any{"status": "busy"}); r.Status != 403 {
			t.Fatalf("operator changing another operator: %d %s", r.Status, r.Body)
		}
		var list struct {
			Operators []struct {
				OperatorID int64  `json:"operator_id"`
				Name       string `json:"name"`
				Status     string `json:"status"`
			} `json:"operators"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/operators", tn.Token, nil), 200).JSON(t, &list)
		if len(list.Operators) != 2 || list.Operators[0].Name != tn.OperatorLogin || list.Operators[1].Status != "online" {
			t.Fatalf("operators %+v", list)
		}
		self := list.Operators[0].OperatorID
		// Olga goes offline, so the router leaves the chats below alone.
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", op.OperatorID), tn.Token, map[string]any{"status": "offline"}), 200)
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", self), tn.OperatorToken, map[string]any{"status": "busy"}), 200)

		// A chat, messages from both sides, in order.
		var ch chatResp
		mustStatus(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": client.ClientID}), 201).JSON(t, &ch)
		if ch.ChatID <= 0 || ch.ClientID != client.ClientID || ch.Status != "open" || ch.OperatorID != nil || ch.EndTime != nil {
			t.Fatalf("created chat %+v", ch)
		}
		if r := env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": 999999}); r.Status != 404 {
			t.Fatalf("chat for a missing client: %d %s", r.Status, r.Body)
		}
		path := fmt.Sprintf("/v1/chats/%d", ch.ChatID)
		mustStatus(t, env.Do(t, "POST", path+"/messages", tn.Token, map[string]any{"sender_type": "client", "content": "Hello?"}), 201)
		// The operator's first answer assigns the chat to it.
		mustStatus(t, env.Do(t, "POST", path+"/messages", tn.OperatorToken, map[string]any{"sender_type": "operator", "content": "Hi, how can I help?"}), 201)
		if r := env.Do(t, "POST", path+"/messages", tn.OperatorToken, map[string]any{"sender_type": "client", "content": "spoof"}); r.Status != 403 {
			t.Fatalf("operator posting as client: %d %s", r.Status, r.Body)
		}
		mustStatus(t, env.Do(t, "POST", path+"/messages", tn.Token, map[string]any{"sender_type": "client", "content": "My order is late."}), 201)
		mustStatus(t, env.Do(t, "GET", path, tn.Token, nil), 200).JSON(t, &ch)
		if ch.Status != "assigned" || ch.OperatorID == nil || *ch.OperatorID != self {
			t.Fatalf("chat after the operator answered: %+v (operator %d)", ch, self)
		}

		var msgs messagesResp
		mustStatus(t, env.Do(t, "GET", path+"/messages", tn.Token, nil), 200).JSON(t, &msgs)
		want := []struct{ sender, content string }{{"client", "Hello?"}, {"operator", "Hi, how can I help?"}, {"client", "My order is late."}}
		if msgs.ChatID != ch.ChatID || len(msgs.Messages) != len(want) {
			t.Fatalf("messages %+v", msgs)
		}
		for i, w := range want {
			m := msgs.Messages[i]
			if m.Seq != i+1 || m.SenderType != w.sender || m.Content != w.content || m.MessageID <= 0 {
				t.Errorf("message %d: %+v, want %+v", i, m, w)
			}
			if _, err := time.Parse(time.RFC3339, m.SentTime); err != nil {
				t.Errorf("message %d sent_time %q: %v", i, m.SentTime, err)
			}
		}
		if msgs.Messages[1].SenderID == nil || *msgs.Messages[1].SenderID != self {
			t.Errorf("operator message sender %v, want %d", msgs.Messages[1].SenderID, self)
		}
		mustStatus(t, env.Do(t, "GET", path+"/messages?after_seq=1&limit=1", tn.Token, nil), 200).JSON(t, &msgs)
		if len(msgs.Messages) != 1 || msgs.Messages[0].Seq != 2 {
			t.Fatalf("paged messages %+v", msgs)
		}

		// Back to the queue releases the operator; only an operator can take
		// a chat by hand (the router assigns the others).
		mustStatus(t, env.Do(t, "PATCH", path, tn.Token, map[string]any{"status": "open"}), 200).JSON(t, &ch)
		if ch.Status != "open" || ch.OperatorID != nil {
			t.Fatalf("assigned -> open: %+v", ch)
		}
		if r := env.Do(t, "PATCH", path, tn.Token, map[string]any{"status": "assigned"}); r.Status != 400 {
			t.Fatalf("API user assigning by hand: %d %s", r.Status, r.Body)
		}
		mustStatus(t, env.Do(t, "PATCH", path, tn.OperatorToken, map[string]any{"status": "assigned"}), 200).JSON(t, &ch)
		if ch.Status != "assigned" || ch.OperatorID == nil || *ch.OperatorID != self {
			t.Fatalf("operator took the chat: %+v", ch)
		}

		// end_time checks.
		if r := env.Do(t, "PATCH", path, tn.Token, map[string]any{"status": "closed", "end_time": "yesterday"}); r.Status != 400 {
			t.Fatalf("bad end_time: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "PATCH", path, tn.Token, map[string]any{"status": "closed", "end_time": "2001-01-01T00:00:00Z"}); r.Status != 400 {
			t.Fatalf("end_time before the start: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "PATCH", path, tn.Token, map[string]any{"status": "assigned", "end_time": time.Now().UTC().Format(time.RFC3339)}); r.Status != 400 {
			t.Fatalf("end_time without closing: %d %s", r.Status, r.Body)
		}

		// Close with end_time; then no more messages and no reopening.
		end := time.Now().UTC().Truncate(time.Millisecond)
		mustStatus(t, env.Do(t, "PATCH", path, tn.Token, map[string]any{"status": "closed", "end_time": end.Format(time.RFC3339Nano)}), 200).JSON(t, &ch)
		if ch.Status != "closed" || ch.EndTime == nil {
			t.Fatalf("closed chat %+v", ch)
		}
		if e, err := time.Parse(time.RFC3339, *ch.EndTime); err != nil || !e.Equal(end) {
			t.Fatalf("end_time %q, want %s", *ch.EndTime, end)
		}
		if r := env.Do(t, "POST", path+"/messages", tn.Token, map[string]any{"sender_type": "client", "content": "one more thing"}); r.Status != 409 || errorCode(r) != "conflict" {
			t.Fatalf("post after close: %d %s", r.Status, r.Body)
		}
		for _, s := range []string{"open", "assigned", "closed"} {
			if r := env.Do(t, "PATCH", path, tn.Token, map[string]any{"status": s}); r.Status != 409 {
				t.Fatalf("closed -> %s: %d %s", s, r.Status, r.Body)
			}
		}
		mustStatus(t, env.Do(t, "GET", path+"/messages", tn.Token, nil), 200).JSON(t, &msgs)
		if len(msgs.Messages) != 3 {
			t.Fatalf("messages after close: %+v", msgs)
		}

		// Another chat is dismissed straight from the queue, ending now.
		mustStatus(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": client.ClientID}), 201).JSON(t, &ch)
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", ch.ChatID), tn.Token, map[string]any{"status": "dismissed"}), 200).JSON(t, &ch)
		if ch.Status != "dismissed" || ch.EndTime == nil {
			t.Fatalf("dismissed chat %+v", ch)
		}

		// Unknown methods and paths answer in the family's format.
		if r := env.Do(t, "DELETE", path, tn.Token, nil); r.Status != 405 || errorCode(r) != "method_not_allowed" {
			t.Fatalf("DELETE chat: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "GET", "/v1/nothing", tn.Token, nil); r.Status != 404 || errorCode(r) != "not_found" {
			t.Fatalf("unknown path: %d %s", r.Status, r.Body)
		}
	})
}

// TestConcurrentPosts posts from 20 goroutines to one chat: the messages
// must be numbered 1..20 without gaps or duplicates.
func TestConcurrentPosts(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Alpha")
		var c struct {
			ClientID int64 `json:"client_id"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "c"}), 201).JSON(t, &c)
		var ch chatResp
		mustStatus(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": c.ClientID}), 201).JSON(t, &ch)
		path := fmt.Sprintf("/v1/chats/%d/messages", ch.ChatID)

		const n = 20
		var wg sync.WaitGroup
		seqs := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				token, sender := tn.Token, "client"
				if i%2 == 1 {
					token, sender = tn.OperatorToken, "operator"
				}
				r := env.Do(t, "POST", path, token, map[string]any{"sender_type": sender, "content": fmt.Sprintf("m%d", i)})
				if r.Status != 201 {
					t.Errorf("post %d: %d %s", i, r.Status, r.Body)
					return
				}
				var m struct {
					Seq int `json:"seq"`
				}
				r.JSON(t, &m)
				seqs[i] = m.Seq
			}()
		}
		wg.Wait()
		sort.Ints(seqs)
		for i, s := range seqs {
			if s != i+1 {
				t.Fatalf("seqs returned %v, want 1..%d", seqs, n)
			}
		}
		var msgs messagesResp
		mustStatus(t, env.Do(t, "GET", path, tn.Token, nil), 200).JSON(t, &msgs)
		if len(msgs.Messages) != n {
			t.Fatalf("%d messages stored, want %d", len(msgs.Messages), n)
		}
		for i, m := range msgs.Messages {
			if m.Seq != i+1 {
				t.Fatalf("stored seq %d at position %d", m.Seq, i)
			}
		}
	})
}

// TestListChatsAndCapacity: chats page by keyset and filter by status;
// operators see their own chats and the queue; capacity bounds routing.
func TestListChatsAndCapacity(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Lister")
		var list struct {
			Operators []struct {
				OperatorID int64 `json:"operator_id"`
				Capacity   int   `json:"capacity"`
			} `json:"operators"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/operators", tn.Token, nil), 200).JSON(t, &list)
		me := list.Operators[0].OperatorID
		var op struct {
			Capacity int    `json:"capacity"`
			Status   string `json:"status"`
		}
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me), tn.Token, map[string]any{"capacity": 2}), 200)
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me), tn.OperatorToken, map[string]any{"status": "online"}), 200).JSON(t, &op)
		if op.Capacity != 2 || op.Status != "online" {
			t.Fatalf("operator %+v", op)
		}
		if r := env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me), tn.Token, map[string]any{"capacity": 1000}); r.Status != 400 {
			t.Fatalf("capacity 1000: %d %s", r.Status, r.Body)
		}
		var client struct {
			ClientID int64 `json:"client_id"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "C"}), 201).JSON(t, &client)
		for range 3 {
			mustStatus(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": client.ClientID}), 201)
		}
		type page struct {
			Chats []struct {
				ChatID     int64  `json:"chat_id"`
				Status     string `json:"status"`
				OperatorID *int64 `json:"operator_id"`
			} `json:"chats"`
			NextAfter *int64 `json:"next_after_id"`
		}
		// The router gives the operator two chats (its capacity); one waits.
		var p page
		deadline := time.Now().Add(15 * time.Second)
		for {
			mustStatus(t, env.Do(t, "GET", "/v1/chats?status=assigned", tn.Token, nil), 200).JSON(t, &p)
			if len(p.Chats) == 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(p.Chats) != 2 || *p.Chats[0].OperatorID != me {
			t.Fatalf("assigned chats %+v", p)
		}
		mustStatus(t, env.Do(t, "GET", "/v1/chats?status=open", tn.OperatorToken, nil), 200).JSON(t, &p)
		if len(p.Chats) != 1 || p.Chats[0].Status != "open" {
			t.Fatalf("queue %+v", p)
		}
		// Without a filter an operator sees their own chats only.
		mustStatus(t, env.Do(t, "GET", "/v1/chats", tn.OperatorToken, nil), 200).JSON(t, &p)
		if len(p.Chats) != 2 || *p.Chats[0].OperatorID != me || *p.Chats[1].OperatorID != me {
			t.Fatalf("operator's own chats %+v", p)
		}
		mustStatus(t, env.Do(t, "GET", "/v1/chats?limit=2", tn.Token, nil), 200).JSON(t, &p)
		if len(p.Chats) != 2 || p.NextAfter == nil {
			t.Fatalf("first page %+v", p)
		}
		mustStatus(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats?limit=2&after_id=%d", *p.NextAfter), tn.Token, nil), 200).JSON(t, &p)
		if len(p.Chats) != 1 || p.NextAfter != nil {
			t.Fatalf("second page %+v", p)
		}
		if r := env.Do(t, "GET", "/v1/chats?status=bogus", tn.Token, nil); r.Status != 400 {
			t.Fatalf("bad status filter: %d %s", r.Status, r.Body)
		}
	})
}
