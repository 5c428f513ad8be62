package v1_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/testenv"
)

var jsonUnmarshal = json.Unmarshal

// TestTenantIsolation sends company A's request to every route with company
// B's tokens: each must answer 404 (or create B's own object for routes
// that address nothing of A's), show none of A's data, and leave A as it was.
func TestTenantIsolation(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		before := snapshot(t, env, a)

		for _, rt := range v1.Routes() {
			req := requestFor(t, a, rt)
			for _, token := range []string{b.Token, b.OperatorToken} {
				res := env.Do(t, req.Method, req.Path, token, req.Body)
				addressesA := strings.Contains(rt.Path, "{") || rt.Pattern() == "POST /v1/chats"
				if addressesA && res.Status != 404 {
					t.Errorf("%s %s with another company's token: status %d, want 404: %s", req.Method, req.Path, res.Status, res.Body)
				}
				if res.Status >= 500 {
					t.Errorf("%s %s: status %d", req.Method, req.Path, res.Status)
				}
				for _, s := range a.Secrets {
					if contains(res.Body, s) {
						t.Errorf("%s %s with another company's token leaked %q: %s", req.Method, req.Path, s, res.Body)
					}
				}
			}
		}
		if after := snapshot(t, env, a); after != before {
			t.Errorf("company A's objects changed under company B's requests:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// snapshot reads everything of a fixture as its own company sees it.
func snapshot(t *testing.T, env *testenv.Env, f *fixture) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{fmt.Sprintf("/v1/clients/%d", f.ClientID), "/v1/operators",
		fmt.Sprintf("/v1/chats/%d", f.ChatID), fmt.Sprintf("/v1/chats/%d/messages", f.ChatID),
		fmt.Sprintf("/v1/chats/%d/notes", f.ChatID), "/v1/canned_responses", "/v1/labels"} {
		b.Write(mustStatus(t, env.Do(t, "GET", p, f.Token, nil), 200).Body)
	}
	return b.String()
}
