package livechat_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api/apitest"
	"github.com/parley-cc/parley/internal/api/livechat"
	"github.com/parley-cc/parley/internal/testenv"
)

// The tests below keep openapi.json honest (see package apitest): it
// documents exactly livechat.Routes(), its response schemas are strict,
// every response the package's tests get validates against it, and one
// flow produces every documented status on SQLite and PostgreSQL.

var family = &apitest.Family{
	Name:           "livechat",
	Doc:            livechat.OpenAPI,
	Routes:         routes(),
	Always:         []string{"500"},
	Authenticated:  []string{"401"},
	WithBody:       []string{"400", "413"},
	OptionalFields: []string{"fieldErrors"},
}

func routes() []apitest.Route {
	var out []apitest.Route
	for _, rt := range livechat.Routes() {
		out = append(out, apitest.Route{Method: rt.Method, Path: livechat.Prefix + rt.Path})
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

func TestOpenAPIStrictSchemas(t *testing.T) { family.CheckStrictSchemas(t, true) }

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
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Acme")
		rec := family.Recorder(t, env.URL())
		rec.CheckServed(t)
		tok, opTok := bearer(tn.Token), bearer(tn.OperatorToken)

		var project struct {
			ProjectUUID string `json:"project_uuid"`
		}
		if r := env.Do(t, "POST", "/apps/api/v1/projects", tn.Token, map[string]any{"name": "Site"}); r.Status != 201 {
			t.Fatalf("create project: %d %s", r.Status, r.Body)
		} else {
			r.JSON(t, &project)
		}
		base := "/v1/projects/" + project.ProjectUUID + "/livechat"
		var opened struct {
			Data struct {
				ConversationUUID string `json:"conversationUuid"`
			} `json:"data"`
		}
		newConversation := func(ident string) string {
			t.Helper()
			decode(t, rec, call{"POST", base + "/conversations", tok, map[string]any{"endUser": map[string]any{"identifier": ident}}, 201}, &opened)
			return base + "/conversations/" + opened.Data.ConversationUUID
		}
		conv := newConversation("first")

		// What every route answers alike: no token, a bad one, and for the
		// routes with a body an over-limit and a malformed one.
		huge := `{"text": "` + strings.Repeat("a", livechat.BodyLimit) + `"}`
		for _, rt := range livechat.Routes() {
			path := apitest.Fill(livechat.Prefix+rt.Path, project.ProjectUUID, opened.Data.ConversationUUID)
			run(t, rec, []call{{rt.Method, path, "", nil, 401}, {rt.Method, path, "Bearer not.a.token", nil, 401}})
			if rt.Method != "GET" {
				run(t, rec, []call{{rt.Method, path, tok, huge, 413}, {rt.Method, path, tok, `{"text": `, 400}, {rt.Method, path, tok, `[1]`, 400}})
			}
		}

		missing := "/v1/projects/" + uuid.NewString() + "/livechat"
		run(t, rec, []call{
			{"POST", base + "/conversations", tok, map[string]any{"companyUuid": tn.CompanyUUID, "unknown": 1,
				"endUser": map[string]any{"identifier": "+79990000001", "name": "Ivan", "email": "i@example.com", "phone": "+79990000001"}}, 201},
			{"POST", base + "/conversations", opTok, map[string]any{"endUser": map[string]any{"identifier": "+79990000001"}}, 201},
			{"POST", base + "/conversations", tok, map[string]any{"companyUuid": uuid.NewString(), "endUser": map[string]any{"identifier": "x"}}, 403},
			{"POST", base + "/conversations", tok, map[string]any{}, 400},
			{"POST", base + "/conversations", tok, map[string]any{"endUser": map[string]any{"name": "no identifier"}}, 400},
			{"POST", missing + "/conversations", tok, map[string]any{"endUser": map[string]any{"identifier": "x"}}, 404},
			{"POST", "/v1/projects/not-a-uuid/livechat/conversations", tok, map[string]any{"endUser": map[string]any{"identifier": "x"}}, 400},

			{"GET", base + "/conversations", tok, nil, 200},
			{"GET", base + "/conversations?limit=1&offset=1", opTok, nil, 200},
			{"GET", base + "/conversations?offset=100", tok, nil, 200},
			{"GET", base + "/conversations?limit=x", tok, nil, 400},
			{"GET", base + "/conversations?limit=1001", tok, nil, 400},
			{"GET", missing + "/conversations", tok, nil, 404},
		})

		item, clientItem := uuid.NewString(), uuid.NewString()
		op := map[string]any{"itemUuid": item, "text": "Hello, how can I help?", "companyUuid": tn.CompanyUUID}
		keyed := map[string]any{"itemUuid": uuid.NewString(), "text": "Keyed", "idempotencyKey": "order-42"}
		run(t, rec, []call{
			{"POST", conv + "/messages/client", tok, map[string]any{"itemUuid": clientItem, "text": "Hi"}, 201},
			{"POST", conv + "/messages/operator", tok, op, 201},
			{"POST", conv + "/messages/operator", tok, op, 200}, // a replay of the item
			{"POST", conv + "/messages/operator", tok, map[string]any{"itemUuid": item, "text": "Another text"}, 409},
			{"POST", conv + "/messages/operator", tok, keyed, 201},
			{"POST", conv + "/messages/operator", tok, keyed, 201}, // a replay of the key: the first answer
			{"POST", conv + "/messages/client", tok, map[string]any{"itemUuid": clientItem, "text": "Hi"}, 200},
			{"POST", conv + "/messages/operator", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "Other", "idempotencyKey": "order-42"}, 409},
			{"POST", conv + "/messages/operator", opTok, map[string]any{"itemUuid": uuid.NewString(), "text": "I take it"}, 201},
			{"POST", conv + "/messages/client", opTok, map[string]any{"itemUuid": uuid.NewString(), "text": "x"}, 403},
			{"POST", conv + "/messages/client", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "x", "companyUuid": uuid.NewString()}, 403},
			{"POST", conv + "/messages/operator", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "x", "companyUuid": uuid.NewString()}, 403},
			{"POST", conv + "/messages/client", tok, map[string]any{"text": "no item"}, 400},
			{"POST", conv + "/messages/client", tok, map[string]any{"itemUuid": "nope", "text": "x"}, 400},
			{"POST", conv + "/messages/operator", tok, map[string]any{"itemUuid": uuid.NewString(), "text": " "}, 400},
			{"POST", conv + "/messages/operator", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "x", "idempotencyKey": ""}, 400},
			{"POST", base + "/conversations/" + uuid.NewString() + "/messages/client", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "x"}, 404},
			{"POST", base + "/conversations/" + uuid.NewString() + "/messages/operator", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "x"}, 404},

			{"GET", conv + "/messages", tok, nil, 200},
			{"GET", conv + "/messages?afterSeq=2&limit=2", opTok, nil, 200},
			{"GET", conv + "/messages?afterSeq=-1", tok, nil, 400},
			{"GET", base + "/conversations/nope/messages", tok, nil, 400},
			{"GET", base + "/conversations/" + uuid.NewString() + "/messages", tok, nil, 404},

			{"POST", conv + "/close", tok, map[string]any{"companyUuid": uuid.NewString()}, 403},
			{"POST", conv + "/close", tok, map[string]any{"companyUuid": tn.CompanyUUID}, 200},
			{"POST", conv + "/close", tok, nil, 409},
			{"POST", conv + "/messages/client", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "after the end"}, 409},
			{"POST", conv + "/messages/operator", tok, map[string]any{"itemUuid": uuid.NewString(), "text": "after the end"}, 409},
			{"POST", newConversation("second") + "/close", opTok, nil, 200},
			{"POST", base + "/conversations/" + uuid.NewString() + "/close", tok, nil, 404},
			{"GET", base + "/conversations", tok, nil, 200},
		})

		// A conversation a colleague took is out of the operator's sight.
		if _, err := env.Users.CreateUser(context.Background(), tn.CompanyID, "colleague", tn.Password, parley.RoleOperator); err != nil {
			t.Fatal(err)
		}
		colleague, _ := env.Login(t, "colleague", tn.Password)
		taken := newConversation("taken")
		run(t, rec, []call{
			{"POST", taken + "/messages/operator", bearer(colleague), map[string]any{"itemUuid": uuid.NewString(), "text": "Mine"}, 201},
			{"GET", taken + "/messages", opTok, nil, 403},
			{"POST", taken + "/messages/operator", opTok, map[string]any{"itemUuid": uuid.NewString(), "text": "intruder"}, 403},
			{"POST", taken + "/close", opTok, nil, 403},
			{"GET", taken + "/messages", tok, nil, 200},
		})
		rec.CheckCoverage(t)
	})
}
