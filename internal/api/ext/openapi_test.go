package ext_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/api/apitest"
	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// The tests below keep openapi.json honest (see package apitest): it
// documents exactly the routes of ext.Routes(), its response schemas are
// strict, every response the package's tests get validates against it,
// and one flow produces every documented status on SQLite and PostgreSQL.

var family = &apitest.Family{
	Name:           "ext",
	Doc:            ext.OpenAPI,
	Routes:         routes(),
	Always:         []string{"401", "500"},
	Authenticated:  []string{"403"},
	WithBody:       []string{"409", "413"},
	OptionalFields: []string{"fields", "request_id"}, // an error's fields, and request_id of a recovered panic
}

func routes() []apitest.Route {
	var out []apitest.Route
	for _, rt := range ext.Routes() {
		out = append(out, apitest.Route{Method: rt.Method, Path: ext.Prefix + rt.Path, Public: rt.Public})
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
// required and allow no others; request objects are closed too (the
// family refuses unknown fields), but the dialog uploads, whose keys are
// the agent's initial entities.
func TestOpenAPIStrictSchemas(t *testing.T) {
	family.CheckStrictSchemas(t, false)
	family.CheckClosedRequests(t, ext.Prefix+"/dialog/dialog-initial", ext.Prefix+"/dialog/dialogs-group-initial")
}

// oaCall is one request of the response-validation test.
type oaCall struct {
	method string
	path   string // below ext.Prefix, query included
	auth   string // the Authorization header, if any
	body   any    // nil, a string sent as is, or a value sent as JSON
	want   int
}

// oaChecker sends requests below ext.Prefix to a running server; its
// recorder validates every response against the document and records
// which statuses each operation gave.
type oaChecker struct {
	rec *apitest.Recorder
	env *testenv.Env
}

func (c *oaChecker) do(t *testing.T, call oaCall) []byte {
	t.Helper()
	return c.rec.Do(t, apitest.Request{Method: call.method, Path: ext.Prefix + call.path, Auth: call.auth, Body: call.body, Want: call.want})
}

// json is do that decodes the response body into v.
func (c *oaChecker) json(t *testing.T, call oaCall, v any) {
	t.Helper()
	body := c.do(t, call)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: response is not the JSON expected: %v\n%s", call.method, call.path, err, body)
	}
}

// run does every call of a table.
func (c *oaChecker) run(t *testing.T, calls []oaCall) {
	t.Helper()
	for _, call := range calls {
		c.do(t, call)
	}
}

func oaBearer(token string) string { return "Bearer " + token }

func oaBasic(login, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(login+":"+password))
}

// oaPath fills the path parameters of a route.
func oaPath(rt ext.Route, id string) string {
	return strings.NewReplacer("{credential_uuid}", id, "{call_uuid}", id, "{name}", id).Replace(rt.Path)
}

func TestOpenAPIResponses(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		c := &oaChecker{rec: family.Recorder(t, env.URL()), env: env}
		c.rec.CheckServed(t)

		oaEveryRoute(t, c, ten)
		oaAuth(t, c, ten)
		oaAgents(t, c, ten)
		oaCredentials(t, c, ten)
		oaTimeSlots(t, c, ten)
		oaEntities(t, c, ten, "initial")
		oaEntities(t, c, ten, "output")
		oaDialogs(t, c, env.NewTenant(t, "Calls"))
		oaTrunks(t, c, ten)
		c.rec.CheckCoverage(t)
	})
}

// oaIgnoresBody are the routes other than GET that read no body (the
// seed's "BODY: none"): a body sent to them changes nothing.
var oaIgnoresBody = map[string]bool{
	"POST /auth":                    true,
	"DELETE /agent-settings/script": true,
	"POST /queue/stop":              true,
	"POST /queue/return":            true,
	"POST /queue/remove":            true,
	"DELETE /trunks/{name}":         true,
}

// oaEveryRoute sends what every route answers alike: no token, a bad
// token, an operator's token, an over-limit body and malformed JSON.
func oaEveryRoute(t *testing.T, c *oaChecker, ten *testenv.Tenant) {
	tok := oaBearer(ten.Token)
	huge := map[int64]string{} // a body one byte over each limit
	for _, rt := range ext.Routes() {
		path := oaPath(rt, uuid.NewString()) + "?agent_uuid=" + ten.AgentUUID
		if !rt.Public {
			c.run(t, []oaCall{
				{rt.Method, path, "", nil, 401},
				{rt.Method, path, "Bearer not.a.token", nil, 401},
				{rt.Method, path, oaBearer(ten.OperatorToken), nil, 403},
			})
		}
		if rt.Method == "GET" || oaIgnoresBody[rt.Method+" "+rt.Path] {
			continue
		}
		limit := rt.BodyLimit
		if limit == 0 {
			limit = api.DefaultBodyLimit
		}
		if huge[limit] == "" {
			huge[limit] = "{" + strings.Repeat(" ", int(limit)-1) + "}"
		}
		wrongShape := `[1, 2]` // an array where an object is expected
		if rt.Path == "/dialog/dialogs-group-initial" {
			wrongShape = `{"msisdn": "79990000000"}` // and the other way round
		}
		c.run(t, []oaCall{
			{rt.Method, path, tok, huge[limit], 413},
			{rt.Method, path, tok, `{"name": `, 409},
			{rt.Method, path, tok, wrongShape, 409},
		})
	}
}

