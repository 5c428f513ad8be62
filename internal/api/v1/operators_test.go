package v1_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestOperatorsManageThemselvesOnly: an operator user cannot create
// operators (whom the router would then give chats) nor change a name or
// capacity, their own included; they change their own status only. Admin
// and api users manage operators.
func TestOperatorsManageThemselvesOnly(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		f := newFixture(t, env, "Alpha")
		var me struct {
			OperatorID int64 `json:"operator_id"`
			Capacity   int   `json:"capacity"`
			Name       string
		}
		mustStatus(t, env.Do(t, "GET", "/v1/operators/me", f.OperatorToken, nil), 200).JSON(t, &me)
		list := func() string { return string(mustStatus(t, env.Do(t, "GET", "/v1/operators", f.Token, nil), 200).Body) }
		before := list()

		refused := []struct {
			name, method, path string
			body               any
		}{
			{"create an operator", "POST", "/v1/operators", map[string]any{"name": "sock puppet", "status": "online"}},
			{"raise their capacity", "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), map[string]any{"capacity": 100}},
			{"rename themself", "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), map[string]any{"name": "boss"}},
			{"change their status and capacity at once", "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), map[string]any{"status": "online", "capacity": 50}},
			{"change a colleague's status", "PATCH", fmt.Sprintf("/v1/operators/%d", f.OperatorID), map[string]any{"status": "offline"}},
		}
		for _, r := range refused {
			res := env.Do(t, r.method, r.path, f.OperatorToken, r.body)
			if res.Status != 403 || errorCode(res) != "forbidden" {
				t.Errorf("an operator may not %s: status %d: %s", r.name, res.Status, res.Body)
			}
		}
		if after := list(); after != before {
			t.Errorf("refused requests changed the operators:\nbefore %s\nafter  %s", before, after)
		}

		// Their own presence is theirs.
		var o struct {
			Status   string `json:"status"`
			Capacity int    `json:"capacity"`
		}
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), f.OperatorToken, map[string]any{"status": "busy"}), 200).JSON(t, &o)
		if o.Status != "busy" || o.Capacity != me.Capacity {
			t.Errorf("own status: %+v", o)
		}
		// Staff manage operators.
		mustStatus(t, env.Do(t, "POST", "/v1/operators", f.Token, map[string]any{"name": "new hire"}), 201)
		mustStatus(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), f.Token, map[string]any{"capacity": 7, "name": "renamed"}), 200).JSON(t, &o)
		if o.Capacity != 7 {
			t.Errorf("staff set capacity: %+v", o)
		}
	})
}
