package ext_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestScriptMemoryLimitOnCall: a call's script that asks for gigabytes in
// one step ([0] * 100000000 took 1.6 GB) fails its dialog with the memory
// limit in its transcript, and the node carries on: the next dialog, with
// a sane script, is called and completes.
func TestScriptMemoryLimitOnCall(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		q := "?agent_uuid=" + ten.AgentUUID
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/initial-entity"+q, ten.Token, map[string]any{"name": "msisdn"}), 201)
		mustStatus(t, env.Do(t, "PUT", ext.Prefix+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "hog",
			"source": "def main(s):\n    s.say(\"Hello.\")\n    keep = [0] * 100000000\n    s.say(\"never said\")\n"}), 200)
		mustStatus(t, env.Do(t, "PUT", ext.Prefix+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "ok",
			"source": "def main(s):\n    s.say(\"Goodbye.\")\n    s.hangup()\n"}), 200)

		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var hog, ok struct {
			DialogUUID string `json:"dialog_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialog-initial"+q, ten.Token, map[string]any{
			"msisdn": "79990000001", "script_name": "hog"}), 200).JSON(t, &hog)
		calls := func() []map[string]any {
			var c []map[string]any
			mustStatus(t, env.Do(t, "GET", ext.Prefix+"/queue/call"+q, ten.Token, nil), 200).JSON(t, &c)
			return c
		}
		var call map[string]any
		waitFor(t, "the hog's call to end", func() bool {
			for _, c := range calls() {
				if c["dialog_uuid"] == hog.DialogUUID && c["result"] != nil && c["result"] != "" {
					call = c
					return true
				}
			}
			return false
		})
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if call["result"] != "failed" {
			t.Fatalf("the hog's call: %v", call)
		}
		text := mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/"+call["uuid"].(string)+"/transcription?type=text", ten.Token, nil), 200)
		if !strings.Contains(string(text.Body), "memory limit exceeded: a list of 100000000 × 1 elements would take this run past its 64 MiB of memory") ||
			strings.Contains(string(text.Body), "never said") {
			t.Errorf("the hog's transcript:\n%s", text.Body)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<30 {
			t.Errorf("the process allocated %d MiB during the call", grew>>20)
		}

		// The node lives: the next dialog is called as usual.
		mustStatus(t, env.Do(t, "GET", "/healthz", "", nil), 200)
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialog-initial"+q, ten.Token, map[string]any{
			"msisdn": "79990000002", "script_name": "ok"}), 200).JSON(t, &ok)
		waitFor(t, "the next call", func() bool {
			for _, c := range calls() {
				if c["dialog_uuid"] == ok.DialogUUID && c["result"] == "hangup" {
					return true
				}
			}
			return false
		})
	})
}