func oaAuth(t *testing.T, c *oaChecker, ten *testenv.Tenant) {
	var pair struct {
		RefreshToken string `json:"refresh_token"`
	}
	c.json(t, oaCall{"POST", "/auth", oaBasic(ten.Login, ten.Password), nil, 200}, &pair)
	c.run(t, []oaCall{
		{"POST", "/auth", "", nil, 401},
		{"POST", "/auth", oaBearer(ten.Token), nil, 401},
		{"POST", "/auth", oaBasic(ten.Login, "wrong password"), nil, 422},
		{"POST", "/auth", oaBasic("nobody", ten.Password), nil, 422},
		// After 5 failures a login waits: 429 with Retry-After.
		{"POST", "/auth", oaBasic("locked-out", "guess 1"), nil, 422},
		{"POST", "/auth", oaBasic("locked-out", "guess 2"), nil, 422},
		{"POST", "/auth", oaBasic("locked-out", "guess 3"), nil, 422},
		{"POST", "/auth", oaBasic("locked-out", "guess 4"), nil, 422},
		{"POST", "/auth", oaBasic("locked-out", "guess 5"), nil, 422},
		{"POST", "/auth", oaBasic("locked-out", "guess 6"), nil, 429},

		{"POST", "/auth/refresh", "", map[string]any{"refresh_token": pair.RefreshToken}, 200},
		{"POST", "/auth/refresh", "", map[string]any{"refresh_token": pair.RefreshToken}, 401}, // used twice
		{"POST", "/auth/refresh", "", map[string]any{"refresh_token": ten.Token}, 401},         // an access token
		{"POST", "/auth/refresh", "", map[string]any{"refresh_token": "garbage"}, 401},
		{"POST", "/auth/refresh", "", map[string]any{}, 409},
		{"POST", "/auth/refresh", "", map[string]any{"refresh_token": 5}, 409},
	})
}

func oaAgents(t *testing.T, c *oaChecker, ten *testenv.Tenant) {
	tok := oaBearer(ten.Token)
	q := "?agent_uuid=" + ten.AgentUUID
	stranger := "?agent_uuid=" + uuid.NewString()
	c.run(t, []oaCall{
		{"GET", "/company-agents", tok, nil, 200},
		{"GET", "/company-agents?company_uuid=" + ten.CompanyUUID + "&limit=1&offset=0", tok, nil, 200},
		{"GET", "/company-agents?offset=5", tok, nil, 200},
		{"GET", "/company-agents?company_uuid=" + uuid.NewString(), tok, nil, 403},
		{"GET", "/company-agents?limit=abc", tok, nil, 409},
		{"GET", "/company-agents?limit=1001", tok, nil, 409},
		{"GET", "/company-agents?offset=-1", tok, nil, 409},

		{"POST", "/company-agents", tok, map[string]any{"name": "Second", "timezone": "Europe/Berlin", "language": "de-de", "unknown": 1}, 409},
		{"POST", "/company-agents", tok, map[string]any{"name": "Second", "timezone": "Europe/Berlin", "language": "de-de"}, 201},
		{"POST", "/company-agents", tok, map[string]any{"name": "Third"}, 201},
		{"POST", "/company-agents", tok, map[string]any{"name": " "}, 409},
		{"POST", "/company-agents", tok, map[string]any{"name": "x", "timezone": "Mars/Olympus"}, 409},
		{"POST", "/company-agents", tok, map[string]any{"name": "x", "language": 5}, 409},

		{"GET", "/agent-settings/transfer" + q, tok, nil, 200},
		{"GET", "/agent-settings/transfer", tok, nil, 409},
		{"GET", "/agent-settings/transfer" + stranger, tok, nil, 403},
		{"PUT", "/agent-settings/transfer" + q, tok, map[string]any{"menu_id": nil, "hold_prompt": "Please hold.", "ring_timeout_seconds": "15",
			"transfer_timeout_seconds": 45, "external_to": ""}, 200},
		{"PUT", "/agent-settings/transfer" + q, tok, map[string]any{"ring_timeout_seconds": 1}, 409},
		{"PUT", "/agent-settings/transfer" + q, tok, map[string]any{"menu_id": 999999}, 409},
		{"PUT", "/agent-settings/transfer" + q, tok, map[string]any{"external_to": "not a number"}, 409},
		{"PUT", "/agent-settings/transfer" + stranger, tok, map[string]any{"hold_prompt": "x"}, 403},
		{"GET", "/agent-settings/general" + q, tok, nil, 200},
		{"GET", "/agent-settings/general", tok, nil, 409},
		{"GET", "/agent-settings/general?agent_uuid=nope", tok, nil, 409},
		{"GET", "/agent-settings/general" + stranger, tok, nil, 403},

		{"PUT", "/agent-settings/general" + q, tok, map[string]any{"delay": "01:30", "recall_count": "3", "routing_channel_limit": 5,
			"total_channel_limit": "20", "flag": "f", "language": "ru-ru", "asr": "yandex", "tts": "alena@yandex",
			"company_uuid": ten.CompanyUUID, "name": "read-only, ignored", "speed": 1.5}, 200},
		{"PUT", "/agent-settings/general" + q, tok, map[string]any{}, 200},
		{"PUT", "/agent-settings/general" + q, tok, map[string]any{"company_uuid": uuid.NewString()}, 403},
		{"PUT", "/agent-settings/general" + stranger, tok, map[string]any{"recall_count": 1}, 403},
		{"PUT", "/agent-settings/general" + q, tok, map[string]any{"recall_count": 101}, 409},
		{"PUT", "/agent-settings/general" + q, tok, map[string]any{"recall_count": "many"}, 409},
		{"PUT", "/agent-settings/general" + q, tok, map[string]any{"delay": "1:30"}, 409},
		{"PUT", "/agent-settings/general" + q, tok, map[string]any{"asr": uuid.NewString()}, 409},
		{"PUT", "/agent-settings/general" + q, tok, map[string]any{"tts": "voice"}, 409},
		{"PUT", "/agent-settings/general", tok, map[string]any{"recall_count": 1}, 409},
	})
}

