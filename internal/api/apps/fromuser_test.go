package apps_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestFromUserID: from_user_id is resolved against the chat. The chat's
// end user id (end_user.id of the chat object) is the end user, even when
// an operator has the same number; an operator id must be an operator who
// may write in this chat (theirs, or in the queue of their menus, which the
// message takes); anything else is 422 and stores nothing.
func TestFromUserID(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Alpha")
		other := env.NewTenant(t, "Bravo")
		ctx := context.Background()
		if _, err := env.Users.CreateUser(ctx, tn.CompanyID, "alpha-op2", tn.Password, parley.RoleOperator); err != nil {
			t.Fatal(err)
		}
		opID := func(token string) int64 {
			var o struct {
				OperatorID int64 `json:"operator_id"`
			}
			must(t, env.Do(t, "GET", "/v1/operators/me", token, nil), 200).JSON(t, &o)
			return o.OperatorID
		}
		tokenY, _ := env.Login(t, "alpha-op2", tn.Password)
		x, y := opID(tn.OperatorToken), opID(tokenY)
		foreign := opID(other.OperatorToken)
		var menu struct {
			ID int64 `json:"id"`
		}
		must(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "X only", "operator_ids": []int64{x}}), 201).JSON(t, &menu)
		n := 0
		open := func(menuID int64) chatObj {
			n++
			var c chatObj
			body := map[string]any{"chat": map[string]any{}, "end_user": map[string]any{"phone": fmt.Sprintf("+3906%04d", n)}}
			if menuID != 0 {
				body["chat"] = map[string]any{"menu_id": menuID}
			}
			must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, body), 201).JSON(t, &c)
			return c
		}
		post := func(c chatObj, from int64) *testenv.Response {
			return env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID), tn.Token,
				map[string]any{"from_user_id": from, "message": map[string]any{"type": "text", "content": fmt.Sprintf("from %d", from)}})
		}
		messages := func(c chatObj) v1Messages {
			var m v1Messages
			must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/messages", c.ID), tn.Token, nil), 200).JSON(t, &m)
			return m
		}
		get := func(c chatObj) chatObj {
			var out chatObj
			must(t, env.Do(t, "GET", fmt.Sprintf("/apps/api/v1/chats/%d", c.ID), tn.Token, nil), 200).JSON(t, &out)
			return out
		}

		// The end user's id, which an operator of the company shares.
		c := open(0)
		eu := int64(c.EndUser["id"].(float64))
		if eu != x && eu != y {
			t.Fatalf("the test needs an operator with the end user's id %d (operators %d, %d)", eu, x, y)
		}
		must(t, post(c, eu), 200)
		if m := messages(c); len(m.Messages) != 1 || m.Messages[0].SenderType != "client" {
			t.Fatalf("from_user_id = the chat's end user: %+v", m)
		}
		if got := get(c); got.Status != "queued" || got.Agent != nil {
			t.Fatalf("the end user's message assigned the chat: %+v", got)
		}

		// Operators: only one who may write in the chat.
		inX := open(menu.ID) // queued in X's menu, its end user numbered unlike the operators tried
		for id := int64(inX.EndUser["id"].(float64)); id == y || id == foreign; id = int64(inX.EndUser["id"].(float64)) {
			inX = open(menu.ID)
		}
		for name, from := range map[string]int64{"an operator of another menu": y, "another company's operator": foreign, "nobody": 99999} {
			if r := post(inX, from); r.Status != 422 {
				t.Errorf("from_user_id = %s: status %d, want 422: %s", name, r.Status, r.Body)
			}
		}
		if m := messages(inX); len(m.Messages) != 0 {
			t.Fatalf("refused posts stored messages: %+v", m)
		}
		must(t, post(inX, x), 200) // X takes the chat of their queue
		if got := get(inX); got.Status != "assigned" || got.Agent == nil || got.Agent.ID != x {
			t.Fatalf("from_user_id = an operator of the menu: %+v", got)
		}
		if r := post(inX, y); r.Status != 422 {
			t.Errorf("from_user_id = a colleague on X's chat: status %d: %s", r.Status, r.Body)
		}
		if m := messages(inX); len(m.Messages) != 1 || m.Messages[0].SenderType != "operator" {
			t.Fatalf("messages of X's chat: %+v", m)
		}
	})
}
