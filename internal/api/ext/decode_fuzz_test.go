package ext

import (
	"errors"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
)

// FuzzDecodeRequest feeds arbitrary bytes to the decoder of every request
// body of the family, then through the conversions and validations that
// need no database. Nothing may panic, and every failure must be a domain
// error (which the adapter turns into a 4xx), never a raw one (a 500).
// `go test` runs the seed corpus below; `go test -fuzz FuzzDecodeRequest`
// explores further.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"delay":"01:30","recall_count":"3","flag":"x","company_uuid":"c","routing_channel_limit":2,"total_channel_limit":"7","language":"ru-RU","asr":"yandex","tts":"alena@yandex"}`,
		`{"recall_count": 1e400}`, `{"recall_count": "-0"}`, `{"recall_count": " 12 "}`, `{"recall_count": null}`,
		`{"time_slot_uuid":"0b6c2f55-8a3d-4b7e-9f10-2a1b3c4d5e6f","day":1,"not_before":"22:00","not_after":"02:00"}`,
		`{"day":"7","not_before":"24:00","not_after":"2a:00"}`,
		`{"entities":[{"name":"msisdn","synthesis":true,"number_cell":"2"},{"name":"","entity_type":"date"}]}`,
		`{"output_entities_uuid":["x"],"entities":null}`, `{"initial_entities_uuid":[1,2]}`,
		`{"uuid":"u","name":"n","platform":"google","agent_uuid":"a","key_type":"asr","value":"v"}`,
		`{"refresh_token":"a.b.c"}`, `[]`, `null`, `"str"`, `{"a":`, `{} {}`, "\xff\xfe", `{"name":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(what string, err error) {
			var pe *parley.Error
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("%s: non-domain error %T: %v", what, err, err)
			}
		}
		var g generalUpdate
		if err := api.DecodeBytes(body, &g); err != nil {
			check("general", err)
		} else {
			u := g.domain()
			if u.Delay != nil {
				_, err := agent.ParseDelay(*u.Delay)
				check("delay", err)
			}
			if u.Language != nil {
				_, err := agent.CanonicalLanguage(*u.Language)
				check("language", err)
			}
		}
		var s timeSlotBody
		if err := api.DecodeBytes(body, &s); err != nil {
			check("time slot", err)
		} else if _, err := slotFromBody(s); err != nil {
			check("time slot fields", err)
		}
		var b bulkBody
		if err := api.DecodeBytes(body, &b); err != nil {
			check("bulk", err)
		} else {
			for _, e := range b.Entities {
				_ = e.newEntity()
			}
		}
		var c credentialBody
		check("credential", api.DecodeBytes(body, &c))
		var a newAgentBody
		if err := api.DecodeBytes(body, &a); err != nil {
			check("agent", err)
		} else if a.Timezone != "" {
			check("timezone", agent.ValidTimezone(a.Timezone))
		}
	})
}