func oaCredentials(t *testing.T, c *oaChecker, ten *testenv.Tenant) {
	tok := oaBearer(ten.Token)
	q := "?agent_uuid=" + ten.AgentUUID
	stranger := "?agent_uuid=" + uuid.NewString()
	var cred struct {
		UUID  string `json:"uuid"`
		Value string `json:"value"`
	}
	c.json(t, oaCall{"POST", "/agent-settings/credentials" + q, tok,
		map[string]any{"name": "Google ASR", "platform": "google", "key_type": "asr", "value": "secret-key-1234"}, 201}, &cred)
	c.run(t, []oaCall{
		{"POST", "/agent-settings/credentials" + q, tok, map[string]any{"name": "short", "platform": "yandex", "key_type": "tts", "value": "ab"}, 201},
		{"POST", "/agent-settings/credentials" + q, tok, map[string]any{"name": "k", "platform": "azure", "key_type": "asr", "value": "v"}, 409},
		{"POST", "/agent-settings/credentials" + q, tok, map[string]any{"name": "k", "platform": "google", "key_type": "asr"}, 409},
		{"POST", "/agent-settings/credentials", tok, map[string]any{"name": "k", "platform": "google", "key_type": "asr", "value": "v"}, 409},
		{"POST", "/agent-settings/credentials" + stranger, tok, map[string]any{"name": "k", "platform": "google", "key_type": "asr", "value": "v"}, 403},

		{"GET", "/agent-settings/credentials" + q, tok, nil, 200},
		{"GET", "/agent-settings/credentials" + q + "&key_type=tts", tok, nil, 200},
		{"GET", "/agent-settings/credentials" + q + "&key_type=both", tok, nil, 409},
		{"GET", "/agent-settings/credentials", tok, nil, 409},
		{"GET", "/agent-settings/credentials" + stranger, tok, nil, 403},

		// The masked value sent back keeps the key.
		{"PUT", "/agent-settings/credentials/" + cred.UUID, tok, map[string]any{"name": "renamed", "value": cred.Value,
			"uuid": cred.UUID, "agent_uuid": ten.AgentUUID}, 200},
		{"PUT", "/agent-settings/credentials/" + cred.UUID, tok, map[string]any{"value": "new-secret-5678", "key_type": "tts", "platform": "yandex"}, 200},
		{"PUT", "/agent-settings/credentials/" + cred.UUID, tok, map[string]any{"uuid": uuid.NewString()}, 409},
		{"PUT", "/agent-settings/credentials/" + cred.UUID, tok, map[string]any{"agent_uuid": uuid.NewString()}, 409},
		{"PUT", "/agent-settings/credentials/" + cred.UUID, tok, map[string]any{"platform": "azure"}, 409},
		{"PUT", "/agent-settings/credentials/not-a-uuid", tok, map[string]any{"name": "x"}, 409},
		{"PUT", "/agent-settings/credentials/" + uuid.NewString(), tok, map[string]any{"name": "x"}, 404},
	})
}

func oaTimeSlots(t *testing.T, c *oaChecker, ten *testenv.Tenant) {
	tok := oaBearer(ten.Token)
	q := "?agent_uuid=" + ten.AgentUUID
	stranger := "?agent_uuid=" + uuid.NewString()
	const path = "/agent-settings/time-slot"
	mine := uuid.NewString()
	slot := map[string]any{"time_slot_uuid": mine, "day": 5, "not_before": "09:00", "not_after": "24:00"}
	var made struct {
		TimeSlotUUID string `json:"time_slot_uuid"`
	}
	c.json(t, oaCall{"POST", path + q, tok, map[string]any{"day": "1", "not_before": "22:00", "not_after": "02:00"}, 201}, &made)
	c.run(t, []oaCall{
		{"POST", path + q, tok, slot, 201},
		{"POST", path + q, tok, slot, 201}, // a safe retry
		{"POST", path + q, tok, map[string]any{"time_slot_uuid": mine, "day": 6, "not_before": "09:00", "not_after": "24:00"}, 409},
		{"POST", path + q, tok, map[string]any{"day": 8, "not_before": "09:00", "not_after": "10:00"}, 409},
		{"POST", path + q, tok, map[string]any{"day": 1, "not_before": "09:00"}, 409},
		{"POST", path + q, tok, map[string]any{"day": 1, "not_before": "10:00", "not_after": "10:00"}, 409},
		{"POST", path, tok, map[string]any{"day": 1, "not_before": "09:00", "not_after": "10:00"}, 409},
		{"POST", path + stranger, tok, map[string]any{"day": 1, "not_before": "09:00", "not_after": "10:00"}, 403},

		{"GET", path + q, tok, nil, 200},
		{"GET", path, tok, nil, 409},
		{"GET", path + stranger, tok, nil, 403},

		{"PUT", path, tok, map[string]any{"time_slot_uuid": made.TimeSlotUUID, "day": 2, "not_before": "08:00", "not_after": "12:30"}, 201},
		{"PUT", path, tok, map[string]any{"time_slot_uuid": uuid.NewString(), "day": 2, "not_before": "08:00", "not_after": "12:30"}, 404},
		{"PUT", path, tok, map[string]any{"day": 2, "not_before": "08:00", "not_after": "12:30"}, 409},
		{"PUT", path, tok, map[string]any{"time_slot_uuid": made.TimeSlotUUID, "day": 2, "not_before": "08:00", "not_after": "25:00"}, 409},

		{"DELETE", path, tok, map[string]any{"time_slot_uuid": made.TimeSlotUUID}, 204},
		{"DELETE", path + "?time_slot_uuid=" + mine, tok, nil, 204},
		{"DELETE", path + "?time_slot_uuid=" + mine, tok, nil, 404},
		{"DELETE", path, tok, map[string]any{"time_slot_uuid": made.TimeSlotUUID}, 404},
		{"DELETE", path, tok, nil, 409},
		{"DELETE", path, tok, map[string]any{"time_slot_uuid": "nope"}, 409},
	})
}

