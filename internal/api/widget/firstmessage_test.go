package widget_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestWidgetFirstMessageAndRating: a visitor who has not written has no
// chat (resume_only is 404 and leaves no row); the first message opens the
// chat with it; resume_only then finds it, and a start with text goes into
// it. Once an operator ends the chat the visitor rates it once; the rating
// is the chat's, seen by its company's staff, and no other company's
// token, widget or staff, reaches it.
func TestWidgetFirstMessageAndRating(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Shop")
		other := env.NewTenant(t, "Other")
		p, q := project(t, env, tn), project(t, env, other)
		base := "/v1/widget/projects/" + p + "/chats"
		chats := func() int {
			var l struct {
				Chats []any `json:"chats"`
			}
			must(t, env.Do(t, "GET", "/apps/api/v1/chats", tn.Token, nil), 200).JSON(t, &l)
			return len(l.Chats)
		}
		visitor := "visitor-first-00000000"
		if c := code(t, must(t, env.Do(t, "POST", base, "", map[string]any{"visitor_id": visitor, "resume_only": true}), 404)); c != "not_found" {
			t.Errorf("resume_only without a chat: code %q", c)
		}
		must(t, env.Do(t, "POST", base, "", map[string]any{"visitor_id": visitor, "resume_only": true, "text": "x"}), 400)
		must(t, env.Do(t, "POST", base, "", map[string]any{"visitor_id": visitor, "text": "   "}), 400)
		if n := chats(); n != 0 {
			t.Fatalf("%d chats before the first message", n)
		}

		var s, again, resumed struct {
			ChatID    int64  `json:"chat_id"`
			Token     string `json:"token"`
			Resumed   bool   `json:"resumed"`
			MessageID *int64 `json:"message_id"`
			Seq       *int   `json:"seq"`
		}
		must(t, env.Do(t, "POST", base, "", map[string]any{"visitor_id": visitor, "text": "Where is my parcel?"}), 201).JSON(t, &s)
		if s.Seq == nil || *s.Seq != 1 || s.MessageID == nil || s.Resumed {
			t.Fatalf("the first message's start: %+v", s)
		}
		chat := fmt.Sprintf("%s/%d", base, s.ChatID)
		var list struct {
			Messages []struct {
				Content    string `json:"content"`
				SenderType string `json:"sender_type"`
			} `json:"messages"`
		}
		must(t, env.Do(t, "GET", chat+"/messages", s.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 1 || list.Messages[0].Content != "Where is my parcel?" || list.Messages[0].SenderType != "end_user" {
			t.Fatalf("the chat's messages: %+v", list.Messages)
		}
		must(t, env.Do(t, "POST", base, "", map[string]any{"visitor_id": visitor, "resume_only": true}), 200).JSON(t, &resumed)
		if resumed.ChatID != s.ChatID || !resumed.Resumed || resumed.Seq != nil {
			t.Fatalf("resume_only: %+v", resumed)
		}
		must(t, env.Do(t, "POST", base, "", map[string]any{"visitor_id": visitor, "text": "Hello?"}), 200).JSON(t, &again)
		if again.ChatID != s.ChatID || again.Seq == nil || *again.Seq != 2 {
			t.Fatalf("a second start with text: %+v", again)
		}
		if n := chats(); n != 1 {
			t.Fatalf("%d chats, want 1", n)
		}

		// Rated once it has ended; only through its own widget token.
		must(t, env.Do(t, "POST", chat+"/rating", s.Token, map[string]any{"rating": 3}), 409)
		must(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", s.ChatID), tn.Token, map[string]any{"status": "closed"}), 200)
		must(t, env.Do(t, "POST", chat+"/rating", tn.Token, map[string]any{"rating": 3}), 401) // staff do not rate
		var o struct {
			ChatID int64  `json:"chat_id"`
			Token  string `json:"token"`
		}
		must(t, env.Do(t, "POST", "/v1/widget/projects/"+q+"/chats", "", map[string]any{"visitor_id": visitor, "text": "hi"}), 201).JSON(t, &o)
		must(t, env.Do(t, "POST", chat+"/rating", o.Token, map[string]any{"rating": 1}), 403) // another company's visitor
		must(t, env.Do(t, "POST", chat+"/rating", s.Token, map[string]any{"rating": 3, "comment": "  Slow  "}), 201)
		var seen struct {
			Rating *struct {
				Rating  int    `json:"rating"`
				Comment string `json:"comment"`
			} `json:"rating"`
		}
		must(t, env.Do(t, "GET", chat, s.Token, nil), 200).JSON(t, &seen)
		if seen.Rating == nil || seen.Rating.Rating != 3 || seen.Rating.Comment != "Slow" {
			t.Fatalf("the widget's chat: %+v", seen.Rating)
		}
		seen.Rating = nil
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d", s.ChatID), tn.OperatorToken, nil), 403) // not the operator's chat
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d", s.ChatID), other.Token, nil), 404)
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d", s.ChatID), tn.Token, nil), 200).JSON(t, &seen)
		if seen.Rating == nil || seen.Rating.Rating != 3 {
			t.Fatalf("staff's view of the rating: %+v", seen.Rating)
		}
	})
}
