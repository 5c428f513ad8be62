package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestThreeProcessesShareTheChannelLimit runs three `parley serve`
// processes on one PostgreSQL database and checks, by sampling the calls
// table while they dial, that together they never hold more live calls than
// the agent's total_channel_limit of 5, and that every dialog is called
// exactly once.
func TestThreeProcessesShareTheChannelLimit(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	c := adminJSON(t, dsn, "create-company", "--name", "Acme")
	cu := c["company_uuid"].(string)
	adminJSON(t, dsn, "create-user", "--company", cu, "--login", "api1", "--password", "s3cret-pass", "--role", "api")
	agentUUID := adminJSON(t, dsn, "create-agent", "--company", cu, "--name", "Bot")["agent_uuid"].(string)

	env := []string{"PARLEY_SIM_PACE=0.2"} // calls of a few hundred milliseconds
	var bases []string
	for range 3 {
		_, base := startServe(t, dsn, env...)
		bases = append(bases, base)
	}
	token := loginHTTP(t, bases[0], "api1", "s3cret-pass")
	q := "?agent_uuid=" + agentUUID
	if st := call(t, bases[1], token, "PUT", "/api/v2/ext/agent-settings/general"+q, map[string]any{"total_channel_limit": 0}, nil); st != 200 {
		t.Fatalf("settings: %d", st)
	}
	const n = 40
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{"msisdn": fmt.Sprintf("+7999%07d", i), "sim_say": `["yes"]`}
	}
	var up struct {
		TaskUUID string `json:"task_uuid"`
	}
	if st := call(t, bases[2], token, "POST", "/api/v2/ext/dialog/dialogs-group-initial"+q, rows, &up); st != 200 {
		t.Fatalf("upload: %d", st)
	}
	waitUntil(t, "the upload", 30*time.Second, func() bool {
		return countRows(t, dsn, `SELECT COUNT(*) FROM dialogs`) == n
	})
	// Open five channels; all three processes now race for the dialogs.
	if st := call(t, bases[0], token, "PUT", "/api/v2/ext/agent-settings/general"+q, map[string]any{"total_channel_limit": 5}, nil); st != 200 {
		t.Fatalf("settings: %d", st)
	}
	db := openStore(t, dsn)
	maxLive, samples := 0, 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		var live, done, owners int
		if err := db.Reader().QueryRow(t.Context(), `SELECT
				(SELECT COUNT(*) FROM calls WHERE status = 'live'),
				(SELECT COUNT(*) FROM dialogs WHERE status = 'done'),
				(SELECT COUNT(DISTINCT lease_owner) FROM dialogs WHERE lease_owner <> '')`).Scan(&live, &done, &owners); err != nil {
			t.Fatal(err)
		}
		samples++
		maxLive = max(maxLive, live)
		if live > 5 {
			t.Fatalf("%d live calls across the processes, limit 5", live)
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d dialogs done", done, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := countRows(t, dsn, `SELECT COUNT(*) FROM calls`); got != n {
		t.Errorf("%d calls for %d dialogs: some dialog was called twice", got, n)
	}
	if got := countRows(t, dsn, `SELECT COUNT(DISTINCT dialog_id) FROM calls`); got != n {
		t.Errorf("%d dialogs called, want %d", got, n)
	}
	t.Logf("max live calls seen in %d samples: %d", samples, maxLive)
}
