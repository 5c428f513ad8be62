package v1_test

import (
	"fmt"
	"strings"
	"testing"

	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestBadInput throws malformed, mistyped, oversized and missing input and
// bad path ids at every route. Each answer must be a 4xx with a v1 JSON
// error body; a 5xx is a bug whatever the input.
func TestBadInput(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		f := newFixture(t, env, "Alpha")
		huge := strings.Repeat("ж", 50_000)

		type mutation struct {
			name string
			path string
			body any
		}
		for _, rt := range v1.Routes() {
			req := requestFor(t, f, rt)
			var cases []mutation
			if req.Body != nil {
				cases = append(cases,
					mutation{"malformed JSON", req.Path, `{"name": `},
					mutation{"trailing garbage", req.Path, `{} {}`},
					mutation{"empty body", req.Path, ``},
					mutation{"JSON array instead of object", req.Path, `[1, 2, 3]`},
					mutation{"oversized body", req.Path, `{"name": "` + strings.Repeat("a", 2<<20) + `"}`},
				)
				for field := range req.Body.(map[string]any) {
					cases = append(cases,
						mutation{field + " wrong type", req.Path, with(req.Body.(map[string]any), field, map[string]any{"nested": []int{1}})},
						mutation{field + " huge string", req.Path, with(req.Body.(map[string]any), field, huge)},
						mutation{field + " NUL character", req.Path, with(req.Body.(map[string]any), field, "a\x00b")},
					)
				}
			}
			if strings.Contains(rt.Path, "{") {
				seg := strings.Split(strings.TrimPrefix(req.Path, "/v1/"), "/")
				for _, bad := range []string{"abc", "-1", "0", "1.5", "99999999999999999999999", "1%20OR%201=1"} {
					s := append([]string(nil), seg...)
					s[1] = bad
					cases = append(cases, mutation{"path id " + bad, "/v1/" + strings.Join(s, "/"), req.Body})
				}
			}
			if rt.Method == "GET" && strings.HasSuffix(rt.Path, "/messages") {
				for _, q := range []string{"?limit=-1", "?limit=x", "?after_seq=-5", "?limit=100000"} {
					cases = append(cases, mutation{"query " + q, req.Path + q, nil})
				}
			}
			for _, m := range cases {
				res := env.Do(t, req.Method, m.path, f.Token, m.body)
				name := fmt.Sprintf("%s (%s)", rt.Pattern(), m.name)
				if res.Status < 400 || res.Status > 499 {
					t.Errorf("%s: status %d, want 4xx: %.300s", name, res.Status, res.Body)
					continue
				}
				if errorCode(res) == "" {
					t.Errorf("%s: status %d without a v1 JSON error body: %.200s", name, res.Status, res.Body)
				}
			}
			// Without a token every route is 401 in the family's format.
			if res := env.Do(t, req.Method, req.Path, "", req.Body); res.Status != 401 || errorCode(res) != "unauthorized" {
				t.Errorf("%s without a token: status %d: %s", rt.Pattern(), res.Status, res.Body)
			}
			if res := env.Do(t, req.Method, req.Path, "not.a.token", req.Body); res.Status != 401 {
				t.Errorf("%s with a bad token: status %d: %s", rt.Pattern(), res.Status, res.Body)
			}
		}
	})
}

// with returns a copy of body with field set to v.
func with(body map[string]any, field string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range body {
		out[k] = x
	}
	out[field] = v
	return out
}
