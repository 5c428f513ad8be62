package ext_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestBadInput throws malformed, mistyped, oversized and missing input at
// every route. Each answer must be a 4xx with a JSON error body; a 5xx is a
// bug whatever the input.
func TestBadInput(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		f := newFixture(t, env, "Alpha")
		huge := strings.Repeat("ж", 50_000)

		for _, rt := range ext.Routes() {
			req := requestFor(t, f, rt)
			token := f.Token
			if rt.Public {
				token = ""
			}
			var cases []mutation
			// Body mutations go to the methods that read a body; the others
			// (the seed's "BODY: none") ignore one.
			if req.Body != nil {
				cases = append(cases,
					mutation{"malformed JSON", req.Path, `{"name": `, true},
					mutation{"trailing garbage", req.Path, `{} {}`, true},
					mutation{"oversized body", req.Path, `{"name": "` + strings.Repeat("a", 2<<20) + `"}`, true},
				)
				if _, isArray := req.Body.([]any); isArray {
					cases = append(cases,
						mutation{"JSON object instead of array", req.Path, `{"msisdn": "1"}`, true},
						mutation{"empty array", req.Path, `[]`, false},
						mutation{"oversized upload", req.Path, `["` + strings.Repeat("a", ext.GroupUploadLimit) + `"]`, true})
				} else {
					cases = append(cases,
						mutation{"JSON array instead of object", req.Path, `[1, 2, 3]`, true},
						mutation{"empty object", req.Path, `{}`, false})
				}
				if body, ok := req.Body.(map[string]any); ok {
					for field := range body {
						cases = append(cases,
							mutation{field + " wrong type", req.Path, with(body, field, map[string]any{"nested": []int{1}}), true},
							// A script check answers a source that does not compile with 200 and its errors.
							mutation{field + " huge string", req.Path, with(body, field, huge), rt.Path != "/agent-settings/script/check"},
							// PostgreSQL text cannot hold NUL; it must be refused, not a 500.
							mutation{field + " NUL character", req.Path, with(body, field, "a\x00b"), true},
						)
					}
				}
			}
			if strings.Contains(req.Path, "agent_uuid=") {
				cases = append(cases, mutation{"non-UUID agent_uuid", replaceParam(req.Path, "agent_uuid", "not-a-uuid'--"), req.Body, true})
				optional := rt.Path == "/initial-entity/bulk-delete" // the seed gives it no agent_uuid
				cases = append(cases, mutation{"missing agent_uuid", replaceParam(req.Path, "agent_uuid", ""), req.Body, !optional})
			}
			if strings.Contains(rt.Path, "{credential_uuid}") {
				cases = append(cases, mutation{"non-UUID path", ext.Prefix + "/agent-settings/credentials/x%20y", req.Body, true})
			}
			for _, m := range cases {
				res := env.Do(t, req.Method, m.path, token, m.body)
				name := fmt.Sprintf("%s (%s)", rt.Pattern(), m.name)
				if res.Status >= 500 {
					t.Errorf("%s: status %d: %s", name, res.Status, res.Body)
					continue
				}
				if m.want4xx && (res.Status < 400 || res.Status > 499) {
					t.Errorf("%s: status %d, want 4xx: %s", name, res.Status, res.Body)
				}
				if res.Status >= 400 {
					var e struct {
						Message string `json:"message"`
						Code    string `json:"code"`
					}
					if err := json.Unmarshal(res.Body, &e); err != nil || e.Message == "" || e.Code == "" {
						t.Errorf("%s: status %d without a JSON error body: %.200s", name, res.Status, res.Body)
					}
				}
			}
		}
	})
}

type mutation struct {
	name    string
	path    string
	body    any
	want4xx bool
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

func replaceParam(path, name, value string) string {
	base, query, _ := strings.Cut(path, "?")
	var kept []string
	for _, kv := range strings.Split(query, "&") {
		if strings.HasPrefix(kv, name+"=") {
			if value == "" {
				continue
			}
			kv = name + "=" + value
		}
		kept = append(kept, kv)
	}
	if len(kept) == 0 {
		return base
	}
	return base + "?" + strings.Join(kept, "&")
}
