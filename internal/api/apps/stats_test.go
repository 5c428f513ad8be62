package apps_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

type liveStats struct {
	Menus []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		Queued   int    `json:"queued"`
		VA       int    `json:"va"`
		Assigned int    `json:"assigned"`
	} `json:"menus"`
	Totals struct {
		Queued   int `json:"queued"`
		VA       int `json:"va"`
		Assigned int `json:"assigned"`
	} `json:"totals"`
	Operators []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		Status   string `json:"status"`
		Load     int    `json:"load"`
		Capacity int    `json:"capacity"`
	} `json:"operators"`
}

// TestLiveStats reads the live load of a company: its menus with their
// queued chats, its operators, nothing of another company; operators may
// not read it.
func TestLiveStats(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		// A second chat of A, waiting with no menu, counts in the totals only.
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", a.Token, map[string]any{"chat": map[string]any{},
			"end_user": map[string]any{"phone": "+100"}}), 201)

		var st liveStats
		res := must(t, env.Do(t, "GET", "/apps/api/v1/stats/live", a.Token, nil), 200)
		res.JSON(t, &st)
		if len(st.Menus) != 1 || st.Menus[0].ID != a.MenuID || st.Menus[0].Name != "Alpha-menu-secret" {
			t.Fatalf("menus: %s", res.Body)
		}
		m := st.Menus[0]
		if m.Queued != 1 || m.VA != 0 || m.Assigned != 0 {
			t.Errorf("menu load: %+v, want the escalated chat queued", m)
		}
		if open := st.Totals.Queued + st.Totals.VA + st.Totals.Assigned; open != 2 || st.Totals.Queued < 1 {
			t.Errorf("totals: %+v, want 2 open chats", st.Totals)
		}
		// The tenant's operator user, then the fixture's operator.
		if len(st.Operators) != 2 || st.Operators[1].ID != a.OperatorID || st.Operators[1].Name != "Alpha-op-secret" ||
			st.Operators[0].Status != "offline" || st.Operators[0].Load != 0 || st.Operators[0].Capacity < 1 {
			t.Errorf("operators: %s", res.Body)
		}
		me := st.Operators[0].ID
		for _, s := range b.Secrets {
			if strings.Contains(string(res.Body), s) {
				t.Errorf("company B's %q in A's stats", s)
			}
		}
		if strings.Contains(string(res.Body), "Bravo") {
			t.Errorf("company B in A's stats: %s", res.Body)
		}

		// An operator's load shows once a chat is assigned to them.
		must(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", a.ChatID), a.OperatorToken, map[string]any{"status": "assigned"}), 200)
		st = liveStats{}
		must(t, env.Do(t, "GET", "/apps/api/v1/stats/live", a.Token, nil), 200).JSON(t, &st)
		if st.Menus[0].Assigned != 1 || st.Menus[0].Queued != 0 || st.Operators[0].ID != me || st.Operators[0].Load != 1 {
			t.Errorf("after assignment: %+v", st)
		}

		must(t, env.Do(t, "GET", "/apps/api/v1/stats/live", a.OperatorToken, nil), 403)
		must(t, env.Do(t, "GET", "/apps/api/v1/stats/live", "", nil), 401)
	})
}
