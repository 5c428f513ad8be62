package apps_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api/apps"
	"github.com/parley-cc/parley/internal/testenv"
)

// fixture is a tenant with a menu, an operator, a chat with a message and
// an escalation, so that every chat route has something to address.
type fixture struct {
	*testenv.Tenant
	MenuID       int64
	OperatorID   int64
	ChatID       int64
	EscalationID int64
	Secrets      []string
}

func newFixture(t *testing.T, env *testenv.Env, name string) *fixture {
	t.Helper()
	f := &fixture{Tenant: env.NewTenant(t, name)}
	var menu struct {
		ID int64 `json:"id"`
	}
	must(t, env.Do(t, "POST", "/apps/api/v1/menus", f.Token, map[string]any{"name": name + "-menu-secret"}), 201).JSON(t, &menu)
	f.MenuID = menu.ID
	var op struct {
		OperatorID int64 `json:"operator_id"`
	}
	must(t, env.Do(t, "POST", "/v1/operators", f.Token, map[string]any{"name": name + "-op-secret"}), 201).JSON(t, &op)
	f.OperatorID = op.OperatorID
	var c chatObj
	must(t, env.Do(t, "POST", "/apps/api/v1/chats", f.Token, map[string]any{"chat": map[string]any{"menu_id": menu.ID},
		"end_user": map[string]any{"phone": name + "-phone-secret"}}), 201).JSON(t, &c)
	f.ChatID = c.ID
	must(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID), f.Token,
		map[string]any{"message": map[string]any{"type": "text", "content": name + "-message-secret"}}), 200)
	var esc struct {
		ID int64 `json:"id"`
	}
	must(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/escalations", c.ID), f.Token,
		map[string]any{"reason": name + "-reason-secret", "force_escalate": true}), 200).JSON(t, &esc)
	f.EscalationID = esc.ID
	f.Secrets = []string{name + "-menu-secret", name + "-phone-secret", name + "-message-secret", name + "-reason-secret"}
	return f
}

type request struct {
	Method string
	Path   string
	Body   any
}

