package v1_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api/apitest"
	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/testenv"
)

// The tests below keep openapi.json honest (see package apitest): it
// documents exactly v1.Routes(), its response schemas are strict, every
// response the package's tests get validates against it, and one flow
// produces every documented status on SQLite and PostgreSQL.

var family = &apitest.Family{
	Name:           "v1",
	Doc:            v1.OpenAPI,
	Routes:         routes(),
	Always:         []string{"500"},
	Authenticated:  []string{"401"},
	WithBody:       []string{"400", "413"},
	OptionalFields: []string{"fields", "end_time", "sender_id"},
}

func routes() []apitest.Route {
	var out []apitest.Route
	for _, rt := range v1.Routes() {
		out = append(out, apitest.Route{Method: rt.Method, Path: v1.Prefix + rt.Path})
	}
	return out
}

// TestMain validates every exchange of the package's tests with the family.
func TestMain(m *testing.M) {
	rec, err := family.NewRecorder()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.Transport = rec.Transport(http.DefaultTransport)
	os.Exit(m.Run())
}

func TestOpenAPIRoutes(t *testing.T) { family.CheckRoutes(t) }

// TestOpenAPIStrictSchemas: response objects list every property as
// required and allow no others; request objects are closed too, since the
// family refuses unknown fields.
func TestOpenAPIStrictSchemas(t *testing.T) {
	family.CheckStrictSchemas(t, false)
	family.CheckClosedRequests(t)
}

// call is one request of the flow: path from the server's root.
type call struct {
	method, path, auth string
	body               any
	want               int
}

func run(t *testing.T, rec *apitest.Recorder, calls []call) {
	t.Helper()
	for _, c := range calls {
		rec.Do(t, apitest.Request{Method: c.method, Path: c.path, Auth: c.auth, Body: c.body, Want: c.want})
	}
}

func decode(t *testing.T, rec *apitest.Recorder, c call, v any) {
	t.Helper()
	rec.JSON(t, apitest.Request{Method: c.method, Path: c.path, Auth: c.auth, Body: c.body, Want: c.want}, v)
}

func bearer(token string) string { return "Bearer " + token }