// oaEntities covers the routes of one entity kind, "initial" or "output".
func oaEntities(t *testing.T, c *oaChecker, ten *testenv.Tenant, kind string) {
	tok := oaBearer(ten.Token)
	q := "?agent_uuid=" + ten.AgentUUID
	stranger := "?agent_uuid=" + uuid.NewString()
	base := "/" + kind + "-entity"
	key := kind + "_entity_uuid" // the UUID field of one entity
	keys := kind + "_entities_uuid"
	extra := map[string]any{"synthesis": true} // the kind-specific field
	if kind == "output" {
		extra = map[string]any{"entity_type": "integer"}
	}
	ent := func(fields map[string]any) map[string]any {
		for k, v := range extra {
			fields[k] = v
		}
		return fields
	}
	made := map[string]string{}
	for _, name := range []string{"first", "second", "third", "fourth"} {
		var out map[string]any
		c.json(t, oaCall{"POST", base + q, tok, ent(map[string]any{"name": name}), 201}, &out)
		made[name], _ = out[key].(string)
	}
	c.run(t, []oaCall{
		{"POST", base + q, tok, map[string]any{"name": "phone", "number_cell": "7"}, 201},
		{"POST", base + q, tok, map[string]any{"name": "first"}, 409},
		{"POST", base + q, tok, map[string]any{"name": ""}, 409},
		{"POST", base + q, tok, map[string]any{"name": "big", "number_cell": 10001}, 409},
		{"POST", base, tok, map[string]any{"name": "x"}, 409},
		{"POST", base + stranger, tok, map[string]any{"name": "x"}, 403},

		{"GET", base + q, tok, nil, 200},
		{"GET", base, tok, nil, 409},
		{"GET", base + stranger, tok, nil, 403},

		{"PUT", base, tok, ent(map[string]any{key: made["first"], "name": "renamed", "number_cell": 3}), 200},
		{"PUT", base, tok, map[string]any{key: made["first"], "name": "phone"}, 409},
		{"PUT", base, tok, map[string]any{"name": "x"}, 409},
		{"PUT", base, tok, map[string]any{key: uuid.NewString(), "name": "x"}, 404},

		{"DELETE", base, tok, map[string]any{key: made["first"]}, 204},
		{"DELETE", base + "?" + key + "=" + made["second"], tok, nil, 204},
		{"DELETE", base, tok, map[string]any{key: made["first"]}, 404},
		{"DELETE", base, tok, nil, 409},
		{"DELETE", base, tok, map[string]any{"name": "x"}, 409},
	})
	bulkAdd := map[string]any{"entities": []any{
		ent(map[string]any{"name": "a"}), map[string]any{"name": "b", "number_cell": 9}, map[string]any{"name": "a"}, map[string]any{"name": "third"},
	}}
	if kind == "initial" {
		c.run(t, []oaCall{
			{"POST", base + "/bulk" + q, tok, bulkAdd, 200},
			{"POST", base + "/bulk" + q, tok, map[string]any{"entities": []any{}}, 409},
			{"POST", base + "/bulk" + q, tok, map[string]any{}, 409},
			{"POST", base + "/bulk", tok, bulkAdd, 409},
			{"POST", base + "/bulk" + stranger, tok, bulkAdd, 403},

			{"POST", base + "/bulk-delete", tok, map[string]any{keys: []string{made["third"], uuid.NewString()}}, 200},
			{"POST", base + "/bulk-delete" + q, tok, map[string]any{keys: []string{made["fourth"], made["fourth"]}}, 200},
			{"POST", base + "/bulk-delete" + stranger, tok, map[string]any{keys: []string{made["fourth"]}}, 403},
			{"POST", base + "/bulk-delete", tok, map[string]any{keys: []string{}}, 409},
			{"POST", base + "/bulk-delete", tok, map[string]any{keys: []string{"nope"}}, 409},
			{"POST", base + "/bulk-delete", tok, map[string]any{}, 409},
		})
		return
	}
	c.run(t, []oaCall{
		{"POST", base + "/bulk" + q, tok, bulkAdd, 200},
		{"POST", base + "/bulk" + q, tok, map[string]any{keys: []string{made["third"], uuid.NewString()}}, 200},
		{"POST", base + "/bulk" + q, tok, map[string]any{"entities": []any{map[string]any{"name": "c"}}, keys: []string{made["fourth"]}}, 409},
		{"POST", base + "/bulk" + q, tok, map[string]any{}, 409},
		{"POST", base + "/bulk" + q, tok, map[string]any{"entities": []any{map[string]any{"name": "c", "entity_type": "blob"}}}, 409},
		{"POST", base + "/bulk", tok, map[string]any{keys: []string{made["fourth"]}}, 409},
		{"POST", base + "/bulk" + stranger, tok, map[string]any{keys: []string{made["fourth"]}}, 403},

		// The seed's underscore spelling of the path.
		{"PUT", "/output_entity", tok, map[string]any{key: made["fourth"], "entity_type": "date"}, 200},
		{"PUT", "/output_entity", tok, map[string]any{key: made["fourth"], "entity_type": "blob"}, 409},
		{"PUT", "/output_entity", tok, map[string]any{key: uuid.NewString()}, 404},
		{"DELETE", "/output_entity", tok, map[string]any{key: made["fourth"]}, 204},
		{"DELETE", "/output_entity?" + key + "=" + made["fourth"], tok, nil, 404},
		{"DELETE", "/output_entity", tok, map[string]any{key: ""}, 409},
	})
}

