package v1_test

import (
	"maps"
	"testing"

	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestUnknownFieldsRefused: seed 000's request shapes are closed; each
// body with one field more is 400 naming it, and creates nothing.
func TestUnknownFieldsRefused(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		f := newFixture(t, env, "Strict")
		var before struct {
			Operators []any `json:"operators"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/operators", f.Token, nil), 200).JSON(t, &before)
		for _, rt := range v1.Routes() {
			req := requestFor(t, f, rt)
			body, ok := req.Body.(map[string]any)
			if !ok {
				continue
			}
			bad := maps.Clone(body)
			bad["x_unknown_field"] = 1
			res := env.Do(t, req.Method, req.Path, f.Token, bad)
			if res.Status != 400 || errorCode(res) != "malformed" || !contains(res.Body, `"x_unknown_field"`) {
				t.Errorf("%s with an unknown field: %d %s; want 400 malformed naming x_unknown_field", rt.Pattern(), res.Status, res.Body)
			}
		}
		var after struct {
			Operators []any `json:"operators"`
		}
		mustStatus(t, env.Do(t, "GET", "/v1/operators", f.Token, nil), 200).JSON(t, &after)
		if len(after.Operators) != len(before.Operators) {
			t.Errorf("refused requests created operators: %d, then %d", len(before.Operators), len(after.Operators))
		}
	})
}
