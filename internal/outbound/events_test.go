package outbound_test

import (
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestStateChangesArePublished checks that uploads and calls announce
// themselves on the event bus, scoped to their company.
func TestStateChangesArePublished(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		evs, stop := env.Bus.Subscribe(100)
		defer stop()
		ten := env.NewTenant(t, "Acme")
		var up struct {
			TaskUUID string `json:"task_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext+"/dialog/dialogs-group-initial?agent_uuid="+ten.AgentUUID, ten.Token,
			[]any{map[string]any{"msisdn": "79990000001"}}), 200).JSON(t, &up)

		want := map[string]bool{"import.done": false, "call.started": false, "call.ended": false, "dialog.done": false}
		seen := 0
		timeout := time.After(30 * time.Second)
		for seen < len(want) {
			select {
			case ev := <-evs:
				if ev.CompanyID != ten.CompanyID {
					t.Fatalf("event %s for company %d, want %d", ev.Type, ev.CompanyID, ten.CompanyID)
				}
				if done, ok := want[ev.Type]; ok && !done {
					want[ev.Type] = true
					seen++
				}
				if ev.Type == "import.done" && (ev.Subject != up.TaskUUID || ev.Data["processed_rows"] != 1) {
					t.Errorf("import.done event: %+v", ev)
				}
			case <-timeout:
				t.Fatalf("events seen: %v", want)
			}
		}
	})
}
