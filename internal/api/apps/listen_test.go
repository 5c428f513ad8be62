package apps_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestChatListenTimeout: a script whose s.listen names a timeout a call
// would refuse (600 s) is stored, and serves a chat, where the timeout
// does not apply: it greets, hears the end user and answers, and the chat
// stays with it instead of being escalated.
func TestChatListenTimeout(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Shop")
		must(t, env.Do(t, "PUT", "/api/v2/ext/agent-settings/script?agent_uuid="+tn.AgentUUID, tn.Token, map[string]any{"name": "main",
			"source": "def main(s):\n    s.say(\"What is your order number?\")\n    order = s.listen(timeout = 600)\n    s.say(\"Order %s is on its way.\" % order)\n    s.listen(timeout = 3600)\n"}), 200)
		var menu struct {
			ID int64 `json:"id"`
		}
		must(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "Orders", "agent_uuid": tn.AgentUUID}), 201).JSON(t, &menu)
		var c chatObj
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{"menu_id": menu.ID},
			"end_user": map[string]any{"phone": "+390612345"}}), 201).JSON(t, &c)
		run := func() {
			if err := env.Agentic.RunChat(context.Background(), tn.CompanyID, c.ID); err != nil {
				t.Fatalf("run the chat's virtual agent: %v", err)
			}
		}
		run()
		must(t, env.Do(t, "POST", fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID), tn.Token,
			map[string]any{"message": map[string]any{"type": "text", "content": "A-42"}}), 200)
		run()
		var m v1Messages
		must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/messages", c.ID), tn.Token, nil), 200).JSON(t, &m)
		if len(m.Messages) != 3 || m.Messages[2].SenderType != "virtual_agent" || m.Messages[2].Content != "Order A-42 is on its way." {
			t.Fatalf("messages %+v", m.Messages)
		}
		var got chatObj
		must(t, env.Do(t, "GET", fmt.Sprintf("/apps/api/v1/chats/%d", c.ID), tn.Token, nil), 200).JSON(t, &got)
		if got.Status != "va_assigned" || got.EscalationID != nil {
			t.Fatalf("the chat left its virtual agent: %+v", got)
		}
	})
}