func TestOpenAPIResponses(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := startRTC(t, dsn)
		tn := env.NewTenant(t, "Acme")
		rec := family.Recorder(t, env.URL())
		rec.CheckServed(t)
		tok, opTok := bearer(tn.Token), bearer(tn.OperatorToken)

		// What every route answers alike: no token, a bad one, and for
		// the routes with a body an over-limit and a malformed one.
		huge := `{"name": "` + strings.Repeat("a", v1.BodyLimit) + `"}`
		for _, rt := range v1.Routes() {
			path := v1.Prefix + apitest.Fill(rt.Path, "1")
			run(t, rec, []call{{rt.Method, path, "", nil, 401}, {rt.Method, path, "Bearer not.a.token", nil, 401}})
			if rt.Method != "GET" {
				run(t, rec, []call{{rt.Method, path, tok, huge, 413}, {rt.Method, path, tok, `{"name": `, 400}, {rt.Method, path, tok, `[1]`, 400}})
			}
		}

		var client struct {
			ClientID int64 `json:"client_id"`
		}
		run(t, rec, []call{{"POST", "/v1/clients", tok, map[string]any{"name": "Ivan", "unknown": 1}, 400}}) // unknown fields are refused
		decode(t, rec, call{"POST", "/v1/clients", tok, map[string]any{"name": " Ivan ", "contact_info": "+7 999", "identifier": "tg:1",
			"email": "i@example.com", "phone": "+7999"}, 201}, &client)
		cl := fmt.Sprintf("/v1/clients/%d", client.ClientID)
		run(t, rec, []call{
			{"POST", "/v1/clients", tok, map[string]any{"name": "Other"}, 201},
			{"POST", "/v1/clients", opTok, map[string]any{"name": "From an operator"}, 201},
			{"POST", "/v1/clients", tok, map[string]any{"name": "Dup", "identifier": "tg:1"}, 409},
			{"POST", "/v1/clients", tok, map[string]any{"contact_info": "no name"}, 400},
			{"POST", "/v1/clients", tok, map[string]any{"name": "x", "contact_info": strings.Repeat("c", 1001)}, 400},
			{"GET", cl, tok, nil, 200},
			{"GET", cl, opTok, nil, 200},
			{"GET", "/v1/clients/999999", tok, nil, 404},
			{"GET", "/v1/clients/abc", tok, nil, 400},
		})

		var op, me struct {
			OperatorID int64 `json:"operator_id"`
		}
		decode(t, rec, call{"POST", "/v1/operators", tok, map[string]any{"name": "Olga", "status": "online"}, 201}, &op)
		decode(t, rec, call{"GET", "/v1/operators/me", opTok, nil, 200}, &me)
		operator := fmt.Sprintf("/v1/operators/%d", op.OperatorID)
		run(t, rec, []call{
			{"POST", "/v1/operators", tok, map[string]any{"name": "Pavel"}, 201},
			{"POST", "/v1/operators", tok, map[string]any{"name": "X", "status": "sleeping"}, 400},
			{"POST", "/v1/operators", tok, map[string]any{"status": "online"}, 400},
			{"GET", "/v1/operators", tok, nil, 200},
			{"GET", "/v1/operators", opTok, nil, 200},
			{"GET", "/v1/operators/me", tok, nil, 403},
			{"PATCH", operator, tok, map[string]any{"name": "Olga K", "status": "busy", "capacity": "3"}, 200},
			{"PATCH", operator, tok, map[string]any{"capacity": 5}, 200},
			{"PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), opTok, map[string]any{"status": "offline"}, 200},
			{"PATCH", operator, opTok, map[string]any{"status": "offline"}, 403},
			{"PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), opTok, map[string]any{"capacity": 9}, 403}, // their own, but not their capacity
			{"POST", "/v1/operators", opTok, map[string]any{"name": "Mine"}, 403},
			{"PATCH", operator, tok, map[string]any{}, 400},
			{"PATCH", operator, tok, map[string]any{"capacity": 101}, 400},
			{"PATCH", operator, tok, map[string]any{"capacity": "many"}, 400},
			{"PATCH", "/v1/operators/999999", tok, map[string]any{"status": "online"}, 404},
			{"PATCH", "/v1/operators/0", tok, map[string]any{"status": "online"}, 400},
		})
		usersContract(t, rec, tok, opTok)

		var chat struct {
			ChatID int64 `json:"chat_id"`
		}
		decode(t, rec, call{"POST", "/v1/chats", tok, map[string]any{"client_id": client.ClientID}, 201}, &chat)
		ch := fmt.Sprintf("/v1/chats/%d", chat.ChatID)
		var second struct {
			ChatID int64 `json:"chat_id"`
		}
		decode(t, rec, call{"POST", "/v1/chats", tok, map[string]any{"client_id": client.ClientID}, 201}, &second)
		run(t, rec, []call{
			{"POST", "/v1/chats", tok, map[string]any{"client_id": 999999}, 404},
			{"POST", "/v1/chats", tok, map[string]any{}, 400},
			{"POST", "/v1/chats", tok, map[string]any{"client_id": "1"}, 400},

			{"GET", "/v1/chats", tok, nil, 200},
			{"GET", "/v1/chats?limit=1", tok, nil, 200},
			{"GET", fmt.Sprintf("/v1/chats?limit=1&after_id=%d&status=open", chat.ChatID), tok, nil, 200},
			{"GET", "/v1/chats?status=open", opTok, nil, 200},
			{"GET", "/v1/chats?status=lost", tok, nil, 400},
			{"GET", "/v1/chats?limit=1001", tok, nil, 400},
			{"GET", "/v1/chats?after_id=x", tok, nil, 400},
			{"GET", ch, tok, nil, 200},
			{"GET", "/v1/chats/999999", tok, nil, 404},
			{"GET", "/v1/chats/-1", tok, nil, 400},

			{"POST", ch + "/messages", tok, map[string]any{"sender_type": "client", "content": "Hello"}, 201},
			{"POST", ch + "/messages", tok, map[string]any{"sender_type": "end_user", "content": "Anyone?"}, 201},
			{"POST", ch + "/messages", opTok, map[string]any{"content": "Hi, I am here"}, 201}, // takes the chat
			{"POST", ch + "/messages", opTok, map[string]any{"sender_type": "client", "content": "x"}, 403},
			{"POST", ch + "/messages", tok, map[string]any{"content": "no sender"}, 400},
			{"POST", ch + "/messages", tok, map[string]any{"sender_type": "client", "content": "  "}, 400},
			{"POST", "/v1/chats/999999/messages", tok, map[string]any{"sender_type": "client", "content": "x"}, 404},

			{"GET", ch + "/messages", tok, nil, 200},
			{"GET", ch + "/messages?after_seq=1&limit=1", opTok, nil, 200},
			{"GET", ch + "/messages?limit=x", tok, nil, 400},
			{"GET", "/v1/chats/999999/messages", tok, nil, 404},

			{"GET", ch, tok, nil, 200}, // assigned, with an operator
			{"PATCH", ch, tok, map[string]any{"status": "open"}, 200},
			{"PATCH", ch, tok, map[string]any{"status": "closed", "end_time": time.Now().UTC().Format(time.RFC3339Nano)}, 200},
			{"GET", ch, tok, nil, 200}, // ended, with end_time
			{"PATCH", ch, tok, map[string]any{"status": "closed"}, 409},
			{"POST", ch + "/messages", tok, map[string]any{"sender_type": "client", "content": "too late"}, 409},
			{"PATCH", fmt.Sprintf("/v1/chats/%d", second.ChatID), tok, map[string]any{"status": "lost"}, 400},
			{"PATCH", fmt.Sprintf("/v1/chats/%d", second.ChatID), tok, map[string]any{"status": "closed", "end_time": "yesterday"}, 400},
			{"PATCH", fmt.Sprintf("/v1/chats/%d", second.ChatID), tok, map[string]any{"status": "assigned"}, 400},
			{"PATCH", fmt.Sprintf("/v1/chats/%d", second.ChatID), tok, map[string]any{"status": "dismissed"}, 200},
			{"PATCH", "/v1/chats/999999", tok, map[string]any{"status": "closed"}, 404},
			{"GET", "/v1/chats?status=closed", tok, nil, 200},
		})

		// A chat a colleague took is out of the operator's sight: 403.
		if _, err := env.Users.CreateUser(context.Background(), tn.CompanyID, "colleague", tn.Password, parley.RoleOperator); err != nil {
			t.Fatal(err)
		}
		colleague, _ := env.Login(t, "colleague", tn.Password)
		var taken struct {
			ChatID int64 `json:"chat_id"`
		}
		decode(t, rec, call{"POST", "/v1/chats", tok, map[string]any{"client_id": client.ClientID}, 201}, &taken)
		tc := fmt.Sprintf("/v1/chats/%d", taken.ChatID)
		run(t, rec, []call{
			{"POST", tc + "/messages", bearer(colleague), map[string]any{"content": "Mine"}, 201},
			{"GET", tc, opTok, nil, 403},
			{"PATCH", tc, opTok, map[string]any{"status": "closed"}, 403},
			{"GET", tc + "/messages", opTok, nil, 403},
			{"POST", tc + "/messages", opTok, map[string]any{"content": "intruder"}, 403},
			{"GET", tc, tok, nil, 200},
		})
		// The inbox's flow first: it needs the tenant's operator offline,
		// which the call transfers' flow puts online.
		inboxContract(t, rec, tok, opTok, bearer(colleague), taken.ChatID, op.OperatorID, me.OperatorID)
		transferContract(t, rec, env, tn)
		rec.CheckCoverage(t)
	})
}
