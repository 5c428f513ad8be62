package api_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestEndUserSeesNoStaffNotes: a system message (a staff note) reaches
// neither the widget's message list nor the end user's stream, live or
// replayed; the end user's other messages reach both.
func TestEndUserSeesNoStaffNotes(t *testing.T) {
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
		ws := dialStream(t, env, s.Token)
		seq := ws.subscribe(t, s.ChatID)

		post := func(sender, content string) {
			need(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", s.ChatID), tn.Token, map[string]any{"sender_type": sender, "content": content}), 201)
		}
		post("system", "staff note: VIP, be nice")
		post("operator", "Hello, how can I help?")
		f := ws.nextEvent(t)
		if f.Event != "message.created" || f.Data["sender_type"] != "operator" {
			t.Fatalf("the end user's stream carried %+v before the operator's message", f)
		}

		// Replayed from the start: no staff note either.
		ws2 := dialStream(t, env, s.Token)
		ws2.send(t, map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": s.ChatID, "after": seq}}})
		for {
			f := ws2.next(t)
			if f.Type == "synced" {
				break
			}
			if f.Type == "event" && f.Data["sender_type"] == "system" {
				t.Fatalf("the replay carried a staff note: %+v", f)
			}
		}

		// The widget's list: the operator's message, not the note.
		var list struct {
			Messages []struct {
				SenderType string `json:"sender_type"`
				Content    string `json:"content"`
			} `json:"messages"`
		}
		need(t, env.Do(t, "GET", fmt.Sprintf("/v1/widget/projects/%s/chats/%d/messages", p.UUID, s.ChatID), s.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 1 || list.Messages[0].SenderType != "operator" {
			t.Fatalf("widget messages %+v", list.Messages)
		}
		// Staff still see it.
		var staff struct {
			Messages []struct {
				SenderType string `json:"sender_type"`
			} `json:"messages"`
		}
		need(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/messages", s.ChatID), tn.Token, nil), 200).JSON(t, &staff)
		if len(staff.Messages) != 2 || staff.Messages[0].SenderType != "system" {
			t.Fatalf("staff messages %+v", staff.Messages)
		}
	})
}
