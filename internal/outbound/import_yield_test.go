package outbound_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestImportYieldsToOtherTenantsWrites: while one tenant's large import
// runs, another tenant's message post is stored and acknowledged before
// the import is done: the import's batches queue behind interactive
// writes (SQLite's one writer) instead of ahead of them. No timing is
// asserted, only the order.
func TestImportYieldsToOtherTenantsWrites(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		importer, other := env.NewTenant(t, "Importer"), env.NewTenant(t, "Other")
		var c struct {
			ClientID int64 `json:"client_id"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/clients", other.Token, map[string]any{"name": "client"}), 201).JSON(t, &c)
		var ch struct {
			ChatID int64 `json:"chat_id"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/chats", other.Token, map[string]any{"client_id": c.ClientID}), 201).JSON(t, &ch)
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/general?agent_uuid="+importer.AgentUUID, importer.Token,
			map[string]any{"total_channel_limit": 0}), 200)

		const n = 20_000
		rows := make([]map[string]any, n)
		for i := range rows {
			rows[i] = map[string]any{"msisdn": fmt.Sprintf("+7999%07d", i)}
		}
		body, _ := json.Marshal(rows)
		var up struct {
			TaskUUID string `json:"task_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext+"/dialog/dialogs-group-initial?agent_uuid="+importer.AgentUUID, importer.Token, json.RawMessage(body)), 200).JSON(t, &up)
		type status struct {
			State     string `json:"state"`
			Processed int    `json:"processed_rows"`
		}
		read := func() status {
			var st status
			mustStatus(t, env.Do(t, "GET", ext+"/dialog/dialogs-group-initial-status?task_uuid="+up.TaskUUID, importer.Token, nil), 200).JSON(t, &st)
			return st
		}
		for st := read(); st.Processed == 0; st = read() {
			if st.State == "done" || st.State == "failed" {
				t.Fatalf("the import ended before it was seen running: %+v", st)
			}
			time.Sleep(5 * time.Millisecond)
		}
		mustStatus(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", ch.ChatID), other.Token,
			map[string]any{"sender_type": "client", "content": "still here"}), 201)
		if st := read(); st.State == "done" || st.Processed >= n {
			t.Errorf("the message post was answered only after the import: %+v", st)
		}
		for st := read(); st.State != "done"; st = read() {
			if st.State == "failed" {
				t.Fatalf("import failed: %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
