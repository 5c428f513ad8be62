package ext_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

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
	DialogUUID     string // finished, with a call
	CallUUID       string
	BulkUUID       string // of a finished group upload
	TaskUUID       string
	QueuedUUID     string // waiting: the agent's time slot is closed
	TrunkName      string // a SIP trunk of the company (no agent uses it)
	// Secrets are strings that only this tenant's data contains; another
	// tenant's response must never hold them.
	Secrets []string
}

var moscow, _ = time.LoadLocation("Europe/Moscow") // the fixture agents' zone

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
	var cred struct {
		UUID string `json:"uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/agent-settings/credentials"+q, f.Token,
		map[string]any{"name": name + "-key-secret", "platform": "google", "key_type": "asr", "value": "SECRETVALUE-" + name}), 201).JSON(t, &cred)
	f.CredentialUUID = cred.UUID

	// A finished dialog with a call, and a finished group upload; both
	// are called at once because the agent has no time slot yet.
	mustStatus(t, env.Do(t, "PUT", ext.Prefix+"/agent-settings/script"+q, f.Token, map[string]any{"name": "main", "source": branchingScript}), 200)
	var one struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialog-initial"+q, f.Token, map[string]any{"msisdn": "79990001111", "sim_say": []string{"yes"}}), 200).JSON(t, &one)
	f.DialogUUID = one.DialogUUID
	var group struct {
		BulkUUID string `json:"bulk_uuid"`
		TaskUUID string `json:"task_uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialogs-group-initial"+q, f.Token, []any{map[string]any{"msisdn": "79990002222"}}), 200).JSON(t, &group)
	f.BulkUUID, f.TaskUUID = group.BulkUUID, group.TaskUUID
	waitFor(t, "the fixture's calls", func() bool {
		var rows []map[string]any
		r := env.Do(t, "GET", ext.Prefix+"/statistic/dialog-group?bulk_uuid="+f.BulkUUID, f.Token, nil)
		if r.Status != 200 || env.Do(t, "GET", ext.Prefix+"/statistic/dialog?dialog_uuid="+f.DialogUUID, f.Token, nil).Status != 200 {
			return false
		}
		r = mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/dialog?dialog_uuid="+f.DialogUUID, f.Token, nil), 200)
		r.JSON(t, &rows)
		f.CallUUID, _ = rows[0]["call_uuid"].(string)
		return f.CallUUID != ""
	})

	// From now on the agent's only slot is closed (another weekday), so
	// the next dialog stays in the queue.
	closedDay := (int(time.Now().In(moscow).Weekday())+2)%7 + 1
	var slot struct {
		TimeSlotUUID string `json:"time_slot_uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/agent-settings/time-slot"+q, f.Token, map[string]any{"day": closedDay, "not_before": "09:13", "not_after": "17:47"}), 201).JSON(t, &slot)
	f.SlotUUID = slot.TimeSlotUUID
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialog-initial"+q+"&with_selection=true", f.Token, map[string]any{"msisdn": "79990003333"}), 200).JSON(t, &one)
	f.QueuedUUID = one.DialogUUID
	f.TrunkName = name + "-trunk-secret"
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/trunks", f.Token, map[string]any{"name": f.TrunkName, "host": strings.ToLower(name) + "-pbx.example",
		"username": "u", "password": "TRUNKPASS-" + name}), 201)
	f.Secrets = []string{strings.ToLower(name) + "-pbx.example", "TRUNKPASS", f.TrunkName, f.AgentName, name + "-in-secret", name + "-out-secret", name + "-key-secret", "SECRETVALUE", "09:13",
		"79990001111", "79990002222", "79990003333", "will you pay"}
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
		{"GET", p + "/agent-settings/transfer" + q, nil},
		{"PUT", p + "/agent-settings/transfer" + q, map[string]any{"hold_prompt": "Hold on.", "ring_timeout_seconds": 10, "transfer_timeout_seconds": 30, "external_to": ""}},
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

		{"GET", p + "/agent-settings/script" + q + "&name=main", nil},
		{"PUT", p + "/agent-settings/script" + q, map[string]any{"name": "main", "source": "def main(s):\n    s.hangup()\n"}},
		{"DELETE", p + "/agent-settings/script" + q + "&name=main", nil},
		{"POST", p + "/agent-settings/script/check" + q, map[string]any{"source": "def main(s):\n    s.hangup()\n"}},
		{"POST", p + "/dialog/dialog-initial" + q, map[string]any{"msisdn": "79990009999", "script_name": "main"}},
		{"POST", p + "/dialog/dialogs-group-initial" + q, []any{map[string]any{"msisdn": "79990009999"}}},
		{"GET", p + "/dialog/dialogs-group-initial-status?task_uuid=" + f.TaskUUID, nil},
		{"GET", p + "/dialog/dialogs-group-initial-result?task_uuid=" + f.TaskUUID, nil},
		{"GET", p + "/queue/dialog" + q + "&limit=10&offset=0", nil},
		{"GET", p + "/queue/call" + q + "&limit=10&offset=0", nil},
		{"POST", p + "/queue/stop" + q, nil},
		{"POST", p + "/queue/return" + q, nil},
		{"POST", p + "/queue/remove" + q + "&dialog_uuid=" + f.QueuedUUID, nil},
		{"GET", p + "/selection" + q, nil},
		{"GET", p + "/statistic/dialog?dialog_uuid=" + f.DialogUUID, nil},
		{"GET", p + "/statistic/dialog-group?bulk_uuid=" + f.BulkUUID, nil},
		{"POST", p + "/statistic/dialog-report", map[string]any{"agent_uuid": f.AgentUUID, "start": "2020-01-01 00:00:00", "end": "2099-01-01 00:00:00"}},
		{"GET", p + "/statistic/download/call?call_uuid=" + f.CallUUID, nil},
		{"GET", p + "/statistic/" + f.CallUUID + "/transcription?type=json", nil},
		{"GET", p + "/trunks?company_uuid=" + f.CompanyUUID, nil},
		{"POST", p + "/trunks", map[string]any{"name": "new trunk", "host": "10.0.0.1", "port": 5080, "transport": "tcp", "username": "u", "password": "p",
			"caller_id": "74950000000", "codecs": "PCMA", "ring_timeout": 20, "company_uuid": f.CompanyUUID}},
		{"GET", p + "/trunks/" + url.PathEscape(f.TrunkName), nil},
		{"PUT", p + "/trunks/" + url.PathEscape(f.TrunkName), map[string]any{"host": "10.0.0.2", "port": "5070", "transport": "tcp", "username": "u2",
			"password": "p2", "caller_id": "74950000001", "codecs": "PCMU", "ring_timeout_s": 25, "company_uuid": f.CompanyUUID}},
		{"DELETE", p + "/trunks/" + url.PathEscape(f.TrunkName), nil},
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
		switch {
		case r.Method == "PUT" && path == p+"/agent-settings/credentials/"+f.CredentialUUID:
			key = "PUT " + p + "/agent-settings/credentials/{credential_uuid}"
		case strings.HasSuffix(path, "/transcription"):
			key = "GET " + p + "/statistic/{call_uuid}/transcription"
		case strings.HasPrefix(path, p+"/trunks/"):
			key = r.Method + " " + p + "/trunks/{name}"
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
