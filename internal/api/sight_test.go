package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api/apps"
	"github.com/parley-cc/parley/internal/api/livechat"
	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/testenv"
)

// route is one route of a family, by its pattern and its path below the
// family's prefix.
type route struct{ pattern, path string }

// chatRoutes lists every route of the operator API, the chat platform and
// the live-chat gateway.
func chatFamilyRoutes() []route {
	var out []route
	for _, rt := range v1.Routes() {
		out = append(out, route{rt.Pattern(), rt.Path})
	}
	for _, rt := range apps.Routes() {
		out = append(out, route{rt.Pattern(), rt.Path})
	}
	for _, rt := range livechat.Routes() {
		out = append(out, route{rt.Pattern(), rt.Path})
	}
	return out
}

// sightChat is a chat the test addresses in every family's terms.
type sightChat struct {
	ID, Escalation int64
	UUID           string
}

type sightRequest struct {
	Method, Path string
	Body         any
}

// sightRoutes classifies every route: a request on chat c for the routes
// that address one chat, a list request for those that list chats, and ""
// for the routes that concern no chat (a reason, so that a new route must
// be placed). Transfers name transferTo: operator A (a transfer of A's
// own chat to A is 400, of a queued one 200).
func sightRoutes(project string, company, transferTo int64, c sightChat) (address, list map[string]sightRequest, other map[string]string) {
	v := fmt.Sprintf("/v1/chats/%d", c.ID)
	a := fmt.Sprintf("/apps/api/v1/chats/%d", c.ID)
	lc := "/v1/projects/" + project + "/livechat"
	conv := lc + "/conversations/" + c.UUID
	item := func() string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", time.Now().UnixNano()%1e12) }
	address = map[string]sightRequest{
		"GET /v1/chats/{chatId}":                                                {"GET", v, nil},
		"PATCH /v1/chats/{chatId}":                                              {"PATCH", v, map[string]any{"status": "closed"}},
		"GET /v1/chats/{chatId}/messages":                                       {"GET", v + "/messages", nil},
		"POST /v1/chats/{chatId}/messages":                                      {"POST", v + "/messages", map[string]any{"sender_type": "operator", "content": "intruder"}},
		"GET /apps/api/v1/chats/{id}":                                           {"GET", a, nil},
		"PATCH /apps/api/v1/chats/{id}":                                         {"PATCH", a, map[string]any{"chat": map[string]any{"status": "finished", "deflection_channel": "email"}}},
		"POST /apps/api/v1/chats/{id}/message":                                  {"POST", a + "/message", map[string]any{"message": map[string]any{"type": "text", "content": "intruder"}}},
		"POST /apps/api/v1/chats/{id}/typing":                                   {"POST", a + "/typing", nil},
		"POST /apps/api/v1/chats/{id}/escalations":                              {"POST", a + "/escalations", map[string]any{"reason": "r", "force_escalate": true}},
		"PATCH /apps/api/v1/chats/{id}/escalations/{escalationId}":              {"PATCH", fmt.Sprintf("%s/escalations/%d", a, c.Escalation), map[string]any{"deflection_channel": "sms"}},
		"POST /apps/api/v1/chats/{id}/photos":                                   {"POST", a + "/photos", map[string]any{"photo": []any{map[string]any{"s3_path": fmt.Sprintf("chats/%d/%d/photo/x", company, c.ID)}}}},
		"GET /apps/api/v1/chats/{id}/photos":                                    {"GET", a + "/photos", nil},
		"POST /apps/api/v1/chats/{id}/photos/upload":                            {"POST", a + "/photos/upload", nil},
		"POST /apps/api/v1/chats/{id}/videos":                                   {"POST", a + "/videos", map[string]any{"video": map[string]any{"s3_path": fmt.Sprintf("chats/%d/%d/video/x", company, c.ID)}}},
		"GET /apps/api/v1/chats/{id}/videos":                                    {"GET", a + "/videos", nil},
		"POST /apps/api/v1/chats/{id}/videos/upload":                            {"POST", a + "/videos/upload", nil},
		"GET /apps/api/v1/chats/{id}/customer_flag":                             {"GET", a + "/customer_flag", nil},
		"POST /apps/api/v1/chats/{id}/customer_flag":                            {"POST", a + "/customer_flag", map[string]any{"bad_actor": true}},
		"POST /apps/api/v1/chats/{id}/custom_data":                              {"POST", a + "/custom_data", map[string]any{"signed": false, "data": map[string]any{"f": map[string]any{"value": "v"}}}},
		"POST /apps/api/v1/chats/{id}/end-user":                                 {"POST", a + "/end-user", map[string]any{"identifier": "intruder", "name": "n"}},
		"POST /v1/chats/{chatId}/read":                                          {"POST", v + "/read", map[string]any{"seq": 1}},
		"GET /v1/chats/{chatId}/notes":                                          {"GET", v + "/notes", nil},
		"POST /v1/chats/{chatId}/notes":                                         {"POST", v + "/notes", map[string]any{"content": "intruder"}},
		"POST /v1/chats/{chatId}/transfer":                                      {"POST", v + "/transfer", map[string]any{"operator_id": transferTo, "note": "intruder"}},
		"PUT /v1/chats/{chatId}/labels":                                         {"PUT", v + "/labels", map[string]any{"labels": []string{"intruder"}}},
		"GET /v1/chats/{chatId}/canned_responses":                               {"GET", v + "/canned_responses", nil},
		"GET " + livechat.Prefix + "/conversations/{conversationUuid}/messages": {"GET", conv + "/messages", nil},
		"POST " + livechat.Prefix + "/conversations/{conversationUuid}/messages/operator": {"POST", conv + "/messages/operator",
			map[string]any{"itemUuid": item(), "text": "intruder"}},
		"POST " + livechat.Prefix + "/conversations/{conversationUuid}/messages/client": {"POST", conv + "/messages/client",
			map[string]any{"itemUuid": item(), "text": "intruder"}},
		"POST " + livechat.Prefix + "/conversations/{conversationUuid}/close": {"POST", conv + "/close", nil},
	}
	list = map[string]sightRequest{
		"GET /v1/chats":                             {"GET", "/v1/chats?status=open", nil},
		"GET /v1/inbox":                             {"GET", "/v1/inbox?view=all", nil},
		"GET /apps/api/v1/chats":                    {"GET", "/apps/api/v1/chats?status=queued", nil},
		"GET " + livechat.Prefix + "/conversations": {"GET", lc + "/conversations", nil},
	}
	other = map[string]string{
		"POST /v1/clients":                                 "clients are not chats",
		"GET /v1/clients/{clientId}":                       "clients are not chats",
		"POST /v1/operators":                               "operators: TestOperatorsManageThemselvesOnly",
		"GET /v1/operators":                                "operators",
		"GET /v1/operators/me":                             "operators",
		"PATCH /v1/operators/{operatorId}":                 "operators: TestOperatorsManageThemselvesOnly",
		"POST /v1/chats":                                   "opens a new chat",
		"POST /apps/api/v1/chats":                          "opens a new chat",
		"POST " + livechat.Prefix + "/conversations":       "opens a new chat",
		"GET /apps/api/v1/stats/live":                      "company totals, no chat",
		"GET /apps/api/v1/stats/chats":                     "company report, no chat: staff only (apps TestChatReport)",
		"GET /v1/messages/search":                          "messages in sight: v1 TestSearchMessages",
		"GET /v1/labels":                                   "the company's label names, no chat",
		"GET /v1/canned_responses":                         "canned responses, no chat",
		"POST /v1/canned_responses":                        "canned responses, no chat",
		"PATCH /v1/canned_responses/{cannedId}":            "canned responses: v1 TestCannedResponses",
		"DELETE /v1/canned_responses/{cannedId}":           "canned responses: v1 TestCannedResponses",
		"GET /v1/call-transfers":                           "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"GET /v1/call-transfers/{transferId}":              "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"POST /v1/call-transfers/{transferId}/accept":      "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"POST /v1/call-transfers/{transferId}/decline":     "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"POST /v1/call-transfers/{transferId}/hangup":      "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"POST /v1/call-transfers/{transferId}/mute":        "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"POST /v1/call-transfers/{transferId}/hold":        "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"POST /v1/call-transfers/{transferId}/dtmf":        "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"POST /v1/call-transfers/{transferId}/disposition": "call transfers, no chat: the transfer's operator only (handover TestRingTimeoutMovesOn, TestTransferTimeoutNobodyOnline)",
		"GET /v1/users":                                    "users, no chat: admin and api users only (v1 TestManageUsers)",
		"POST /v1/users":                                   "users, no chat: admin and api users only (v1 TestManageUsers)",
		"PATCH /v1/users/{userId}":                         "users, no chat: admin and api users only (v1 TestManageUsers)",
		"POST /v1/users/{userId}/password":                 "users, no chat: admin and api users only (v1 TestManageUsers)",
		"GET /v1/live-calls":                               "live calls, no chat: admin and api users only (handover TestTransferHappyPath, v1 transfer contract 403)",
		"POST /v1/live-calls/{callId}/listen":              "live calls, no chat: admin and api users only (handover TestTransferHappyPath, v1 transfer contract 403)",
	}
	return address, list, other
}

