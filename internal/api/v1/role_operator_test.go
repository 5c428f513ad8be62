package v1_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestRoleChangeDisablesOperator: a user moved off the operator role
// keeps no routable operator row: in the same change their operator goes
// offline and cannot be put online, the chat they held goes back to the
// queue, and the users list shows no operator for them. Given the role
// again, they get the same operator back, which may go online again.
func TestRoleChangeDisablesOperator(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Roles")
		var list struct {
			Users []userOut `json:"users"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/users", tn.Token, nil), 200).JSON(t, &list)
		var op userOut
		for _, u := range list.Users {
			if u.Login == tn.OperatorLogin {
				op = u
			}
		}
		if op.OperatorID == nil {
			t.Fatalf("the tenant's operator user has no operator: %+v", list.Users)
		}
		opPath := fmt.Sprintf("/v1/operators/%d", *op.OperatorID)
		userPath := fmt.Sprintf("/v1/users/%d", op.UserID)

		// The operator is online and holds a chat.
		mustStatus(t, env.Do(t, "PATCH", opPath, tn.Token, map[string]any{"status": "online"}), 200)
		var c struct {
			ID int64 `json:"id"`
		}
		mustStatus(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{},
			"end_user": map[string]any{"phone": "+100"}}), 201).JSON(t, &c)
		chatPath := fmt.Sprintf("/v1/chats/%d", c.ID)
		mustStatus(t, env.Do(t, "PATCH", chatPath, tn.OperatorToken, map[string]any{"status": "assigned"}), 200)
		chatStatus := func() string {
			t.Helper()
			var d struct {
				Status string `json:"status"`
			}
			mustStatus(t, env.Do(t, "GET", chatPath, tn.Token, nil), 200).JSON(t, &d)
			return d.Status
		}
		if s := chatStatus(); s != "assigned" {
			t.Fatalf("chat %s before the role change", s)
		}
		disabled := false
		operator := func() (status string, found bool) {
			t.Helper()
			var l struct {
				Operators []struct {
					ID       int64  `json:"operator_id"`
					Status   string `json:"status"`
					Disabled bool   `json:"disabled"`
				} `json:"operators"`
			}
			mustStatus(t, env.Do(t, "GET", "/v1/operators", tn.Token, nil), 200).JSON(t, &l)
			for _, o := range l.Operators {
				if o.ID == *op.OperatorID {
					disabled = o.Disabled
					return o.Status, true
				}
			}
			return "", false
		}

		// Moved to the api role.
		var after userOut
		mustStatus(t, env.Do(t, "PATCH", userPath, tn.Token, map[string]any{"role": "api"}), 200).JSON(t, &after)
		if after.Role != "api" || after.OperatorID != nil {
			t.Fatalf("after the role change: %+v", after)
		}
		if s, ok := operator(); !ok || s != "offline" || !disabled {
			t.Fatalf("the former operator's row: %q (found %v, disabled %v), want offline and disabled", s, ok, disabled)
		}
		// "open" is the API's word for a chat waiting in the queue.
		if s := chatStatus(); s != "open" {
			t.Fatalf("the chat the former operator held is %s, want open (queued)", s)
		}
		// The access token issued while they were an operator (it still
		// says operator until it expires) no longer acts as one.
		mustStatus(t, env.Do(t, "PATCH", chatPath, tn.OperatorToken, map[string]any{"status": "assigned"}), 403)
		mustStatus(t, env.Do(t, "PATCH", opPath, tn.OperatorToken, map[string]any{"status": "online"}), 403)
		if s := chatStatus(); s != "open" {
			t.Fatalf("the former operator took the chat with an old token: %s", s)
		}
		mustStatus(t, env.Do(t, "PATCH", opPath, tn.Token, map[string]any{"status": "online"}), 409)
		mustStatus(t, env.Do(t, "PATCH", opPath, tn.Token, map[string]any{"status": "busy"}), 409)
		if s, _ := operator(); s != "offline" {
			t.Fatalf("a disabled operator was put %s", s)
		}
		mustStatus(t, env.Do(t, "GET", "/v1/users", tn.Token, nil), 200).JSON(t, &list)
		for _, u := range list.Users {
			if u.UserID == op.UserID && u.OperatorID != nil {
				t.Fatalf("the users list still shows an operator for %+v", u)
			}
		}

		// Back to operator: the same row, enabled, may go online.
		mustStatus(t, env.Do(t, "PATCH", userPath, tn.Token, map[string]any{"role": "operator"}), 200).JSON(t, &after)
		if after.OperatorID == nil || *after.OperatorID != *op.OperatorID {
			t.Fatalf("operator again with operator %v, want %d", after.OperatorID, *op.OperatorID)
		}
		mustStatus(t, env.Do(t, "PATCH", opPath, tn.Token, map[string]any{"status": "online"}), 200)
		if s, _ := operator(); s != "online" || disabled {
			t.Fatalf("the operator again is %s, want online", s)
		}
	})
}
