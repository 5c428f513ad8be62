package v1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/testenv"
)

// fixture is a tenant with one client, operator, chat and message, so that
// every route has something of that tenant's to address.
type fixture struct {
	*testenv.Tenant
	ClientID   int64
	OperatorID int64
	ChatID     int64
	TransferID int64
	CannedID   int64
	UserID     int64 // the tenant's api user
	// Secrets only this tenant's data contains.
	Secrets []string
}

func newFixture(t *testing.T, env *testenv.Env, name string) *fixture {
	t.Helper()
	f := &fixture{Tenant: env.NewTenant(t, name)}
	var c struct {
		ClientID int64 `json:"client_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/clients", f.Token, map[string]any{"name": name + "-client-secret", "contact_info": name + "-contact-secret"}), 201).JSON(t, &c)
	f.ClientID = c.ClientID
	var o struct {
		OperatorID int64 `json:"operator_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/operators", f.Token, map[string]any{"name": name + "-op-secret", "status": "online"}), 201).JSON(t, &o)
	f.OperatorID = o.OperatorID
	var ch struct {
		ChatID int64 `json:"chat_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/chats", f.Token, map[string]any{"client_id": f.ClientID}), 201).JSON(t, &ch)
	f.ChatID = ch.ChatID
	mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", f.ChatID), f.Token,
		map[string]any{"sender_type": "client", "content": name + "-message-secret"}), 201)
	var k struct {
		CannedID int64 `json:"canned_id"`
	}
	mustStatus(t, env.Do(t, "POST", "/v1/canned_responses", f.Token, map[string]any{"shortcut": strings.ToLower(name) + "-greet", "content": name + "-canned-secret"}), 201).JSON(t, &k)
	f.CannedID = k.CannedID
	mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/notes", f.ChatID), f.Token, map[string]any{"content": name + "-note-secret"}), 201)
	mustStatus(t, env.Do(t, "PUT", fmt.Sprintf("/v1/chats/%d/labels", f.ChatID), f.Token, map[string]any{"labels": []string{strings.ToLower(name) + "-label-secret"}}), 200)
	f.Secrets = []string{name + "-client-secret", name + "-contact-secret", name + "-op-secret", name + "-message-secret",
		name + "-canned-secret", name + "-note-secret", strings.ToLower(name) + "-label-secret"}
	u, err := env.Users.UserByLogin(context.Background(), f.Login)
	if err != nil {
		t.Fatal(err)
	}
	f.UserID = u.ID
	f.Secrets = append(f.Secrets, f.Login)
	f.TransferID = fixtureTransfer(t, env, f)
	return f
}

type request struct {
	Method string
	Path   string
	Body   any
}

// routeRequests returns, for every route pattern, a valid request on the
// objects of f. A route missing here fails the matrices.
func routeRequests(f *fixture) map[string]request {
	chat := fmt.Sprintf("/v1/chats/%d", f.ChatID)
	tr := fmt.Sprintf("/v1/call-transfers/%d", f.TransferID)
	return map[string]request{
		"POST /v1/clients":                                 {"POST", "/v1/clients", map[string]any{"name": "n", "contact_info": "c"}},
		"GET /v1/clients/{clientId}":                       {"GET", fmt.Sprintf("/v1/clients/%d", f.ClientID), nil},
		"POST /v1/operators":                               {"POST", "/v1/operators", map[string]any{"name": "o", "status": "busy"}},
		"GET /v1/operators":                                {"GET", "/v1/operators", nil},
		"GET /v1/operators/me":                             {"GET", "/v1/operators/me", nil},
		"PATCH /v1/operators/{operatorId}":                 {"PATCH", fmt.Sprintf("/v1/operators/%d", f.OperatorID), map[string]any{"status": "offline", "capacity": 3}},
		"POST /v1/chats":                                   {"POST", "/v1/chats", map[string]any{"client_id": f.ClientID}},
		"GET /v1/chats":                                    {"GET", "/v1/chats", nil},
		"GET /v1/chats/{chatId}":                           {"GET", chat, nil},
		"PATCH /v1/chats/{chatId}":                         {"PATCH", chat, map[string]any{"status": "closed"}},
		"GET /v1/chats/{chatId}/messages":                  {"GET", chat + "/messages", nil},
		"POST /v1/chats/{chatId}/messages":                 {"POST", chat + "/messages", map[string]any{"sender_type": "operator", "content": "hi"}},
		"GET /v1/call-transfers":                           {"GET", "/v1/call-transfers", nil},
		"GET /v1/call-transfers/{transferId}":              {"GET", tr, nil},
		"POST /v1/call-transfers/{transferId}/accept":      {"POST", tr + "/accept", map[string]any{"sdp": "v=0"}},
		"POST /v1/call-transfers/{transferId}/decline":     {"POST", tr + "/decline", map[string]any{}},
		"POST /v1/call-transfers/{transferId}/hangup":      {"POST", tr + "/hangup", map[string]any{}},
		"POST /v1/call-transfers/{transferId}/mute":        {"POST", tr + "/mute", map[string]any{"muted": true}},
		"POST /v1/call-transfers/{transferId}/hold":        {"POST", tr + "/hold", map[string]any{"held": true}},
		"POST /v1/call-transfers/{transferId}/dtmf":        {"POST", tr + "/dtmf", map[string]any{"digits": "1"}},
		"POST /v1/call-transfers/{transferId}/disposition": {"POST", tr + "/disposition", map[string]any{"note": "n"}},
		"GET /v1/live-calls":                               {"GET", "/v1/live-calls", nil},
		"POST /v1/live-calls/{callId}/listen":              {"POST", "/v1/live-calls/1/listen", map[string]any{"sdp": "v=0"}},
		"GET /v1/inbox":                                    {"GET", "/v1/inbox?view=all", nil},
		"POST /v1/chats/{chatId}/read":                     {"POST", chat + "/read", map[string]any{"seq": 1}},
		"GET /v1/messages/search":                          {"GET", "/v1/messages/search?q=" + f.Secrets[3], nil},
		"GET /v1/chats/{chatId}/notes":                     {"GET", chat + "/notes", nil},
		"POST /v1/chats/{chatId}/notes":                    {"POST", chat + "/notes", map[string]any{"content": "a note"}},
		"POST /v1/chats/{chatId}/transfer":                 {"POST", chat + "/transfer", map[string]any{"operator_id": f.OperatorID, "note": "yours"}},
		"PUT /v1/chats/{chatId}/labels":                    {"PUT", chat + "/labels", map[string]any{"labels": []string{"x"}}},
		"GET /v1/labels":                                   {"GET", "/v1/labels", nil},
		"GET /v1/canned_responses":                         {"GET", "/v1/canned_responses", nil},
		"GET /v1/users":                                    {"GET", "/v1/users", nil},
		"POST /v1/users":                                   {"POST", "/v1/users", map[string]any{"login": "fixture-new-user", "password": "long enough", "role": "api"}},
		"PATCH /v1/users/{userId}":                         {"PATCH", fmt.Sprintf("/v1/users/%d", f.UserID), map[string]any{"role": "admin"}},
		"POST /v1/users/{userId}/password":                 {"POST", fmt.Sprintf("/v1/users/%d/password", f.UserID), map[string]any{"password": "another password"}},
		"POST /v1/canned_responses":                        {"POST", "/v1/canned_responses", map[string]any{"shortcut": "new", "content": "c"}},
		"PATCH /v1/canned_responses/{cannedId}":            {"PATCH", fmt.Sprintf("/v1/canned_responses/%d", f.CannedID), map[string]any{"content": "changed"}},
		"DELETE /v1/canned_responses/{cannedId}":           {"DELETE", fmt.Sprintf("/v1/canned_responses/%d", f.CannedID), nil},
		"GET /v1/chats/{chatId}/canned_responses":          {"GET", chat + "/canned_responses", nil},
	}
}

func requestFor(t *testing.T, f *fixture, rt v1.Route) request {
	t.Helper()
	r, ok := routeRequests(f)[rt.Pattern()]
	if !ok {
		t.Fatalf("route %s has no entry in routeRequests: add one", rt.Pattern())
	}
	return r
}

func mustStatus(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// errorCode returns the code of a v1 error body, or "" if it is not one.
func errorCode(r *testenv.Response) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := jsonUnmarshal(r.Body, &e); err != nil || e.Error.Message == "" {
		return ""
	}
	return e.Error.Code
}

func contains(body []byte, s string) bool { return strings.Contains(string(body), s) }
