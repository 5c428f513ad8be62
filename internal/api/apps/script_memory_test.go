package apps_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestScriptMemoryLimitInChat: a chat's virtual agent whose script asks
// for gigabytes on the end user's answer fails past its memory budget; the
// chat is handed to a human (escalated), the failure is logged with the
// limit's words, and the node carries on serving.
func TestScriptMemoryLimitInChat(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		logs := &lockedBuffer{}
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
			c.Log = slog.New(slog.NewTextHandler(logs, nil))
		}})
		tn := env.NewTenant(t, "Shop")
		must(t, env.Do(t, "PUT", "/api/v2/ext/agent-settings/script?agent_uuid="+tn.AgentUUID, tn.Token, map[string]any{"name": "main",
			"source": "def main(s):\n    s.say(\"Hi! What is your order number?\")\n    order = s.listen()\n    keep = [order] * 100000000\n    s.say(\"never said\")\n"}), 200)
		var menu struct {
			ID int64 `json:"id"`
		}
		must(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "Orders", "agent_uuid": tn.AgentUUID}), 201).JSON(t, &menu)
		var c chatObj
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{
			"chat": map[string]any{"menu_id": menu.ID}, "end_user": map[string]any{"phone": "+390612345"}}), 201).JSON(t, &c)
		chatPath := fmt.Sprintf("/apps/api/v1/chats/%d", c.ID)
		messages := func() v1Messages {
			var m v1Messages
			must(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats/%d/messages", c.ID), tn.Token, nil), 200).JSON(t, &m)
			return m
		}
		eventually(t, "the greeting", func() bool { return len(messages().Messages) == 1 })
		must(t, env.Do(t, "POST", chatPath+"/message", tn.Token, map[string]any{"message": map[string]any{"type": "text", "content": "A-42"}}), 200)
		eventually(t, "the escalation", func() bool {
			must(t, env.Do(t, "GET", chatPath, tn.Token, nil), 200).JSON(t, &c)
			return c.Status == "queued"
		})
		if c.EscalationID == nil || c.VirtualAgent != nil {
			t.Errorf("escalated chat %+v", c)
		}
		for _, m := range messages().Messages {
			if m.Content == "never said" {
				t.Errorf("the script went on past its limit")
			}
		}
		eventually(t, "the log line", func() bool {
			return strings.Contains(logs.String(), "memory limit exceeded: a list of 100000000 × 1 elements would take this run past its 64 MiB of memory")
		})
		must(t, env.Do(t, "GET", "/healthz", "", nil), 200)
		must(t, env.Do(t, "POST", chatPath+"/message", tn.Token, map[string]any{"message": map[string]any{"type": "text", "content": "hello?"}}), 200)
	})
}
