package ext_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestTenantIsolation sends company A's request to every route with company
// B's token: each must answer 403 or 404, show none of A's data, and leave
// A's objects as they were.
func TestTenantIsolation(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		before := snapshot(t, env, a)

		for _, rt := range ext.Routes() {
			if rt.Public {
				continue // /auth takes credentials, not a tenant's token
			}
			req := requestFor(t, a, rt)
			res := env.Do(t, req.Method, req.Path, b.Token, req.Body)
			if res.Status != 403 && res.Status != 404 {
				t.Errorf("%s with another company's token: status %d, want 403 or 404: %s", describe(req), res.Status, res.Body)
			}
			for _, s := range a.Secrets {
				if strings.Contains(string(res.Body), s) {
					t.Errorf("%s with another company's token leaked %q: %s", describe(req), s, res.Body)
				}
			}
		}
		if after := snapshot(t, env, a); after != before {
			t.Errorf("company A's objects changed under company B's requests:\nbefore %s\nafter  %s", before, after)
		}

		// Without agent_uuid, a bulk delete of A's UUIDs by B deletes nothing.
		res := mustStatus(t, env.Do(t, "POST", ext.Prefix+"/initial-entity/bulk-delete", b.Token,
			map[string]any{"initial_entities_uuid": []string{a.InitialUUID}}), 200)
		var del struct {
			Deleted []any    `json:"deleted_entities"`
			Skipped []string `json:"skipped"`
		}
		res.JSON(t, &del)
		if len(del.Deleted) != 0 || len(del.Skipped) != 1 || del.Skipped[0] != a.InitialUUID {
			t.Errorf("bulk-delete of another company's entity: %s", res.Body)
		}
		if after := snapshot(t, env, a); after != before {
			t.Errorf("company A's objects changed under B's bulk delete")
		}
	})
}

// snapshot reads everything of a fixture's agent as its own company sees it.
func snapshot(t *testing.T, env *testenv.Env, f *fixture) string {
	t.Helper()
	q := "?agent_uuid=" + f.AgentUUID
	var b strings.Builder
	for _, path := range []string{"/agent-settings/general", "/agent-settings/credentials", "/agent-settings/time-slot", "/initial-entity", "/output-entity"} {
		b.Write(mustStatus(t, env.Do(t, "GET", ext.Prefix+path+q, f.Token, nil), 200).Body)
	}
	b.Write(mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents", f.Token, nil), 200).Body)
	for _, path := range []string{"/agent-settings/script" + q, "/queue/dialog" + q, "/selection" + q,
		"/statistic/dialog?dialog_uuid=" + f.DialogUUID, "/statistic/download/call?call_uuid=" + f.CallUUID,
		"/dialog/dialogs-group-initial-result?task_uuid=" + f.TaskUUID, "/trunks", "/trunks/" + url.PathEscape(f.TrunkName)} {
		b.Write(mustStatus(t, env.Do(t, "GET", ext.Prefix+path, f.Token, nil), 200).Body)
	}
	return b.String()
}
