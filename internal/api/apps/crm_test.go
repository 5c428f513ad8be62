package apps_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestEndUserUpdateReachesCRMWebhook: POST /chats/{id}/end-user emits an
// end_user.updated event that a CRM webhook subscribed to it receives,
// signed, with the new contact data; chat events of other types do not
// reach it.
func TestEndUserUpdateReachesCRMWebhook(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := whStart(t, dsn)
		tn := env.NewTenant(t, "Crm")
		rc := whNewReceiver(t, whAlways(200))
		hook := whCreate(t, env, tn.Token, map[string]any{"url": rc.URL + "/crm", "events": []string{"end_user.updated"}})
		var c chatObj
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{"lang": "en"},
			"end_user": map[string]any{"phone": "+100"}}), 201).JSON(t, &c)
		must(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID), tn.Token,
			map[string]any{"message": map[string]any{"content": "hello"}}), 200)
		must(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/end-user", c.ID), tn.Token,
			map[string]any{"identifier": "+100", "name": "Maria Bianchi", "email": "maria@example.com", "phone": "+100"}), 200)
		whEventually(t, "the CRM webhook call", func() bool { return len(rc.requests()) >= 1 })
		got := rc.requests()
		whVerify(t, hook.Secret, got[0])
		var payload struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(got[0].Body, &payload); err != nil {
			t.Fatal(err)
		}
		if payload.Type != "end_user.updated" || payload.Data["name"] != "Maria Bianchi" || payload.Data["email"] != "maria@example.com" ||
			payload.Data["identifier"] != "+100" || payload.Data["chat_id"] != float64(c.ID) {
			t.Fatalf("CRM payload %s", got[0].Body)
		}
		if len(got) != 1 {
			t.Fatalf("%d webhook calls, want 1 (only end_user.updated is subscribed)", len(got))
		}
	})
}
