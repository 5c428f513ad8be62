package v1_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

type notesResp struct {
	Notes []struct {
		NoteID     int64  `json:"note_id"`
		Kind       string `json:"kind"`
		OperatorID *int64 `json:"operator_id"`
		Content    string `json:"content"`
	} `json:"notes"`
}

// TestNotesAndTransfer: a note is staff-only (never among the chat's
// messages) and in sight rules; a transfer to a named operator assigns
// the chat to them with its note, a transfer to a menu queues it there.
func TestNotesAndTransfer(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		w := newInboxWorld(t, env, "Acme")
		other := newInboxWorld(t, env, "Other")
		op := w.tn.OperatorToken
		chat := fmt.Sprintf("/v1/chats/%d", w.mine)

		mustStatus(t, env.Do(t, "POST", chat+"/notes", op, map[string]any{"content": "VIP, be gentle"}), 201)
		for _, c := range []struct {
			token, method string
			body          any
			want          int
		}{
			{w.colleague, "GET", nil, 403}, {w.colleague, "POST", map[string]any{"content": "x"}, 403},
			{other.tn.Token, "GET", nil, 404}, {other.tn.Token, "POST", map[string]any{"content": "x"}, 404},
			{op, "POST", map[string]any{"content": " "}, 400},
		} {
			if r := env.Do(t, c.method, chat+"/notes", c.token, c.body); r.Status != c.want {
				t.Errorf("%s notes: %d, want %d: %s", c.method, r.Status, c.want, r.Body)
			}
		}
		// Never a message: not in the chat's messages, whoever reads them.
		for _, token := range []string{op, w.tn.Token} {
			if r := mustStatus(t, env.Do(t, "GET", chat+"/messages", token, nil), 200); strings.Contains(string(r.Body), "be gentle") {
				t.Errorf("a note among the messages: %s", r.Body)
			}
		}
		if r := mustStatus(t, env.Do(t, "GET", "/v1/messages/search?q=gentle", w.tn.Token, nil), 200); strings.Contains(string(r.Body), "gentle") {
			t.Errorf("search found a note: %s", r.Body)
		}

		// The colleague is offline: refused, nothing changes.
		if r := env.Do(t, "POST", chat+"/transfer", op, map[string]any{"operator_id": w.other, "note": "over to you"}); r.Status != 409 {
			t.Fatalf("transfer to an offline operator: %d %s", r.Status, r.Body)
		}
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", w.other), w.colleague, map[string]any{"status": "busy"}), 200)
		for _, c := range []struct {
			token string
			body  map[string]any
			want  int
		}{
			{w.colleague, map[string]any{"operator_id": w.other}, 403},           // not theirs
			{op, map[string]any{}, 400},                                          // neither
			{op, map[string]any{"operator_id": w.other, "menu_id": w.menu}, 400}, // both
			{op, map[string]any{"operator_id": 999999}, 404},                     // no such operator
			{op, map[string]any{"menu_id": 999999}, 404},                         // no such menu
			{op, map[string]any{"menu_id": other.menu}, 404},                     // another company's menu
			{op, map[string]any{"operator_id": other.me}, 404},                   // another company's operator
			{other.tn.Token, map[string]any{"operator_id": w.other}, 404},        // another company
			{op, map[string]any{"operator_id": w.me}, 400},                       // already mine
			{op, map[string]any{"operator_id": w.other, "note": "a\x00b"}, 400},  // bad note
		} {
			if r := env.Do(t, "POST", chat+"/transfer", c.token, c.body); r.Status != c.want {
				t.Errorf("transfer %v: %d, want %d: %s", c.body, r.Status, c.want, r.Body)
			}
		}
		var moved chatResp
		mustStatus(t, env.Do(t, "POST", chat+"/transfer", op, map[string]any{"operator_id": w.other, "note": "over to you"}), 200).JSON(t, &moved)
		if moved.Status != "assigned" || moved.OperatorID == nil || *moved.OperatorID != w.other {
			t.Fatalf("after the transfer: %+v", moved)
		}
		// The receiver sees the history and both notes; I no longer see the chat.
		var notes notesResp
		mustStatus(t, env.Do(t, "GET", chat+"/notes", w.colleague, nil), 200).JSON(t, &notes)
		if len(notes.Notes) != 2 || notes.Notes[1].Kind != "transfer" || notes.Notes[1].Content != "over to you" || notes.Notes[1].OperatorID == nil || *notes.Notes[1].OperatorID != w.me {
			t.Errorf("the receiver's notes: %+v", notes)
		}
		mustStatus(t, env.Do(t, "GET", chat+"/messages", w.colleague, nil), 200)
		if r := env.Do(t, "GET", chat, op, nil); r.Status != 403 {
			t.Errorf("the sender still sees the chat: %d", r.Status)
		}
		var ops struct {
			Operators []struct {
				OperatorID int64 `json:"operator_id"`
				Load       int   `json:"load"`
			} `json:"operators"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/operators", w.tn.Token, nil), 200).JSON(t, &ops)
		for _, o := range ops.Operators {
			if (o.OperatorID == w.me && o.Load != 0) || (o.OperatorID == w.other && o.Load != 2) {
				t.Errorf("operator %d load %d after the transfer", o.OperatorID, o.Load)
			}
		}

		// To a menu: queued there, released by the colleague.
		mustStatus(t, env.Do(t, "POST", chat+"/transfer", w.colleague, map[string]any{"menu_id": w.menu}), 200).JSON(t, &moved)
		if moved.Status != "open" || moved.OperatorID != nil {
			t.Errorf("after the transfer to a menu: %+v", moved)
		}
		if got := w.inbox(t, w.tn.Token, fmt.Sprintf("view=queue&menu_id=%d", w.menu)).ids(); len(got) != 1 || got[0] != w.mine {
			t.Errorf("the menu's queue: %v", got)
		}
		// An admin transfers any chat; an ended chat is not transferred.
		mustStatus(t, env.Do(t, "POST", chat+"/transfer", w.tn.Token, map[string]any{"operator_id": w.other}), 200)
		mustStatus(t, env.Do(t, "PATCH", chat, w.tn.Token, map[string]any{"status": "closed"}), 200)
		if r := env.Do(t, "POST", chat+"/transfer", w.tn.Token, map[string]any{"operator_id": w.other}); r.Status != 409 {
			t.Errorf("transfer of an ended chat: %d", r.Status)
		}
	})
}

type cannedResp struct {
	CannedID int64   `json:"canned_id"`
	Scope    string  `json:"scope"`
	Shortcut string  `json:"shortcut"`
	Content  string  `json:"content"`
	Text     *string `json:"text"`
}

// TestCannedResponses: company-wide ones by admins, personal ones by
// operators, placeholders filled in per chat, ownership enforced.
func TestCannedResponses(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		w := newInboxWorld(t, env, "Acme")
		other := newInboxWorld(t, env, "Other")
		op, admin := w.tn.OperatorToken, w.tn.Token
		var company, mine cannedResp
		mustStatus(t, env.Do(t, "POST", "/v1/canned_responses", admin, map[string]any{"shortcut": "/Greet", "content": "Hello {{customer.name}}, I am {{ operator.name }}. {{unknown}}"}), 201).JSON(t, &company)
		if company.Shortcut != "greet" || company.Scope != "company" || company.Text != nil {
			t.Errorf("company response %+v", company)
		}
		mustStatus(t, env.Do(t, "POST", "/v1/canned_responses", op, map[string]any{"shortcut": "bye", "content": "Bye, {{customer.name}}!"}), 201).JSON(t, &mine)
		if mine.Scope != "personal" {
			t.Errorf("an operator's response %+v", mine)
		}
		for _, c := range []struct {
			token string
			body  map[string]any
			want  int
		}{
			{op, map[string]any{"shortcut": "x", "content": "y", "scope": "company"}, 403},
			{admin, map[string]any{"shortcut": "x", "content": "y", "scope": "personal"}, 400},
			{admin, map[string]any{"shortcut": "greet", "content": "again"}, 409},
			{op, map[string]any{"shortcut": "bye", "content": "again"}, 409},
			{w.colleague, map[string]any{"shortcut": "bye", "content": "theirs"}, 201}, // personal shortcuts are per operator
			{admin, map[string]any{"shortcut": "bad shortcut", "content": "y"}, 400},
			{admin, map[string]any{"shortcut": "ok", "content": ""}, 400},
			{admin, map[string]any{"shortcut": "ok", "content": strings.Repeat("a", 5001)}, 400},
			{admin, map[string]any{"shortcut": "ok", "scope": "team", "content": "y"}, 400},
		} {
			if r := env.Do(t, "POST", "/v1/canned_responses", c.token, c.body); r.Status != c.want {
				t.Errorf("create %v: %d, want %d: %s", c.body, r.Status, c.want, r.Body)
			}
		}
		var list struct {
			CannedResponses []cannedResp `json:"canned_responses"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/canned_responses", op, nil), 200).JSON(t, &list)
		if len(list.CannedResponses) != 2 || list.CannedResponses[0].Shortcut != "bye" || list.CannedResponses[0].Content != "Bye, {{customer.name}}!" {
			t.Errorf("my responses %+v", list.CannedResponses)
		}
		mustStatus(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/canned_responses", w.mine), op, nil), 200).JSON(t, &list)
		texts := map[string]string{}
		for _, c := range list.CannedResponses {
			texts[c.Shortcut] = *c.Text
		}
		var me struct {
			Name string `json:"name"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/operators/me", op, nil), 200).JSON(t, &me)
		if texts["bye"] != "Bye, Acme Ivanova!" || texts["greet"] != "Hello Acme Ivanova, I am "+me.Name+". {{unknown}}" {
			t.Errorf("filled in: %q", texts)
		}
		// The colleague's list holds their own "bye", not mine; another
		// company's holds none of ours.
		mustStatus(t, env.Do(t, "GET", "/v1/canned_responses", w.colleague, nil), 200).JSON(t, &list)
		for _, c := range list.CannedResponses {
			if c.CannedID == mine.CannedID {
				t.Errorf("the colleague lists my response")
			}
		}
		if r := mustStatus(t, env.Do(t, "GET", "/v1/canned_responses", other.tn.Token, nil), 200); strings.Contains(string(r.Body), "Acme") || strings.Contains(string(r.Body), "greet") {
			t.Errorf("another company lists ours: %s", r.Body)
		}
		for _, c := range []struct {
			token, path string
			want        int
		}{
			{w.colleague, fmt.Sprintf("/v1/chats/%d/canned_responses", w.mine), 403},
			{other.tn.Token, fmt.Sprintf("/v1/chats/%d/canned_responses", w.mine), 404},
		} {
			if r := env.Do(t, "GET", c.path, c.token, nil); r.Status != c.want {
				t.Errorf("GET %s: %d, want %d", c.path, r.Status, c.want)
			}
		}
		// Changing and removing: one's own only.
		for _, c := range []struct {
			token, method string
			id            int64
			body          any
			want          int
		}{
			{w.colleague, "PATCH", mine.CannedID, map[string]any{"content": "mine now"}, 404},
			{op, "PATCH", company.CannedID, map[string]any{"content": "mine now"}, 404},
			{other.tn.Token, "PATCH", company.CannedID, map[string]any{"content": "ours"}, 404},
			{op, "PATCH", mine.CannedID, map[string]any{}, 400},
			{op, "DELETE", company.CannedID, nil, 404},
			{other.tn.Token, "DELETE", company.CannedID, nil, 404},
			{op, "PATCH", mine.CannedID, map[string]any{"content": "See you, {{customer.name}}"}, 200},
			{admin, "PATCH", company.CannedID, map[string]any{"shortcut": "hello"}, 200},
			{op, "DELETE", mine.CannedID, nil, 204},
			{op, "DELETE", mine.CannedID, nil, 404},
		} {
			if r := env.Do(t, c.method, fmt.Sprintf("/v1/canned_responses/%d", c.id), c.token, c.body); r.Status != c.want {
				t.Errorf("%s %d: %d, want %d: %s", c.method, c.id, r.Status, c.want, r.Body)
			}
		}
		mustStatus(t, env.Do(t, "GET", "/v1/canned_responses", op, nil), 200).JSON(t, &list)
		if len(list.CannedResponses) != 1 || list.CannedResponses[0].Shortcut != "hello" {
			t.Errorf("after the changes: %+v", list.CannedResponses)
		}
	})
}