// chatRequests returns a valid request on f's objects for every chat
// platform route but the webhooks (webhooks_test.go covers those).
func chatRequests(f *fixture) map[string]request {
	c := fmt.Sprintf("/apps/api/v1/chats/%d", f.ChatID)
	m := fmt.Sprintf("/apps/api/v1/menus/%d", f.MenuID)
	return map[string]request{
		"POST /apps/api/v1/chats":                                  {"POST", "/apps/api/v1/chats", map[string]any{"chat": map[string]any{"menu_id": f.MenuID}, "end_user": map[string]any{"phone": "p"}}},
		"GET /apps/api/v1/chats":                                   {"GET", "/apps/api/v1/chats", nil},
		"GET /apps/api/v1/stats/live":                              {"GET", "/apps/api/v1/stats/live", nil},
		"GET /apps/api/v1/stats/chats":                             {"GET", "/apps/api/v1/stats/chats?tz=Europe/Rome", nil},
		"GET /apps/api/v1/chats/{id}":                              {"GET", c, nil},
		"PATCH /apps/api/v1/chats/{id}":                            {"PATCH", c, map[string]any{"chat": map[string]any{"deflection_channel": "email"}}},
		"POST /apps/api/v1/chats/{id}/message":                     {"POST", c + "/message", map[string]any{"message": map[string]any{"type": "text", "content": "hi"}}},
		"POST /apps/api/v1/chats/{id}/typing":                      {"POST", c + "/typing", map[string]any{"sender_type": "end_user"}},
		"POST /apps/api/v1/chats/{id}/escalations":                 {"POST", c + "/escalations", map[string]any{"reason": "r", "force_escalate": true}},
		"PATCH /apps/api/v1/chats/{id}/escalations/{escalationId}": {"PATCH", fmt.Sprintf("%s/escalations/%d", c, f.EscalationID), map[string]any{"deflection_channel": "sms"}},
		"POST /apps/api/v1/chats/{id}/photos":                      {"POST", c + "/photos", map[string]any{"photo": []any{map[string]any{"s3_path": fmt.Sprintf("chats/%d/%d/photo/x", f.CompanyID, f.ChatID), "photo_type": "image/png"}}}},
		"GET /apps/api/v1/chats/{id}/photos":                       {"GET", c + "/photos", nil},
		"POST /apps/api/v1/chats/{id}/photos/upload":               {"POST", c + "/photos/upload", nil},
		"POST /apps/api/v1/chats/{id}/videos":                      {"POST", c + "/videos", map[string]any{"video": map[string]any{"s3_path": fmt.Sprintf("chats/%d/%d/video/x", f.CompanyID, f.ChatID)}}},
		"GET /apps/api/v1/chats/{id}/videos":                       {"GET", c + "/videos", nil},
		"POST /apps/api/v1/chats/{id}/videos/upload":               {"POST", c + "/videos/upload", nil},
		"GET /apps/api/v1/chats/{id}/customer_flag":                {"GET", c + "/customer_flag", nil},
		"POST /apps/api/v1/chats/{id}/customer_flag":               {"POST", c + "/customer_flag", map[string]any{"bad_actor": true}},
		"POST /apps/api/v1/chats/{id}/custom_data":                 {"POST", c + "/custom_data", map[string]any{"signed": false, "data": map[string]any{"f": map[string]any{"label": "L", "value": "v"}}}},
		"POST /apps/api/v1/chats/{id}/end-user":                    {"POST", c + "/end-user", map[string]any{"identifier": "x", "name": "n"}},
		"GET /apps/api/v1/menus":                                   {"GET", "/apps/api/v1/menus", nil},
		"POST /apps/api/v1/menus":                                  {"POST", "/apps/api/v1/menus", map[string]any{"name": "m"}},
		"GET /apps/api/v1/menus/{id}":                              {"GET", m, nil},
		"PATCH /apps/api/v1/menus/{id}":                            {"PATCH", m, map[string]any{"name": "renamed"}},
		"POST /apps/api/v1/projects":                               {"POST", "/apps/api/v1/projects", map[string]any{"name": "p", "menu_id": f.MenuID}},
		"DELETE /apps/api/v1/menus/{id}":                           {"DELETE", m, nil},
		"GET /apps/api/v1/projects":                                {"GET", "/apps/api/v1/projects", nil},
	}
}

// chatRoutes are the family's routes but the webhooks.
func chatRoutes(t *testing.T, f *fixture) []apps.Route {
	t.Helper()
	var out []apps.Route
	reqs := chatRequests(f)
	for _, rt := range apps.Routes() {
		if strings.HasPrefix(rt.Path, "/webhooks") {
			continue
		}
		if _, ok := reqs[rt.Pattern()]; !ok {
			t.Fatalf("route %s has no entry in chatRequests: add one", rt.Pattern())
		}
		out = append(out, rt)
	}
	return out
}

