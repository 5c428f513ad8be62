package ext_test

import (
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

type general struct {
	AgentUUID           string   `json:"agent_uuid"`
	CompanyUUID         string   `json:"company_uuid"`
	Name                string   `json:"name"`
	Delay               string   `json:"delay"`
	RecallCount         int      `json:"recall_count"`
	TrunkName           string   `json:"trunk_name"`
	Flag                string   `json:"flag"`
	RoutingChannelLimit int      `json:"routing_channel_limit"`
	TotalChannelLimit   int      `json:"total_channel_limit"`
	PoolName            string   `json:"pool_name"`
	Language            string   `json:"language"`
	ASR                 string   `json:"asr"`
	TTS                 string   `json:"tts"`
	Speed               *float64 `json:"speed"`
	Timezone            string   `json:"timezone"`
}

func TestAgentGeneralSettings(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		url := ext.Prefix + "/agent-settings/general?agent_uuid=" + ten.AgentUUID

		var g general
		mustStatus(t, env.Do(t, "GET", url, ten.Token, nil), 200).JSON(t, &g)
		if g.AgentUUID != ten.AgentUUID || g.Name != ten.AgentName || g.Timezone != "Europe/Moscow" || g.CompanyUUID != ten.CompanyUUID || g.Speed != nil {
			t.Fatalf("GET general: %+v", g)
		}

		// Editable settings change (numbers may come quoted, as the seed
		// shows); read-only ones sent alongside are ignored.
		res := mustStatus(t, env.Do(t, "PUT", url, ten.Token, map[string]any{
			"delay": "01:30", "recall_count": "3", "flag": "vip", "routing_channel_limit": 2, "total_channel_limit": "7",
			"language": "ru-ru", "asr": "yandex", "tts": "alena@yandex", "company_uuid": ten.CompanyUUID,
			"name": "renamed", "trunk_name": "other", "pool_name": "other", "timezone": "Asia/Tokyo",
		}), 200)
		var put map[string]any
		res.JSON(t, &put)
		want := map[string]any{"delay": "01:30", "recall_count": 3.0, "flag": "vip", "routing_channel_limit": 2.0,
			"total_channel_limit": 7.0, "language": "ru-RU", "asr": "yandex", "tts": "alena@yandex", "company_uuid": ten.CompanyUUID}
		for k, v := range want {
			if put[k] != v {
				t.Errorf("PUT answer %s = %v, want %v", k, put[k], v)
			}
		}
		if len(put) != len(want) {
			t.Errorf("PUT answer has fields %v, want exactly %v", put, want)
		}
		mustStatus(t, env.Do(t, "GET", url, ten.Token, nil), 200).JSON(t, &g)
		if g.Delay != "01:30" || g.RecallCount != 3 || g.TotalChannelLimit != 7 || g.Language != "ru-RU" || g.TTS != "alena@yandex" {
			t.Errorf("settings not stored: %+v", g)
		}
		if g.Name != ten.AgentName || g.TrunkName != "sim" || g.PoolName != "default" || g.Timezone != "Europe/Moscow" {
			t.Errorf("read-only settings changed by PUT: %+v", g)
		}

		// Invalid values are refused with 409 and change nothing.
		for _, body := range []map[string]any{
			{"delay": "90"}, {"delay": "1:30"}, {"delay": "01:60"}, {"recall_count": -1}, {"recall_count": 1.5},
			{"recall_count": "three"}, {"total_channel_limit": -5}, {"routing_channel_limit": 1e12},
			{"language": "klingon-xx-yy-zz"}, {"language": ""}, {"tts": "alena"}, {"tts": "alena@acme"},
			{"asr": "whisper"}, {"asr": "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10"},
		} {
			r := env.Do(t, "PUT", url, ten.Token, body)
			if r.Status != 409 {
				t.Errorf("PUT %v: status %d, want 409: %s", body, r.Status, r.Body)
			}
		}
		var after general
		mustStatus(t, env.Do(t, "GET", url, ten.Token, nil), 200).JSON(t, &after)
		if after != g {
			t.Errorf("rejected PUTs changed settings: %+v -> %+v", g, after)
		}

		// Moving an agent to another company is refused.
		other := env.NewTenant(t, "Other")
		mustStatus(t, env.Do(t, "PUT", url, ten.Token, map[string]any{"company_uuid": other.CompanyUUID}), 403)

		// An ASR credential of the agent may be named by UUID.
		var cred struct {
			UUID string `json:"uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/agent-settings/credentials?agent_uuid="+ten.AgentUUID, ten.Token,
			map[string]any{"name": "g", "platform": "google", "key_type": "asr", "value": "k"}), 201).JSON(t, &cred)
		mustStatus(t, env.Do(t, "PUT", url, ten.Token, map[string]any{"asr": cred.UUID}), 200)
	})
}

func TestCompanyAgents(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		other := env.NewTenant(t, "Other")

		var created general
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/company-agents", ten.Token,
			map[string]any{"name": "Second", "timezone": "America/New_York", "language": "en-GB"}), 201).JSON(t, &created)
		if created.Name != "Second" || created.Timezone != "America/New_York" || created.Language != "en-GB" || created.AgentUUID == "" {
			t.Fatalf("created agent: %+v", created)
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/company-agents", ten.Token, map[string]any{"name": "x", "timezone": "Mars/Base"}), 409)
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/company-agents", ten.Token, map[string]any{"name": "  "}), 409)

		var list []struct {
			AgentUUID string `json:"agent_uuid"`
			Name      string `json:"name"`
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents?company_uuid="+ten.CompanyUUID, ten.Token, nil), 200).JSON(t, &list)
		if len(list) != 2 || list[0].AgentUUID != ten.AgentUUID || list[1].AgentUUID != created.AgentUUID {
			t.Fatalf("company agents: %+v", list)
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents?limit=1&offset=1", ten.Token, nil), 200).JSON(t, &list)
		if len(list) != 1 || list[0].Name != "Second" {
			t.Fatalf("paged company agents: %+v", list)
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents?company_uuid="+other.CompanyUUID, ten.Token, nil), 403)
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents?limit=-1", ten.Token, nil), 409)
	})
}

func TestCredentials(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		base := ext.Prefix + "/agent-settings/credentials"
		q := "?agent_uuid=" + ten.AgentUUID

		type cred struct {
			UUID      string `json:"uuid"`
			Name      string `json:"name"`
			Platform  string `json:"platform"`
			AgentUUID string `json:"agent_uuid"`
			KeyType   string `json:"key_type"`
			Value     string `json:"value"`
		}
		var asr, tts cred
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "google asr", "platform": "google", "key_type": "asr", "value": "AIzaSecretKey1234"}), 201).JSON(t, &asr)
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "yandex tts", "platform": "yandex", "key_type": "tts", "value": "y0_secret_9876"}), 201).JSON(t, &tts)
		if asr.Value != "********1234" || asr.AgentUUID != ten.AgentUUID || asr.KeyType != "asr" {
			t.Fatalf("created credential: %+v", asr)
		}

		var list struct {
			Data []cred `json:"data"`
		}
		mustStatus(t, env.Do(t, "GET", base+q, ten.Token, nil), 200).JSON(t, &list)
		if len(list.Data) != 2 {
			t.Fatalf("credentials: %+v", list)
		}
		mustStatus(t, env.Do(t, "GET", base+q+"&key_type=tts", ten.Token, nil), 200).JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].UUID != tts.UUID || list.Data[0].Value != "********9876" {
			t.Fatalf("tts credentials: %+v", list)
		}
		mustStatus(t, env.Do(t, "GET", base+q+"&key_type=sms", ten.Token, nil), 409)

		// Sending back what was read keeps the stored key; a new value
		// replaces it.
		var edited cred
		mustStatus(t, env.Do(t, "PUT", base+"/"+asr.UUID, ten.Token, map[string]any{
			"uuid": asr.UUID, "name": "renamed", "platform": "google", "agent_uuid": ten.AgentUUID, "key_type": "asr", "value": asr.Value,
		}), 200).JSON(t, &edited)
		if edited.Name != "renamed" || edited.Value != "********1234" {
			t.Fatalf("edited credential: %+v", edited)
		}
		mustStatus(t, env.Do(t, "PUT", base+"/"+asr.UUID, ten.Token, map[string]any{"value": "brand-new-key-5555"}), 200).JSON(t, &edited)
		if edited.Value != "********5555" || edited.Name != "renamed" {
			t.Fatalf("re-keyed credential: %+v", edited)
		}
		mustStatus(t, env.Do(t, "PUT", base+"/"+asr.UUID, ten.Token, map[string]any{"uuid": tts.UUID}), 409)
		mustStatus(t, env.Do(t, "PUT", base+"/"+asr.UUID, ten.Token, map[string]any{"key_type": "sms"}), 409)
		mustStatus(t, env.Do(t, "PUT", base+"/"+asr.UUID, ten.Token, map[string]any{"agent_uuid": "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10"}), 409)
		mustStatus(t, env.Do(t, "PUT", base+"/6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10", ten.Token, map[string]any{"name": "x"}), 404)
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "x", "platform": "acme", "key_type": "asr", "value": "v"}), 409)
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "x", "platform": "google", "key_type": "asr"}), 409)
	})
}
