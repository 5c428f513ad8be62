package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestInternalNotesStayWithStaff: an internal note (issue 14) reaches the
// staff's stream, and neither the end user's stream (live or replayed) nor
// the widget's message list.
func TestInternalNotesStayWithStaff(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Widget")
		var p struct {
			UUID string `json:"project_uuid"`
		}
		need(t, env.Do(t, "POST", "/apps/api/v1/projects", tn.Token, map[string]any{"name": "site"}), 201).JSON(t, &p)
		var s struct {
			ChatID int64  `json:"chat_id"`
			Token  string `json:"token"`
		}
		need(t, env.Do(t, "POST", "/v1/widget/projects/"+p.UUID+"/chats", "", map[string]any{"visitor_id": "visitor-0123456789abcdef"}), 201).JSON(t, &s)
		user := dialStream(t, env, s.Token)
		seq := user.subscribe(t, s.ChatID)
		staff := dialStream(t, env, tn.Token)
		staff.subscribe(t, s.ChatID)

		need(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/notes", s.ChatID), tn.Token, map[string]any{"content": "internal: VIP, be nice"}), 201)
		need(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", s.ChatID), tn.Token, map[string]any{"sender_type": "operator", "content": "Hello, how can I help?"}), 201)
		if f := staff.nextEvent(t); f.Event != "note.created" || f.Data["content"] != "internal: VIP, be nice" {
			t.Fatalf("the staff's stream carried %+v, want the note", f)
		}
		if f := user.nextEvent(t); f.Event != "message.created" || f.Data["sender_type"] != "operator" {
			t.Fatalf("the end user's stream carried %+v before the operator's message", f)
		}
		replay := dialStream(t, env, s.Token)
		replay.send(t, map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": s.ChatID, "after": seq}}})
		for {
			f := replay.next(t)
			if f.Type == "synced" {
				break
			}
			if f.Type == "event" && (f.Event == "note.created" || strings.Contains(fmt.Sprint(f.Data), "VIP")) {
				t.Fatalf("the replay carried the note: %+v", f)
			}
		}
		r := need(t, env.Do(t, "GET", fmt.Sprintf("/v1/widget/projects/%s/chats/%d/messages", p.UUID, s.ChatID), s.Token, nil), 200)
		if strings.Contains(string(r.Body), "VIP") {
			t.Fatalf("the widget's list holds the note: %s", r.Body)
		}
	})
}
