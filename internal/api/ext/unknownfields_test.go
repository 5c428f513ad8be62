package ext_test

import (
	"bytes"
	"maps"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestUnknownFieldsRefused: every object body of the family, sent with one
// field more than its shape has, is 409 naming that field and changes
// nothing; a misspelt setting ("dealy") leaves the settings as they were,
// while the read-only settings a GET returns may be PUT back.
func TestUnknownFieldsRefused(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		f := newFixture(t, env, "Strict")
		general := ext.Prefix + "/agent-settings/general?agent_uuid=" + f.AgentUUID
		before := mustStatus(t, env.Do(t, "GET", general, f.Token, nil), 200).Body

		for _, rt := range ext.Routes() {
			req := requestFor(t, f, rt)
			body, ok := req.Body.(map[string]any)
			if !ok || rt.Path == "/dialog/dialog-initial" { // dialog keys are the agent's entities
				continue
			}
			bad := maps.Clone(body)
			bad["x_unknown_field"] = 1
			token := f.Token
			if rt.Public {
				token = ""
			}
			res := env.Do(t, req.Method, req.Path, token, bad)
			var e struct {
				Code   string            `json:"code"`
				Fields map[string]string `json:"fields"`
			}
			if res.Status != 409 {
				t.Errorf("%s with an unknown field: status %d, want 409: %s", rt.Pattern(), res.Status, res.Body)
				continue
			}
			res.JSON(t, &e)
			if e.Code != "malformed" || e.Fields["x_unknown_field"] == "" {
				t.Errorf("%s with an unknown field: %s; want code malformed naming x_unknown_field", rt.Pattern(), res.Body)
			}
		}

		res := env.Do(t, "PUT", general, f.Token, map[string]any{"dealy": 5})
		if res.Status != 409 || !bytes.Contains(res.Body, []byte(`"dealy"`)) {
			t.Fatalf(`PUT {"dealy": 5}: %d %s; want 409 naming dealy`, res.Status, res.Body)
		}
		if after := mustStatus(t, env.Do(t, "GET", general, f.Token, nil), 200).Body; !bytes.Equal(before, after) {
			t.Fatalf("settings changed by refused requests:\n%s\n%s", before, after)
		}
		// What GET returned goes back whole: read-only settings are ignored.
		var got map[string]any
		mustStatus(t, env.Do(t, "GET", general, f.Token, nil), 200).JSON(t, &got)
		got["delay"] = "02:30"
		mustStatus(t, env.Do(t, "PUT", general, f.Token, got), 200)
		mustStatus(t, env.Do(t, "GET", general, f.Token, nil), 200).JSON(t, &got)
		if got["delay"] != "02:30" {
			t.Fatalf("PUT back of the GET body did not change delay: %v", got)
		}
	})
}