// oaDialogs covers scripts, uploads, the queue and the statistics on a
// tenant of its own: the server's importer and dialer (sim trunk) run in
// the background, so its dialogs get called and finish.
func oaDialogs(t *testing.T, c *oaChecker, ten *testenv.Tenant) {
	tok := oaBearer(ten.Token)
	q := "?agent_uuid=" + ten.AgentUUID
	stranger := "?agent_uuid=" + uuid.NewString()
	c.run(t, []oaCall{
		{"POST", "/initial-entity/bulk" + q, tok, map[string]any{"entities": []any{map[string]any{"name": "msisdn"}, map[string]any{"name": "name"}}}, 200},
		{"POST", "/output-entity/bulk" + q, tok, map[string]any{"entities": []any{map[string]any{"name": "answer"}, map[string]any{"name": "reason"}}}, 200},
	})

	const script = "/agent-settings/script"
	var compileErr struct {
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	}
	c.json(t, oaCall{"PUT", script + q, tok, map[string]any{"name": "bad", "source": "def main(s):\n    s.say(\"x\"\n"}, 409}, &compileErr)
	if !strings.Contains(compileErr.Message, "line 3, column") || !strings.Contains(compileErr.Fields["source"], "line 3, column") {
		t.Errorf("compile error without its position: %+v", compileErr)
	}
	c.run(t, []oaCall{
		{"PUT", script + q, tok, map[string]any{"name": "main", "source": branchingScript}, 200},
		{"PUT", script + q, tok, map[string]any{"name": "spare.v2", "source": "def main(s):\n    s.hangup()\n", "unknown": 1}, 409},
		{"PUT", script + q, tok, map[string]any{"name": "spare.v2", "source": "def main(s):\n    s.hangup()\n"}, 200},
		{"PUT", script + q, tok, map[string]any{"name": "spare.v2", "source": "def main(s):\n    s.say(\"bye\")\n"}, 200}, // a new version
		{"PUT", script + q, tok, map[string]any{"name": "bad", "source": "load(\"m\", \"x\")\n"}, 409},
		{"PUT", script + q, tok, map[string]any{"name": "bad", "source": "def main(s):\n    undefined_name()\n"}, 409},
		{"PUT", script + q, tok, map[string]any{"name": "big", "source": "#" + strings.Repeat("x", agent.MaxScriptBytes)}, 409},
		{"PUT", script + q, tok, map[string]any{"name": "no spaces", "source": "x = 1\n"}, 409},
		{"PUT", script + q, tok, map[string]any{"source": "x = 1\n"}, 409},
		{"PUT", script, tok, map[string]any{"name": "main", "source": "x = 1\n"}, 409},
		{"PUT", script + stranger, tok, map[string]any{"name": "main", "source": "x = 1\n"}, 403},

		{"POST", script + "/check" + q, tok, map[string]any{"source": "def main(s):\n    s.hangup()\n"}, 200},
		{"POST", script + "/check" + q, tok, map[string]any{"source": "def main(s):\n    s.say(\"x\"\n"}, 200},
		{"POST", script + "/check" + q, tok, map[string]any{}, 200},
		{"POST", script + "/check" + q, tok, map[string]any{"source": "#" + strings.Repeat("x", agent.MaxScriptBytes)}, 409},
		{"POST", script + "/check", tok, map[string]any{"source": "x = 1\n"}, 409},
		{"POST", script + "/check" + stranger, tok, map[string]any{"source": "x = 1\n"}, 403},

		{"GET", script + q, tok, nil, 200},
		{"GET", script + q + "&name=main", tok, nil, 200},
		{"GET", script + q + "&name=nope", tok, nil, 404},
		{"GET", script, tok, nil, 409},
		{"GET", script + stranger, tok, nil, 403},
		{"GET", script + stranger + "&name=main", tok, nil, 403},

		{"DELETE", script + q + "&name=spare.v2", tok, nil, 204},
		{"DELETE", script + q + "&name=spare.v2", tok, nil, 404},
		{"DELETE", script + q, tok, nil, 409},
		{"DELETE", script + "?name=main", tok, nil, 409},
		{"DELETE", script + stranger + "&name=main", tok, nil, 403},
	})

	// Uploads: one dialog answered "yes"; a group with a "no", a busy
	// callee and two rows that fail alone; one more dialog added to the
	// group's bulk that stays silent.
	const single, group = "/dialog/dialog-initial", "/dialog/dialogs-group-initial"
	var yes, silent struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	c.json(t, oaCall{"POST", single + q, tok, map[string]any{"msisdn": "+7 (999) 123-12-12", "script_name": "main", "name": "John",
		"sim_say": []string{"yes, sure"}}, 200}, &yes)
	var bulk, empty struct {
		BulkUUID string `json:"bulk_uuid"`
		TaskUUID string `json:"task_uuid"`
	}
	c.json(t, oaCall{"POST", group + q + "&with_selection=true&selection_name=November", tok, []any{
		map[string]any{"phone": 79991230001, "name": "Ann", "sim_say": `["no", "too expensive"]`},
		map[string]any{"msisdn": "79991230002", "sim_answer": "busy", "script": "main"},
		map[string]any{"name": "no number"},
		"not an object",
	}, 200}, &bulk)
	c.json(t, oaCall{"POST", group + q + "&with_selection=false", tok, []any{}, 200}, &empty)
	c.json(t, oaCall{"POST", single + q + "&bulk_uuid=" + bulk.BulkUUID + "&with_selection=1", tok,
		map[string]any{"msisdn": 79991230003, "name": nil, "script_entry_point": "main"}, 200}, &silent)
	row := map[string]any{"msisdn": "79990000000"}
	c.run(t, []oaCall{
		{"POST", single + q, tok, map[string]any{"name": "no number"}, 409},
		{"POST", single + q, tok, map[string]any{"msisdn": "12"}, 409},
		{"POST", single + q, tok, map[string]any{"msisdn": "79990000000", "phone": "79990000001"}, 409},
		{"POST", single + q, tok, map[string]any{"msisdn": "79990000000", "favourite_colour": "red"}, 409},
		{"POST", single + q, tok, map[string]any{"msisdn": "79990000000", "sim_answer": "maybe"}, 409},
		{"POST", single + q, tok, map[string]any{"msisdn": "79990000000", "sim_say": "yes"}, 409},
		{"POST", single + q, tok, map[string]any{"msisdn": "79990000000", "name": map[string]any{}}, 409},
		{"POST", single + q, tok, "null", 409},
		{"POST", single + q + "&with_selection=maybe", tok, row, 409},
		{"POST", single + q + "&with_selection=true&selection_name=" + strings.Repeat("s", 201), tok, row, 409},
		{"POST", single + q + "&bulk_uuid=" + uuid.NewString(), tok, row, 409},
		{"POST", single + q + "&bulk_uuid=nope", tok, row, 409},
		{"POST", single, tok, row, 409},
		{"POST", single + stranger, tok, row, 403},

		{"POST", group + q, tok, `[{"msisdn": `, 409},
		{"POST", group + q, tok, `  `, 409},
		{"POST", group + q + "&bulk_uuid=" + uuid.NewString(), tok, []any{row}, 409},
		{"POST", group + q + "&with_selection=maybe", tok, []any{row}, 409},
		{"POST", group, tok, []any{row}, 409},
		{"POST", group + stranger, tok, []any{row}, 403},
	})

	const status, result = "/dialog/dialogs-group-initial-status", "/dialog/dialogs-group-initial-result"
	for _, task := range []string{bulk.TaskUUID, empty.TaskUUID} {
		var st struct {
			State string `json:"state"`
		}
		waitFor(t, "import task "+task, func() bool {
			c.json(t, oaCall{"GET", status + "?task_uuid=" + task, tok, nil, 200}, &st)
			return st.State == "done"
		})
	}
	var results []struct {
		Status     bool   `json:"status"`
		DialogUUID string `json:"dialog_uuid"`
	}
	c.json(t, oaCall{"GET", result + "?task_uuid=" + bulk.TaskUUID, tok, nil, 200}, &results)
	if len(results) != 4 || !results[0].Status || !results[1].Status || results[2].Status || results[3].Status {
		t.Fatalf("per-row results: %+v", results)
	}
	no, busy := results[0].DialogUUID, results[1].DialogUUID
	c.run(t, []oaCall{
		{"GET", status + "?task_uuid=" + uuid.NewString(), tok, nil, 404},
		{"GET", status + "?task_uuid=nope", tok, nil, 409},
		{"GET", status, tok, nil, 409},

		{"GET", result + "?task_uuid=" + bulk.TaskUUID + "&limit=2&offset=1", tok, nil, 200},
		{"GET", result + "?task_uuid=" + bulk.TaskUUID + "&limit=0", tok, nil, 200},
		{"GET", result + "?task_uuid=" + bulk.TaskUUID + "&offset=1000000", tok, nil, 200},
		{"GET", result + "?task_uuid=" + empty.TaskUUID, tok, nil, 200},
		{"GET", result + "?task_uuid=" + bulk.TaskUUID + "&limit=abc", tok, nil, 409},
		{"GET", result + "?task_uuid=" + bulk.TaskUUID + "&offset=-1", tok, nil, 409},
		{"GET", result + "?task_uuid=" + uuid.NewString(), tok, nil, 404},
		{"GET", result + "?task_uuid=nope", tok, nil, 409},
		{"GET", result, tok, nil, 409},
	})

	// Wait for the calls without validating (a 404 while a dialog waits
	// is validated below).
	callOf := map[string]string{}
	for _, d := range []string{yes.DialogUUID, no, busy, silent.DialogUUID} {
		waitFor(t, "dialog "+d+" to finish", func() bool {
			r := c.env.Do(t, "GET", ext.Prefix+"/statistic/dialog?dialog_uuid="+d, ten.Token, nil)
			if r.Status != 200 {
				return false
			}
			var rows []map[string]any
			r.JSON(t, &rows)
			callOf[d], _ = rows[0]["call_uuid"].(string)
			return true
		})
	}
	const stat, groupStat, report, download = "/statistic/dialog", "/statistic/dialog-group", "/statistic/dialog-report", "/statistic/download/call"
	window := map[string]any{"agent_uuid": ten.AgentUUID, "start": time.Now().UTC().Add(-time.Hour).Format("2006-01-02 15:04:05.000000"),
		"end": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05")}
	with := func(changes map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range window {
			out[k] = v
		}
		for k, v := range changes {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	transcript := func(call string) string { return "/statistic/" + call + "/transcription" }
	missing := uuid.NewString()
	c.run(t, []oaCall{
		{"GET", stat + "?dialog_uuid=" + yes.DialogUUID, tok, nil, 200},
		{"GET", stat + "?dialog_uuid=" + busy, tok, nil, 200}, // failed
		{"GET", stat + "?dialog_uuid=" + missing, tok, nil, 404},
		{"GET", stat + "?dialog_uuid=nope", tok, nil, 409},
		{"GET", stat, tok, nil, 409},

		{"GET", groupStat + "?bulk_uuid=" + bulk.BulkUUID, tok, nil, 200},
		{"GET", groupStat + "?bulk_uuid=" + empty.BulkUUID, tok, nil, 404}, // a bulk without dialogs
		{"GET", groupStat + "?bulk_uuid=" + missing, tok, nil, 404},
		{"GET", groupStat + "?bulk_uuid=nope", tok, nil, 409},
		{"GET", groupStat, tok, nil, 409},

		{"POST", report, tok, window, 200},
		{"POST", report, tok, with(map[string]any{"limit": "2", "offset": 3}), 200},
		{"POST", report, tok, with(map[string]any{"start": "2000-01-01T00:00:00", "end": "2000-01-01 00:00:00.5"}), 200}, // empty
		{"POST", report, tok, with(map[string]any{"start": "yesterday"}), 409},
		{"POST", report, tok, with(map[string]any{"end": nil}), 409},
		{"POST", report, tok, with(map[string]any{"start": "2030-01-01 00:00:00", "end": "2029-01-01 00:00:00"}), 409},
		{"POST", report, tok, with(map[string]any{"limit": 0}), 409},
		{"POST", report, tok, with(map[string]any{"limit": 1001}), 409},
		{"POST", report, tok, with(map[string]any{"limit": "many"}), 409},
		{"POST", report, tok, with(map[string]any{"offset": -1}), 409},
		{"POST", report, tok, with(map[string]any{"agent_uuid": nil}), 409},
		{"POST", report, tok, with(map[string]any{"agent_uuid": "nope"}), 409},
		{"POST", report, tok, with(map[string]any{"agent_uuid": uuid.NewString()}), 403},

		{"GET", download + "?call_uuid=" + callOf[yes.DialogUUID], tok, nil, 200},
		{"GET", download + "?call_uuid=" + callOf[busy], tok, nil, 404}, // not answered: no recording
		{"GET", download + "?call_uuid=" + missing, tok, nil, 404},
		{"GET", download + "?call_uuid=nope", tok, nil, 404},
		{"GET", download, tok, nil, 404},

		{"GET", transcript(callOf[yes.DialogUUID]) + "?type=json", tok, nil, 200},
		{"GET", transcript(callOf[no]) + "?type=text", tok, nil, 200},
		{"GET", transcript(callOf[silent.DialogUUID]), tok, nil, 200},
		{"GET", transcript(callOf[busy]), tok, nil, 200},
		{"GET", transcript(missing) + "?type=json", tok, nil, 404},
		{"GET", transcript(missing) + "?type=text", tok, nil, 404},
		{"GET", transcript("nope"), tok, nil, 404},
		{"GET", transcript(callOf[yes.DialogUUID]) + "?type=xml", tok, nil, 409},
	})

	// From now on the agent's only time slot is closed (another weekday),
	// so new dialogs wait in the queue.
	closedDay := (int(time.Now().In(moscow).Weekday())+2)%7 + 1
	c.do(t, oaCall{"POST", "/agent-settings/time-slot" + q, tok, map[string]any{"day": closedDay, "not_before": "09:00", "not_after": "18:00"}, 201})
	var wait1, wait2 struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	c.json(t, oaCall{"POST", single + q + "&with_selection=true", tok, map[string]any{"msisdn": "79991230005"}, 200}, &wait1)
	c.json(t, oaCall{"POST", single + q + "&bulk_uuid=" + bulk.BulkUUID, tok, map[string]any{"msisdn": "79991230006"}, 200}, &wait2)
	queueStatuses := func(want string) {
		t.Helper()
		var items []struct {
			Status string `json:"status"`
		}
		c.json(t, oaCall{"GET", "/queue/dialog" + q, tok, nil, 200}, &items)
		if len(items) != 2 || items[0].Status != want || items[1].Status != want {
			t.Errorf("queue: %+v, want two dialogs %s", items, want)
		}
	}
	queueStatuses("queued")
	for _, path := range []string{"/queue/dialog", "/queue/call"} {
		c.run(t, []oaCall{
			{"GET", path + q + "&limit=1&offset=1", tok, nil, 200},
			{"GET", path + q + "&bulk_uuid=" + bulk.BulkUUID + "&limit=10&offset=20", tok, nil, 200},
			{"GET", path + q + "&bulk_uuid=" + missing, tok, nil, 200},
			{"GET", path + q + "&limit=10&offset=5", tok, nil, 409},
			{"GET", path + q + "&limit=0", tok, nil, 409},
			{"GET", path + q + "&limit=1001", tok, nil, 409},
			{"GET", path + q + "&offset=x", tok, nil, 409},
			{"GET", path + q + "&bulk_uuid=nope", tok, nil, 409},
			{"GET", path, tok, nil, 409},
			{"GET", path + stranger, tok, nil, 403},
		})
	}
	c.do(t, oaCall{"GET", "/queue/call" + q, tok, nil, 200})
	c.do(t, oaCall{"POST", "/queue/stop" + q, tok, `{"a body": "is ignored"}`, 200})
	queueStatuses("stopped")
	c.do(t, oaCall{"POST", "/queue/return" + q, tok, nil, 200})
	queueStatuses("queued")
	c.run(t, []oaCall{
		{"POST", "/queue/stop", tok, nil, 409},
		{"POST", "/queue/stop" + stranger, tok, nil, 403},
		{"POST", "/queue/return", tok, nil, 409},
		{"POST", "/queue/return" + stranger, tok, nil, 403},

		{"GET", "/selection" + q, tok, nil, 200},
		{"GET", "/selection" + q + "&is_completed=false", tok, nil, 200},
		{"GET", "/selection" + q + "&is_completed=true", tok, nil, 200},
		{"GET", "/selection" + q + "&is_completed=maybe", tok, nil, 409},
		{"GET", "/selection", tok, nil, 409},
		{"GET", "/selection" + stranger, tok, nil, 403},

		{"GET", stat + "?dialog_uuid=" + wait1.DialogUUID, tok, nil, 404}, // waiting: no statistics yet

		{"POST", "/queue/remove" + q + "&dialog_uuid=" + wait1.DialogUUID, tok, nil, 200},
		{"POST", "/queue/remove" + q + "&dialog_uuid=" + wait1.DialogUUID, tok, nil, 409}, // already removed
		{"POST", "/queue/remove" + q + "&dialog_uuid=" + yes.DialogUUID, tok, nil, 409},   // finished
		{"POST", "/queue/remove" + q + "&dialog_uuid=" + missing, tok, nil, 404},
		{"POST", "/queue/remove" + q + "&dialog_uuid=nope", tok, nil, 409},
		{"POST", "/queue/remove" + q, tok, nil, 200}, // every waiting dialog
		{"POST", "/queue/remove" + q, tok, nil, 200}, // none left
		{"POST", "/queue/remove", tok, nil, 409},
		{"POST", "/queue/remove" + stranger, tok, nil, 403},
		{"GET", "/queue/dialog" + q, tok, nil, 200},
	})
}

func oaTrunks(t *testing.T, c *oaChecker, ten *testenv.Tenant) {
	tok := oaBearer(ten.Token)
	var made struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	c.json(t, oaCall{"POST", "/trunks", tok, map[string]any{"name": " Main PBX ", "host": "pbx.example.com", "port": "5080", "transport": "TCP",
		"username": "acme", "password": "s3cret", "caller_id": "+74950000000", "codecs": "PCMA,PCMU", "ring_timeout_s": 45, "refer": true}, 201}, &made)
	if made.Name != "Main PBX" || made.Password != "********" {
		t.Errorf("created trunk: %+v, want the trimmed name and a masked password", made)
	}
	var list struct {
		Data []struct {
			Name, Password, Codecs string
			RingTimeout            int `json:"ring_timeout_s"`
		} `json:"data"`
	}
	c.run(t, []oaCall{
		{"POST", "/trunks", tok, map[string]any{"name": "Бэкап", "host": "192.0.2.7", "ring_timeout": 10, "company_uuid": ten.CompanyUUID}, 201},
		{"POST", "/trunks", tok, map[string]any{"name": "Main PBX", "host": "other.example.com"}, 409}, // a duplicate name
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "bad host"}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x"}, 409},
		{"POST", "/trunks", tok, map[string]any{"host": "h.example"}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "port": 0}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "port": 70000}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "transport": "tls"}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "password": "p"}, 409}, // no username
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "codecs": "G729"}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "ring_timeout_s": 4}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "ring_timeout_s": 20, "ring_timeout": 30}, 409},
		{"POST", "/trunks", tok, map[string]any{"name": "x", "host": "h.example", "company_uuid": uuid.NewString()}, 403},
	})
	c.json(t, oaCall{"GET", "/trunks?company_uuid=" + ten.CompanyUUID, tok, nil, 200}, &list)
	if len(list.Data) != 2 || list.Data[0].Name != "Main PBX" || list.Data[0].Password != "********" || list.Data[0].Codecs != "PCMA,PCMU" ||
		list.Data[0].RingTimeout != 45 || list.Data[1].Name != "Бэкап" || list.Data[1].Password != "" || list.Data[1].RingTimeout != 10 {
		t.Errorf("trunks: %+v", list.Data)
	}
	for _, b := range [][]byte{c.do(t, oaCall{"GET", "/trunks", tok, nil, 200}), c.do(t, oaCall{"GET", "/trunks/Main%20PBX", tok, nil, 200})} {
		if strings.Contains(string(b), "s3cret") {
			t.Errorf("a trunk answer shows the password: %s", b)
		}
	}
	c.run(t, []oaCall{
		{"GET", "/trunks?company_uuid=" + uuid.NewString(), tok, nil, 403},
		{"GET", "/trunks/" + url.PathEscape("Бэкап"), tok, nil, 200},
		{"GET", "/trunks/nope", tok, nil, 404},
		{"GET", "/trunks/a%00b", tok, nil, 404},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"host": "192.0.2.8", "port": "5070", "transport": "tcp", "username": "b",
			"password": "pw", "caller_id": "100", "codecs": "PCMA", "ring_timeout": 15, "name": " Бэкап ", "company_uuid": ten.CompanyUUID}, 200},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{}, 200},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"password": "", "host": nil}, 200},
		{"PUT", "/trunks/nope", tok, map[string]any{"host": "h.example"}, 404},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"name": "renamed"}, 409},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"host": ""}, 409},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"port": 0}, 409},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"transport": "tls"}, 409},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"ring_timeout_s": 20, "ring_timeout": 30}, 409},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"ring_timeout_s": "x"}, 409},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"refer": false}, 200},
		{"PUT", "/trunks/" + url.PathEscape("Бэкап"), tok, map[string]any{"company_uuid": uuid.NewString()}, 403},
		{"DELETE", "/trunks/" + url.PathEscape("Бэкап"), tok, nil, 204},
		{"DELETE", "/trunks/" + url.PathEscape("Бэкап"), tok, nil, 404},
		{"GET", "/trunks/" + url.PathEscape("Бэкап"), tok, nil, 404},
		{"DELETE", "/trunks/%FF", tok, nil, 404},
	})
}
