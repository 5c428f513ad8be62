package ext_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// fixture is a tenant with one of every agent-scoped object, so that each
// route has something of that tenant's to address.
type fixture struct {
	*testenv.Tenant
	InitialUUID    string
	OutputUUID     string
	SlotUUID       string
	CredentialUUID string
	// Secrets are strings that only this tenant's data contains; another
	// tenant's response must never hold them.
	Secrets []string
}

func newFixture(t *testing.T, env *testenv.Env, name string) *fixture {
	t.Helper()
	f := &fixture{Tenant: env.NewTenant(t, name)}
	q := "?agent_uuid=" + f.AgentUUID
	var ent struct {
		InitialEntityUUID string `json:"initial_entity_uuid"`
		OutputEntityUUID  string `json:"output_entity_uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/initial-entity"+q, f.Token, map[string]any{"name": name + "-in-secret", "synthesis": true}), 201).JSON(t, &ent)
	f.InitialUUID = ent.InitialEntityUUID
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/output-entity"+q, f.Token, map[string]any{"name": name + "-out-secret"}), 201).JSON(t, &ent)
	f.OutputUUID = ent.OutputEntityUUID
	var slot struct {
		TimeSlotUUID string `json:"time_slot_uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/agent-settings/time-slot"+q, f.Token, map[string]any{"day": 3, "not_before": "09:13", "not_after": "17:47"}), 201).JSON(t, &slot)
	f.SlotUUID = slot.TimeSlotUUID
	var cred struct {
		UUID string `json:"uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/agent-settings/credentials"+q, f.Token,
		map[string]any{"name": name + "-key-secret", "platform": "google", "key_type": "asr", "value": "SECRETVALUE-" + name}), 201).JSON(t, &cred)
	f.CredentialUUID = cred.UUID
	f.Secrets = []string{f.AgentName, name + "-in-secret", name + "-out-secret", name + "-key-secret", "SECRETVALUE", "09:13"}
	return f
}

// request is one call of a route, addressed at a fixture's objects.
type request struct {
	Method string
	Path   string // with query
	Body   any
}

// routeRequests returns, for every route pattern, a valid request that
// touches the objects of f. Tests fail for a route missing here, so a new
// route cannot escape the isolation and bad-input matrices.
func routeRequests(f *fixture) map[string]request {
	q := "?agent_uuid=" + f.AgentUUID
	p := ext.Prefix
	reqs := []request{
		{"POST", p + "/auth", nil},
		{"POST", p + "/auth/refresh", map[string]any{"refresh_token": f.RefreshToken}},
		{"GET", p + "/company-agents?company_uuid=" + f.CompanyUUID, nil},
		{"POST", p + "/company-agents", map[string]any{"name": "new agent", "description": "d", "timezone": "UTC", "language": "en-US", "company_uuid": f.CompanyUUID}},
		{"GET", p + "/agent-settings/general" + q, nil},
		{"PUT", p + "/agent-settings/general" + q, map[string]any{"recall_count": 2, "delay": "00:30", "flag": "f", "language": "ru-RU", "tts": "v@google", "asr": "google", "total_channel_limit": 3, "routing_channel_limit": 1, "company_uuid": f.CompanyUUID}},
		{"GET", p + "/agent-settings/credentials" + q + "&key_type=asr", nil},
		{"POST", p + "/agent-settings/credentials" + q, map[string]any{"name": "k", "platform": "yandex", "key_type": "tts", "value": "v"}},
		{"PUT", p + "/agent-settings/credentials/" + f.CredentialUUID, map[string]any{"name": "renamed", "value": "NEWVALUE"}},
		{"GET", p + "/agent-settings/time-slot" + q, nil},
		{"POST", p + "/agent-settings/time-slot" + q, map[string]any{"day": 1, "not_before": "10:00", "not_after": "11:00"}},
		{"PUT", p + "/agent-settings/time-slot", map[string]any{"time_slot_uuid": f.SlotUUID, "day": 2, "not_before": "10:00", "not_after": "11:00"}},
		{"DELETE", p + "/agent-settings/time-slot", map[string]any{"time_slot_uuid": f.SlotUUID}},
		{"GET", p + "/initial-entity" + q, nil},
		{"POST", p + "/initial-entity" + q, map[string]any{"name": "fresh", "synthesis": false}},
		{"PUT", p + "/initial-entity", map[string]any{"initial_entity_uuid": f.InitialUUID, "name": "renamed"}},
		{"DELETE", p + "/initial-entity", map[string]any{"initial_entity_uuid": f.InitialUUID}},
		{"POST", p + "/initial-entity/bulk" + q, map[string]any{"entities": []any{map[string]any{"name": "b1"}}}},
		{"POST", p + "/initial-entity/bulk-delete" + q, map[string]any{"initial_entities_uuid": []string{f.InitialUUID}}},
		{"GET", p + "/output-entity" + q, nil},
		{"POST", p + "/output-entity" + q, map[string]any{"name": "fresh", "entity_type": "string"}},
		{"PUT", p + "/output-entity", map[string]any{"output_entity_uuid": f.OutputUUID, "name": "renamed"}},
		{"DELETE", p + "/output-entity", map[string]any{"output_entity_uuid": f.OutputUUID}},
		{"POST", p + "/output-entity/bulk" + q, map[string]any{"output_entities_uuid": []string{f.OutputUUID}}},
		{"PUT", p + "/output_entity", map[string]any{"output_entity_uuid": f.OutputUUID, "name": "renamed2"}},
		{"DELETE", p + "/output_entity", map[string]any{"output_entity_uuid": f.OutputUUID}},
	}
	out := map[string]request{}
	for _, r := range reqs {
		path := r.Path
		for i, c := range path {
			if c == '?' {
				path = path[:i]
				break
			}
		}
		key := r.Method + " " + path
		if r.Method == "PUT" && path == p+"/agent-settings/credentials/"+f.CredentialUUID {
			key = "PUT " + p + "/agent-settings/credentials/{credential_uuid}"
		}
		out[key] = r
	}
	return out
}

// requestFor returns the request of a route, failing if the table lacks it.
func requestFor(t *testing.T, f *fixture, rt ext.Route) request {
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

func describe(r request) string { return fmt.Sprintf("%s %s", r.Method, r.Path) }