// operatorsNever are the chat routes no operator may use on any chat.
var operatorsNever = map[string]string{
	"POST " + livechat.Prefix + "/conversations/{conversationUuid}/messages/client": "an operator posts as an operator only",
}

// TestOperatorSight drives two operators of one company through every
// route of every family that addresses or lists chats, and the stream: an
// operator sees and acts on the chats assigned to them and the queue of
// their menus, nothing of a colleague's, whatever the family.
func TestOperatorSight(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Sight")
		ctx := context.Background()
		if _, err := env.Users.CreateUser(ctx, tn.CompanyID, "sight-op2", tn.Password, parley.RoleOperator); err != nil {
			t.Fatal(err)
		}
		tokenA := tn.OperatorToken
		tokenB, _ := env.Login(t, "sight-op2", tn.Password)
		opA := operatorID(t, env, tokenA)
		need(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", opA), tn.Token, map[string]any{"capacity": 100}), 200)

		// menuA's queue is A's alone; a chat without a menu is everyone's.
		var menu struct {
			ID int64 `json:"id"`
		}
		need(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "A only", "operator_ids": []int64{opA}}), 201).JSON(t, &menu)
		var project struct {
			UUID string `json:"project_uuid"`
		}
		need(t, env.Do(t, "POST", "/apps/api/v1/projects", tn.Token, map[string]any{"name": "site"}), 201).JSON(t, &project)
		n := 0
		open := func(menuID int64) sightChat {
			n++
			body := map[string]any{"chat": map[string]any{"project_uuid": project.UUID}, "end_user": map[string]any{"phone": fmt.Sprintf("+1555%04d", n)}}
			if menuID != 0 {
				body["chat"].(map[string]any)["menu_id"] = menuID
			}
			var c struct {
				ID   int64  `json:"id"`
				UUID string `json:"uuid"`
			}
			need(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, body), 201).JSON(t, &c)
			var esc struct {
				ID int64 `json:"id"`
			}
			need(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/escalations", c.ID), tn.Token,
				map[string]any{"reason": "test", "force_escalate": true}), 200).JSON(t, &esc)
			need(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", c.ID), tn.Token,
				map[string]any{"sender_type": "client", "content": "secret of the end user"}), 201)
			return sightChat{ID: c.ID, UUID: c.UUID, Escalation: esc.ID}
		}
		take := func(token string, c sightChat) {
			need(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", c.ID), token, map[string]any{"content": "mine now"}), 201)
		}
		chatA := open(0) // A's chat
		take(tokenA, chatA)
		queueA := open(menu.ID) // in the queue of A's menu only

		snapshot := func(c sightChat) string {
			var sb strings.Builder
			for _, p := range []string{"/apps/api/v1/chats/%d", "/v1/chats/%d/messages", "/apps/api/v1/chats/%d/customer_flag",
				"/apps/api/v1/chats/%d/photos", "/apps/api/v1/chats/%d/videos"} {
				sb.Write(need(t, env.Do(t, "GET", fmt.Sprintf(p, c.ID), tn.Token, nil), 200).Body)
			}
			return sb.String()
		}
		beforeA, beforeQ := snapshot(chatA), snapshot(queueA)

		// B on A's chat and on A's queue: refused everywhere, nothing shown.
		address, list, other := sightRoutes(project.UUID, tn.CompanyID, opA, chatA)
		seen := map[string]bool{}
		for _, rt := range chatFamilyRoutes() {
			_, isAddress := address[rt.pattern]
			_, isList := list[rt.pattern]
			if !isAddress && !isList && other[rt.pattern] == "" && !strings.HasPrefix(rt.path, "/webhooks") &&
				!strings.HasPrefix(rt.path, "/menus") && rt.path != "/projects" {
				t.Errorf("route %s is not classified in sightRoutes: add it", rt.pattern)
			}
			seen[rt.pattern] = true
		}
		for p := range address {
			if !seen[p] {
				t.Errorf("sightRoutes names %s, which no family serves", p)
			}
		}
		for _, c := range []sightChat{chatA, queueA} {
			reqs, _, _ := sightRoutes(project.UUID, tn.CompanyID, opA, c)
			for pattern, req := range reqs {
				res := env.Do(t, req.Method, req.Path, tokenB, req.Body)
				if res.Status != 403 || (operatorsNever[pattern] == "" && !strings.Contains(string(res.Body), "neither assigned to you")) {
					t.Errorf("operator B, %s on chat %d: status %d, want 403 for the chat's sight: %s", pattern, c.ID, res.Status, res.Body)
				}
				if strings.Contains(string(res.Body), "secret of the end user") {
					t.Errorf("operator B, %s leaked a message: %s", pattern, res.Body)
				}
			}
		}
		for pattern, req := range list {
			for _, token := range []string{tokenB, tokenA} {
				res := need(t, env.Do(t, req.Method, req.Path, token, nil), 200)
				ids := listedChats(t, res.Body)
				switch {
				case token == tokenB && (slices.Contains(ids, chatA.ID) || slices.Contains(ids, queueA.ID)):
					t.Errorf("operator B, %s lists A's chats: %s", pattern, res.Body)
				case token == tokenA && !slices.Contains(ids, queueA.ID):
					t.Errorf("operator A, %s does not list the queue of A's menu: %s", pattern, res.Body)
				}
			}
		}
		if after := snapshot(chatA); after != beforeA {
			t.Errorf("A's chat changed under B's requests:\nbefore %s\nafter  %s", beforeA, after)
		}
		if after := snapshot(queueA); after != beforeQ {
			t.Errorf("the queue of A's menu changed under B's requests:\nbefore %s\nafter  %s", beforeQ, after)
		}

		// The same requests by A on chats of A's sight go through (the
		// matrix above refused valid requests, not malformed ones): each on
		// a chat of its own, assigned to A or in A's queue.
		for pattern := range address {
			if operatorsNever[pattern] != "" {
				continue
			}
			for _, assigned := range []bool{true, false} {
				c := open(menu.ID)
				if assigned {
					take(tokenA, c)
				}
				reqs, _, _ := sightRoutes(project.UUID, tn.CompanyID, opA, c)
				req := reqs[pattern]
				res := env.Do(t, req.Method, req.Path, tokenA, req.Body)
				if res.Status == 403 || res.Status == 404 || res.Status >= 500 {
					t.Errorf("operator A, %s on their chat %d (assigned %v): status %d: %s", pattern, c.ID, assigned, res.Status, res.Body)
				}
			}
		}

		// The stream: B may not subscribe to A's chat or A's queue, and B's
		// "all" carries nothing of theirs; A's does.
		wsB := dialStream(t, env, tokenB)
		for _, c := range []sightChat{chatA, queueA} {
			wsB.send(t, map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": c.ID}}})
			if f := wsB.next(t); f.Type != "error" || f.Code != parley.EFORBIDDEN {
				t.Fatalf("B subscribing to chat %d: %+v", c.ID, f)
			}
		}
		wsA := dialStream(t, env, tokenA)
		for _, ws := range []*stream{wsA, wsB} {
			ws.send(t, map[string]any{"type": "subscribe", "all": true})
			if f := ws.next(t); f.Type != "subscribed" || !f.All {
				t.Fatalf("subscribe all: %+v", f)
			}
		}
		need(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", chatA.ID), tokenA, map[string]any{"content": "to my chat"}), 201)
		need(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", queueA.ID), tn.Token, map[string]any{"sender_type": "client", "content": "waiting in A's queue"}), 201)
		everyone := open(0) // in everyone's queue: B's first event must be this one's
		for _, want := range []int64{chatA.ID, queueA.ID} {
			if f := wsA.nextEvent(t); f.ChatID != want {
				t.Fatalf("A's stream: event of chat %d first, want %d: %+v", f.ChatID, want, f)
			}
		}
		if f := wsB.nextEvent(t); f.ChatID != everyone.ID {
			t.Fatalf("B's stream carried chat %d before the chat in everyone's queue (%d): %+v", f.ChatID, everyone.ID, f)
		}
	})
}

func operatorID(t *testing.T, env *testenv.Env, token string) int64 {
	t.Helper()
	var o struct {
		OperatorID int64 `json:"operator_id"`
	}
	need(t, env.Do(t, "GET", "/v1/operators/me", token, nil), 200).JSON(t, &o)
	return o.OperatorID
}

func need(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// listedChats reads the chat ids of any family's list answer.
func listedChats(t *testing.T, body []byte) []int64 {
	t.Helper()
	var out struct {
		Chats []struct {
			ChatID int64 `json:"chat_id"`
			ID     int64 `json:"id"`
		} `json:"chats"`
		Data struct {
			Items []struct {
				ChatID int64 `json:"chatId"`
			} `json:"items"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("list answer: %v: %s", err, body)
	}
	var ids []int64
	for _, c := range out.Chats {
		ids = append(ids, max(c.ChatID, c.ID))
	}
	for _, c := range out.Data.Items {
		ids = append(ids, c.ChatID)
	}
	return ids
}
