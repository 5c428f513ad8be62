package apps_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// menuDeleteContract produces the documented statuses of DELETE /menus/{id}
// and GET /projects in TestOpenAPIResponses' flow; used is a menu a project
// goes through.
func menuDeleteContract(f oaFlow, tok, opTok, used string) {
	f.t.Helper()
	var spare struct {
		ID int64 `json:"id"`
	}
	f.json(oa{"POST", "/menus", tok, map[string]any{"name": "Spare"}, 201}, &spare)
	sp := fmt.Sprintf("/menus/%d", spare.ID)
	f.run(
		oa{"DELETE", sp, opTok, nil, 403},
		oa{"DELETE", used, tok, nil, 409},
		oa{"DELETE", sp, tok, nil, 204},
		oa{"DELETE", sp, tok, nil, 404},
		oa{"DELETE", "/menus/0", tok, nil, 422},
		oa{"GET", "/projects", tok, nil, 200},
		oa{"GET", "/projects", opTok, nil, 403},
	)
}

// TestManageMenusAndProjects: a company's admin deletes its unused menus
// and lists its projects; another company's menus and projects are out of
// reach (not found, not listed), and operators may do neither.
func TestManageMenusAndProjects(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a, b := env.NewTenant(t, "A"), env.NewTenant(t, "B")
		var menu struct {
			ID int64 `json:"id"`
		}
		r := env.Do(t, "POST", "/apps/api/v1/menus", a.Token, map[string]any{"name": "Sales"})
		if r.Status != 201 {
			t.Fatalf("create menu: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &menu)
		if r := env.Do(t, "POST", "/apps/api/v1/projects", a.Token, map[string]any{"name": "Shop"}); r.Status != 201 {
			t.Fatalf("create project: %d %s", r.Status, r.Body)
		}
		path := fmt.Sprintf("/apps/api/v1/menus/%d", menu.ID)
		if r := env.Do(t, "DELETE", path, b.Token, nil); r.Status != 404 {
			t.Fatalf("B deleting A's menu: %d %s, want 404", r.Status, r.Body)
		}
		if r := env.Do(t, "DELETE", path, a.OperatorToken, nil); r.Status != 403 {
			t.Fatalf("A's operator deleting a menu: %d %s, want 403", r.Status, r.Body)
		}
		var list struct {
			Projects []struct {
				Name string `json:"name"`
			} `json:"projects"`
		}
		env.Do(t, "GET", "/apps/api/v1/projects", b.Token, nil).JSON(t, &list)
		for _, p := range list.Projects {
			if p.Name == "Shop" {
				t.Fatalf("B lists A's project: %+v", list)
			}
		}
		env.Do(t, "GET", "/apps/api/v1/projects", a.Token, nil).JSON(t, &list)
		if len(list.Projects) == 0 || list.Projects[len(list.Projects)-1].Name != "Shop" {
			t.Fatalf("A's projects: %+v, want Shop last", list)
		}
		if r := env.Do(t, "DELETE", path, a.Token, nil); r.Status != 204 {
			t.Fatalf("A deleting its menu: %d %s", r.Status, r.Body)
		}
		if r := env.Do(t, "GET", path, a.Token, nil); r.Status != 404 {
			t.Fatalf("deleted menu still there: %d %s", r.Status, r.Body)
		}
	})
}
