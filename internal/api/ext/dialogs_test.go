package ext_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/testenv"
)

// branchingScript asks a question and fills outputs according to the answer.
const branchingScript = `
def main(s):
    s.say("Hello " + s.entities.get("name", "there") + ", will you pay today?")
    a = s.listen(timeout=5, expect=["yes", "no"])
    if a == None:
        s.set("answer", "silent")
    elif "yes" in a:
        s.set("answer", "yes")
        s.say("Thank you, goodbye.")
    else:
        s.set("answer", "no")
        s.say("Why not?")
        r = s.listen(timeout=5)
        s.set("reason", r or "")
    s.hangup()
`

// setupDialogAgent gives a tenant's agent entities and the branching script.
func setupDialogAgent(t *testing.T, env *testenv.Env, ten *testenv.Tenant) {
	t.Helper()
	q := "?agent_uuid=" + ten.AgentUUID
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/initial-entity/bulk"+q, ten.Token, map[string]any{"entities": []any{
		map[string]any{"name": "msisdn"}, map[string]any{"name": "name", "synthesis": true}}}), 200)
	mustStatus(t, env.Do(t, "POST", ext.Prefix+"/output-entity/bulk"+q, ten.Token, map[string]any{"entities": []any{
		map[string]any{"name": "answer"}, map[string]any{"name": "reason"}}}), 200)
	mustStatus(t, env.Do(t, "PUT", ext.Prefix+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "main", "source": branchingScript}), 200)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDialogsEndToEnd(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		setupDialogAgent(t, env, ten)
		q := "?agent_uuid=" + ten.AgentUUID

		// A script that does not compile is refused with its position.
		res := mustStatus(t, env.Do(t, "PUT", ext.Prefix+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "bad", "source": "def main(s):\n    s.say(\"x\"\n"}), 409)
		if !strings.Contains(string(res.Body), "line 3") {
			t.Errorf("compile error without its line: %s", res.Body)
		}

		// One dialog, answered "yes".
		var one struct {
			DialogUUID string `json:"dialog_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialog-initial"+q, ten.Token, map[string]any{
			"msisdn": "+7 (999) 123-12-12", "script_name": "main", "name": "John", "sim_say": []string{"yes, sure"}}), 200).JSON(t, &one)

		// A group: one "no" with a reason, one silent, and two bad rows
		// that fail alone.
		var group struct {
			BulkUUID string `json:"bulk_uuid"`
			TaskUUID string `json:"task_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/dialog/dialogs-group-initial"+q+"&with_selection=true&selection_name=November", ten.Token, []any{
			map[string]any{"phone": "79991230001", "name": "Ann", "sim_say": `["no", "too expensive"]`},
			map[string]any{"msisdn": "79991230002"},
			map[string]any{"name": "no number"},
			map[string]any{"msisdn": "79991230004", "favourite_colour": "red"},
			"not an object",
		}), 200).JSON(t, &group)

		var status struct {
			State string `json:"state"`
			Info  string `json:"info"`
		}
		waitFor(t, "the import task", func() bool {
			mustStatus(t, env.Do(t, "GET", ext.Prefix+"/dialog/dialogs-group-initial-status?task_uuid="+group.TaskUUID, ten.Token, nil), 200).JSON(t, &status)
			return status.State == "done"
		})
		if status.Info != "5 of 5 rows processed, 3 failed" {
			t.Errorf("status info %q", status.Info)
		}
		var results []struct {
			Status     bool   `json:"status"`
			MSISDN     string `json:"msisdn"`
			Message    string `json:"message"`
			DialogUUID string `json:"dialog_uuid"`
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/dialog/dialogs-group-initial-result?task_uuid="+group.TaskUUID, ten.Token, nil), 200).JSON(t, &results)
		if len(results) != 5 || !results[0].Status || !results[1].Status || results[2].Status || results[3].Status || results[4].Status {
			t.Fatalf("per-row results: %+v", results)
		}
		if results[0].MSISDN != "79991230001" || results[0].DialogUUID == "" || !strings.Contains(results[2].Message, "msisdn") ||
			!strings.Contains(results[3].Message, "favourite_colour") || results[3].MSISDN != "79991230004" {
			t.Errorf("per-row results: %+v", results)
		}

		stats := func(dialogUUID string) map[string]any {
			var rows []map[string]any
			waitFor(t, "dialog "+dialogUUID+" to finish", func() bool {
				r := env.Do(t, "GET", ext.Prefix+"/statistic/dialog?dialog_uuid="+dialogUUID, ten.Token, nil)
				if r.Status == 404 {
					var e struct{ Message string }
					r.JSON(t, &e)
					if !strings.HasPrefix(e.Message, "No data for dialog report") {
						t.Fatalf("404 message %q", e.Message)
					}
					return false
				}
				mustStatus(t, r, 200).JSON(t, &rows)
				return true
			})
			return rows[0]
		}
		yes := stats(one.DialogUUID)
		if yes["answer"] != "yes" || yes["msisdn"] != "+79991231212" || yes["msisnd"] != "+79991231212" || yes["status"] != "done" || yes["result"] != "hangup" {
			t.Errorf("yes dialog stats: %v", yes)
		}
		no := stats(results[0].DialogUUID)
		if no["answer"] != "no" || no["reason"] != "too expensive" {
			t.Errorf("no dialog stats: %v", no)
		}
		silent := stats(results[1].DialogUUID)
		if silent["answer"] != "silent" {
			t.Errorf("silent dialog stats: %v", silent)
		}

		var groupRows []map[string]any
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/dialog-group?bulk_uuid="+group.BulkUUID, ten.Token, nil), 200).JSON(t, &groupRows)
		if len(groupRows) != 2 {
			t.Errorf("group stats: %v", groupRows)
		}

		var report struct {
			Result []map[string]any `json:"result"`
			Total  int              `json:"total"`
		}
		window := map[string]any{"agent_uuid": ten.AgentUUID, "start": time.Now().UTC().Add(-time.Hour).Format("2006-01-02 15:04:05.000000"),
			"end": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05")}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/statistic/dialog-report", ten.Token, window), 200).JSON(t, &report)
		if report.Total != 3 || len(report.Result) != 3 || report.Result[0]["call_uuid"] == "" {
			t.Errorf("report: %+v", report)
		}
		window["limit"], window["offset"] = 2, 2
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/statistic/dialog-report", ten.Token, window), 200).JSON(t, &report)
		if report.Total != 3 || len(report.Result) != 1 {
			t.Errorf("report page 2: %+v", report)
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/statistic/dialog-report", ten.Token, map[string]any{"agent_uuid": ten.AgentUUID, "start": "yesterday", "end": "2026-01-01 00:00:00"}), 409)

		// The recording holds both legs; the transcript both sides' turns.
		callUUID := yes["call_uuid"].(string)
		var rec struct {
			FileName string `json:"file_name"`
			Data     string `json:"data"`
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/download/call?call_uuid="+callUUID, ten.Token, nil), 200).JSON(t, &rec)
		wav, err := base64.StdEncoding.DecodeString(rec.Data)
		if err != nil || rec.FileName != callUUID+".wav" {
			t.Fatalf("recording: %v %q", err, rec.FileName)
		}
		rate, channels, err := audio.DecodeWAV(bytes.NewReader(wav))
		if err != nil || rate != audio.Rate || len(channels) != 2 || energy(channels[0]) == 0 || energy(channels[1]) == 0 {
			t.Fatalf("recording: rate %d, %d channels, err %v", rate, len(channels), err)
		}
		missing := "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10"
		res = mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/download/call?call_uuid="+missing, ten.Token, nil), 404)
		if !strings.Contains(string(res.Body), "Cannot find dialog for call_uuid "+missing) {
			t.Errorf("missing recording: %s", res.Body)
		}

		var tr struct {
			Data []struct {
				ActionAlias string          `json:"action_alias"`
				CallUUID    string          `json:"call_uuid"`
				DialogUUID  string          `json:"dialog_uuid"`
				AgentUUID   string          `json:"agent_uuid"`
				Data        json.RawMessage `json:"data"`
			} `json:"data"`
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/"+callUUID+"/transcription?type=json", ten.Token, nil), 200).JSON(t, &tr)
		var actions []string
		for _, d := range tr.Data {
			actions = append(actions, d.ActionAlias)
			if d.CallUUID != callUUID || d.DialogUUID != one.DialogUUID || d.AgentUUID != ten.AgentUUID {
				t.Fatalf("transcript item: %+v", d)
			}
		}
		if got := strings.Join(actions, ","); got != "dial,answer,say,listen,say,set,hangup" {
			t.Errorf("transcript actions: %s", got)
		}
		text := mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/"+callUUID+"/transcription?type=text", ten.Token, nil), 200)
		if !strings.Contains(string(text.Body), "agent: Hello John, will you pay today?") || !strings.Contains(string(text.Body), "callee: yes, sure") {
			t.Errorf("text transcript:\n%s", text.Body)
		}
		res = mustStatus(t, env.Do(t, "GET", ext.Prefix+"/statistic/"+missing+"/transcription", ten.Token, nil), 404)
		if strings.TrimSpace(string(res.Body)) != `{"data":[]}` {
			t.Errorf("missing transcript: %s", res.Body)
		}

		// Queue views and the selection.
		var queue []map[string]any
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/queue/dialog"+q, ten.Token, nil), 200).JSON(t, &queue)
		if len(queue) != 0 {
			t.Errorf("queue after all calls: %v", queue)
		}
		var calls []map[string]any
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/queue/call"+q+"&limit=2&offset=0", ten.Token, nil), 200).JSON(t, &calls)
		if len(calls) != 2 || calls[0]["date_added"] == "" {
			t.Errorf("calls page: %v", calls)
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/queue/call"+q+"&limit=2&offset=3", ten.Token, nil), 409)
		var sels []map[string]any
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/selection"+q+"&is_completed=true", ten.Token, nil), 200).JSON(t, &sels)
		if len(sels) != 1 || sels[0]["name"] != "November" || sels[0]["dialogs_count"] != 2.0 || sels[0]["is_completed"] != true {
			t.Errorf("selections: %v", sels)
		}
	})
}

func energy(s []int16) int64 {
	var e int64
	for _, v := range s {
		if v < 0 {
			e -= int64(v)
		} else {
			e += int64(v)
		}
	}
	return e
}
