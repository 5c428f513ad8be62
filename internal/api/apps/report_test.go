package apps_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

type reportRow struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Chats         int    `json:"chats"`
	Ended         int    `json:"ended"`
	Abandoned     int    `json:"abandoned"`
	FirstResponse struct {
		Count int      `json:"count"`
		P50   *float64 `json:"p50"`
	} `json:"first_response_seconds"`
	Handle struct {
		Count int `json:"count"`
	} `json:"handle_seconds"`
	CSAT struct {
		Count int      `json:"count"`
		Avg   *float64 `json:"avg"`
	} `json:"csat"`
}

type chatReport struct {
	TZ        string      `json:"tz"`
	Totals    reportRow   `json:"totals"`
	Menus     []reportRow `json:"menus"`
	Operators []reportRow `json:"operators"`
	Days      []struct {
		Date  string `json:"date"`
		Chats int    `json:"chats"`
	} `json:"days"`
}

// widgetChat starts a widget chat of project pid with its visitor's first
// message and answers its id and widget token.
func widgetChat(t *testing.T, env *testenv.Env, pid, visitor string) (int64, string) {
	t.Helper()
	var s struct {
		ChatID int64  `json:"chat_id"`
		Token  string `json:"token"`
	}
	must(t, env.Do(t, "POST", "/v1/widget/projects/"+pid+"/chats", "", map[string]any{"visitor_id": visitor, "text": "Hello"}), 201).JSON(t, &s)
	return s.ChatID, s.Token
}

// TestChatReport: a company's report counts its chats of the window per
// menu and per operator, with the first response, the CSAT an end user
// gave in the widget and the chats abandoned before any answer (timed out,
// or ended by the visitor); another
// company's report has none of it, and operators may not read it.
func TestChatReport(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		var p struct {
			ProjectUUID string `json:"project_uuid"`
		}
		must(t, env.Do(t, "POST", "/apps/api/v1/projects", a.Token, map[string]any{"name": "Site", "menu_id": a.MenuID}), 201).JSON(t, &p)
		var me struct {
			OperatorID int64 `json:"operator_id"`
		}
		must(t, env.Do(t, "GET", "/v1/operators/me", a.OperatorToken, nil), 200).JSON(t, &me)

		// Served: taken, answered, finished, rated 5 in the widget.
		served, token := widgetChat(t, env, p.ProjectUUID, "visitor-served-0000000")
		must(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", served), a.OperatorToken, map[string]any{"status": "assigned"}), 200)
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", served), a.OperatorToken, map[string]any{"content": "Hi!"}), 201)
		must(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", served), a.OperatorToken, map[string]any{"status": "finished"}), 200)
		rate := fmt.Sprintf("/v1/widget/projects/%s/chats/%d/rating", p.ProjectUUID, served)
		must(t, env.Do(t, "POST", rate, "Bearer-less", map[string]any{"rating": 5}), 401)
		must(t, env.Do(t, "POST", rate, token, map[string]any{"rating": 5, "comment": "Great"}), 201)
		// Abandoned: nobody answered before it timed out.
		abandoned, _ := widgetChat(t, env, p.ProjectUUID, "visitor-gone-000000000")
		must(t, env.Do(t, "PATCH", fmt.Sprintf("/apps/api/v1/chats/%d", abandoned), a.Token, map[string]any{"chat": map[string]any{"status": "timed_out"}}), 200)

		// Abandoned too: the visitor ended it before any answer.
		left, leftToken := widgetChat(t, env, p.ProjectUUID, "visitor-left-000000000")
		must(t, env.Do(t, "POST", fmt.Sprintf("/v1/widget/projects/%s/chats/%d/end", p.ProjectUUID, left), leftToken, nil), 204)

		// Staff see the rating on the chat.
		var v1chat struct {
			Rating *struct {
				Rating  int    `json:"rating"`
				Comment string `json:"comment"`
			} `json:"rating"`
		}
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d", served), a.Token, nil), 200).JSON(t, &v1chat)
		if v1chat.Rating == nil || v1chat.Rating.Rating != 5 || v1chat.Rating.Comment != "Great" {
			t.Errorf("the served chat's rating as staff see it: %+v", v1chat.Rating)
		}

		today := time.Now().In(time.UTC).Format(time.DateOnly)
		var rep chatReport
		res := must(t, env.Do(t, "GET", "/apps/api/v1/stats/chats?from="+today+"&to="+today+"&tz=UTC", a.Token, nil), 200)
		res.JSON(t, &rep)
		// The fixture's own chat (escalated, never answered) counts too.
		tot := rep.Totals
		if tot.Chats != 4 || tot.Ended != 3 || tot.Abandoned != 2 || tot.FirstResponse.Count != 1 || tot.Handle.Count != 1 ||
			tot.CSAT.Count != 1 || tot.CSAT.Avg == nil || *tot.CSAT.Avg != 5 {
			t.Errorf("totals: %s", res.Body)
		}
		if len(rep.Menus) != 1 || rep.Menus[0].ID != a.MenuID || rep.Menus[0].Chats != 4 || rep.Menus[0].Name != "Alpha-menu-secret" {
			t.Errorf("menus: %+v", rep.Menus)
		}
		if len(rep.Operators) != 1 || rep.Operators[0].ID != me.OperatorID || rep.Operators[0].Chats != 1 || rep.Operators[0].CSAT.Count != 1 {
			t.Errorf("operators: %+v", rep.Operators)
		}
		if len(rep.Days) != 1 || rep.Days[0].Date != today || rep.Days[0].Chats != 4 {
			t.Errorf("days: %+v", rep.Days)
		}
		// A window of other days has none of them.
		rep = chatReport{}
		must(t, env.Do(t, "GET", "/apps/api/v1/stats/chats?from=2020-01-01&to=2020-01-03&tz=Asia/Tokyo", a.Token, nil), 200).JSON(t, &rep)
		if rep.Totals.Chats != 0 || len(rep.Days) != 3 || rep.TZ != "Asia/Tokyo" {
			t.Errorf("an empty window: %+v", rep)
		}

		// Company B sees its own chat only, nothing of A.
		rep = chatReport{}
		res = must(t, env.Do(t, "GET", "/apps/api/v1/stats/chats", b.Token, nil), 200)
		res.JSON(t, &rep)
		if rep.Totals.Chats != 1 || rep.Totals.CSAT.Count != 0 {
			t.Errorf("company B's totals: %s", res.Body)
		}
		for _, s := range append(a.Secrets, "Alpha") {
			if strings.Contains(string(res.Body), s) {
				t.Errorf("company A's %q in B's report", s)
			}
		}
		// Operators read no report; bad windows are refused.
		must(t, env.Do(t, "GET", "/apps/api/v1/stats/chats", a.OperatorToken, nil), 403)
		must(t, env.Do(t, "GET", "/apps/api/v1/stats/chats", "", nil), 401)
		must(t, env.Do(t, "GET", "/apps/api/v1/stats/chats?from=2020-01-01&to=2022-01-01", a.Token, nil), 422)
		must(t, env.Do(t, "GET", "/apps/api/v1/stats/chats?from=yesterday", a.Token, nil), 422)
	})
}