// TestChatTenantIsolation sends company A's requests with company B's
// tokens: every route addressing A's objects answers 404 and leaks nothing,
// and A's objects stay as they were.
func TestChatTenantIsolation(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		snapshot := func() string {
			var sb strings.Builder
			for _, p := range []string{fmt.Sprintf("/apps/api/v1/chats/%d", a.ChatID), fmt.Sprintf("/v1/chats/%d/messages", a.ChatID),
				fmt.Sprintf("/apps/api/v1/menus/%d", a.MenuID), fmt.Sprintf("/apps/api/v1/chats/%d/customer_flag", a.ChatID)} {
				sb.Write(must(t, env.Do(t, "GET", p, a.Token, nil), 200).Body)
			}
			return sb.String()
		}
		before := snapshot()
		reqs := chatRequests(a)
		for _, rt := range chatRoutes(t, a) {
			req := reqs[rt.Pattern()]
			for _, token := range []string{b.Token, b.OperatorToken} {
				res := env.Do(t, req.Method, req.Path, token, req.Body)
				addressesA := strings.Contains(rt.Path, "{") || rt.Pattern() == "POST /apps/api/v1/chats" || rt.Pattern() == "POST /apps/api/v1/projects"
				if addressesA && res.Status != 404 && !(token == b.OperatorToken && res.Status == 403) {
					t.Errorf("%s %s with another company's token: status %d, want 404: %s", req.Method, req.Path, res.Status, res.Body)
				}
				if res.Status >= 500 {
					t.Errorf("%s %s: status %d: %s", req.Method, req.Path, res.Status, res.Body)
				}
				for _, s := range a.Secrets {
					if strings.Contains(string(res.Body), s) {
						t.Errorf("%s %s leaked %q: %s", req.Method, req.Path, s, res.Body)
					}
				}
			}
		}
		if after := snapshot(); after != before {
			t.Errorf("company A changed under company B's requests:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// TestChatBadInput throws malformed, mistyped, oversized and missing input
// and bad path ids at every chat route: each answer is a 4xx with this
// family's JSON error, never a 5xx.
func TestChatBadInput(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		f := newFixture(t, env, "Alpha")
		huge := strings.Repeat("ж", 50_000)
		reqs := chatRequests(f)
		type mutation struct {
			name string
			path string
			body any
		}
		for _, rt := range chatRoutes(t, f) {
			req := reqs[rt.Pattern()]
			var cases []mutation
			if req.Body != nil {
				cases = append(cases,
					mutation{"malformed JSON", req.Path, `{"name": `},
					mutation{"trailing garbage", req.Path, `{} {}`},
					mutation{"empty body", req.Path, ``},
					mutation{"JSON array", req.Path, `[1, 2, 3]`},
					mutation{"oversized body", req.Path, `{"name": "` + strings.Repeat("a", 2<<20) + `"}`},
				)
				for field := range req.Body.(map[string]any) {
					cases = append(cases,
						mutation{field + " wrong type", req.Path, with(req.Body.(map[string]any), field, []int{1})},
						mutation{field + " huge string", req.Path, with(req.Body.(map[string]any), field, huge)},
						mutation{field + " NUL", req.Path, with(req.Body.(map[string]any), field, "a\x00b")},
						mutation{field + " null", req.Path, with(req.Body.(map[string]any), field, nil)},
					)
				}
			}
			if strings.Contains(rt.Path, "{") {
				seg := strings.Split(strings.TrimPrefix(req.Path, "/apps/api/v1/"), "/")
				for _, bad := range []string{"abc", "-1", "0", "1.5", "99999999999999999999999", "1%20OR%201=1"} {
					s := append([]string(nil), seg...)
					s[1] = bad
					cases = append(cases, mutation{"path id " + bad, "/apps/api/v1/" + strings.Join(s, "/"), req.Body})
				}
			}
			for _, m := range cases {
				res := env.Do(t, req.Method, m.path, f.Token, m.body)
				name := fmt.Sprintf("%s (%s)", rt.Pattern(), m.name)
				if res.Status >= 500 {
					t.Errorf("%s: status %d: %.300s", name, res.Status, res.Body)
					continue
				}
				// A null or a missing optional field may be fine; anything
				// that fails must fail in the family's format.
				if res.Status >= 400 && errorCode(res) == "" {
					t.Errorf("%s: status %d without a JSON error body: %.200s", name, res.Status, res.Body)
				}
				if res.Status < 400 && !strings.HasSuffix(m.name, " null") && m.name != "empty body" {
					t.Errorf("%s: status %d, want 4xx: %.300s", name, res.Status, res.Body)
				}
			}
			if res := env.Do(t, req.Method, req.Path, "", req.Body); res.Status != 401 || errorCode(res) != "unauthorized" {
				t.Errorf("%s without a token: status %d: %s", rt.Pattern(), res.Status, res.Body)
			}
		}
	})
}

func errorCode(r *testenv.Response) string {
	var e struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if err := jsonUnmarshal(r.Body, &e); err != nil || e.Message == "" {
		return ""
	}
	return e.Code
}

func with(body map[string]any, field string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range body {
		out[k] = x
	}
	out[field] = v
	return out
}

var jsonUnmarshal = json.Unmarshal
