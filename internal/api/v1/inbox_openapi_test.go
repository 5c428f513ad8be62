package v1_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/api/apitest"
)

// inboxContract produces every documented status of the inbox routes
// (issue 14) in TestOpenAPIResponses' flow: taken is a chat the colleague
// holds (out of the operator's sight), olga a busy operator with room.
func inboxContract(t *testing.T, rec *apitest.Recorder, tok, opTok, colleague string, taken, olga, offline int64) {
	t.Helper()
	tc := fmt.Sprintf("/v1/chats/%d", taken)
	var canned struct {
		CannedID int64 `json:"canned_id"`
	}
	decode(t, rec, call{"POST", "/v1/canned_responses", tok, map[string]any{"shortcut": "greet", "content": "Hello {{customer.name}}"}, 201}, &canned)
	var own struct {
		CannedID int64 `json:"canned_id"`
	}
	decode(t, rec, call{"POST", "/v1/canned_responses", colleague, map[string]any{"shortcut": "bye", "content": "Bye", "scope": "personal"}, 201}, &own)
	cn := fmt.Sprintf("/v1/canned_responses/%d", canned.CannedID)
	run(t, rec, []call{
		{"GET", "/v1/inbox", tok, nil, 200},
		{"GET", "/v1/inbox?view=mine", colleague, nil, 200},
		{"GET", "/v1/inbox?view=closed&limit=1&sort=oldest", tok, nil, 200},
		{"GET", "/v1/inbox?view=queue&label=vip&menu_id=1&client_id=1", opTok, nil, 200},
		{"GET", "/v1/inbox?view=nope", tok, nil, 400},

		{"POST", tc + "/read", colleague, map[string]any{"seq": 1}, 200},
		{"POST", tc + "/read", tok, map[string]any{"seq": 1}, 403},
		{"POST", tc + "/read", opTok, map[string]any{"seq": 1}, 403},
		{"POST", tc + "/read", colleague, map[string]any{}, 400},
		{"POST", "/v1/chats/999999/read", colleague, map[string]any{"seq": 1}, 404},

		{"GET", "/v1/messages/search?q=mine", tok, nil, 200},
		{"GET", "/v1/messages/search?q=hello&limit=1&before_id=999999", opTok, nil, 200},
		{"GET", "/v1/messages/search?q=", tok, nil, 400},

		{"POST", tc + "/notes", colleague, map[string]any{"content": "Careful"}, 201},
		{"POST", tc + "/notes", opTok, map[string]any{"content": "Mine"}, 403},
		{"POST", tc + "/notes", tok, map[string]any{"content": ""}, 400},
		{"POST", "/v1/chats/999999/notes", tok, map[string]any{"content": "x"}, 404},
		{"GET", tc + "/notes", tok, nil, 200},
		{"GET", tc + "/notes", opTok, nil, 403},
		{"GET", "/v1/chats/x/notes", tok, nil, 400},
		{"GET", "/v1/chats/999999/notes", tok, nil, 404},

		{"PUT", tc + "/labels", colleague, map[string]any{"labels": []string{"vip"}}, 200},
		{"PUT", tc + "/labels", opTok, map[string]any{"labels": []string{"vip"}}, 403},
		{"PUT", tc + "/labels", tok, map[string]any{}, 400},
		{"PUT", "/v1/chats/999999/labels", tok, map[string]any{"labels": []string{}}, 404},
		{"GET", "/v1/labels", opTok, nil, 200},

		{"GET", "/v1/canned_responses", colleague, nil, 200},
		{"POST", "/v1/canned_responses", opTok, map[string]any{"shortcut": "x", "content": "y", "scope": "company"}, 403},
		{"POST", "/v1/canned_responses", tok, map[string]any{"shortcut": "greet", "content": "again"}, 409},
		{"POST", "/v1/canned_responses", tok, map[string]any{"shortcut": "no way", "content": "y"}, 400},
		{"GET", tc + "/canned_responses", colleague, nil, 200},
		{"GET", tc + "/canned_responses", opTok, nil, 403},
		{"GET", "/v1/chats/0/canned_responses", tok, nil, 400},
		{"GET", "/v1/chats/999999/canned_responses", tok, nil, 404},
		{"PATCH", cn, tok, map[string]any{"content": "Hi {{customer.name}}"}, 200},
		{"POST", "/v1/canned_responses", tok, map[string]any{"shortcut": "other", "content": "y"}, 201},
		{"PATCH", cn, tok, map[string]any{"shortcut": "other"}, 409},
		{"PATCH", cn, tok, map[string]any{}, 400},
		{"PATCH", cn, opTok, map[string]any{"content": "z"}, 404},
		{"DELETE", fmt.Sprintf("/v1/canned_responses/%d", own.CannedID), colleague, nil, 204},
		{"DELETE", fmt.Sprintf("/v1/canned_responses/%d", own.CannedID), colleague, nil, 404},

		{"POST", tc + "/transfer", opTok, map[string]any{"operator_id": olga}, 403},
		{"POST", tc + "/transfer", tok, map[string]any{"operator_id": offline, "note": "x"}, 409},
		{"POST", tc + "/transfer", tok, map[string]any{}, 400},
		{"POST", tc + "/transfer", tok, map[string]any{"menu_id": 999999}, 404},
		{"POST", tc + "/transfer", colleague, map[string]any{"operator_id": olga, "note": "Over to you"}, 200},
	})
}
