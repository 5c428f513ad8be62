package dialer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

const ext = "/api/v2/ext"

// clock is a settable time for the dialer and the uploads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }
func newClock(t time.Time) *clock    { return &clock{now: t} }
func mustStatus(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// manualEnv starts a server whose dialer only runs when the test ticks it,
// on the test's clock.
func manualEnv(t *testing.T, dsn string, clk *clock) (*testenv.Env, *testenv.Tenant) {
	env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
	env.Dialer.Now = clk.Now
	env.Dialogs.Now = clk.Now
	return env, env.NewTenant(t, "Acme")
}

// tick runs one dialer pass and waits for the calls it started.
func tick(t *testing.T, env *testenv.Env) int {
	t.Helper()
	n, err := env.Dialer.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	env.Dialer.Wait()
	return n
}

func upload(t *testing.T, env *testenv.Env, ten *testenv.Tenant, agentUUID string, row map[string]any) string {
	t.Helper()
	var out struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext+"/dialog/dialog-initial?agent_uuid="+agentUUID, ten.Token, row), 200).JSON(t, &out)
	return out.DialogUUID
}

type queued struct {
	UUID     string `json:"uuid"`
	Status   string `json:"status"`
	Result   string `json:"result"`
	Attempts int    `json:"attempts"`
}

func queue(t *testing.T, env *testenv.Env, ten *testenv.Tenant, agentUUID string) []queued {
	t.Helper()
	var q []queued
	mustStatus(t, env.Do(t, "GET", ext+"/queue/dialog?agent_uuid="+agentUUID, ten.Token, nil), 200).JSON(t, &q)
	return q
}

func TestRetriesFollowRecallCountAndDelay(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		clk := newClock(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
		env, ten := manualEnv(t, dsn, clk)
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/general?agent_uuid="+ten.AgentUUID, ten.Token,
			map[string]any{"recall_count": 2, "delay": "00:10"}), 200)
		id := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000001", "sim_answer": "no_answer"})

		for i, step := range []struct {
			advance  time.Duration
			calls    int
			attempts int
			status   string
		}{
			{0, 1, 1, "queued"},                // first attempt, not answered
			{5 * time.Minute, 0, 1, "queued"},  // delay not over yet
			{5 * time.Minute, 1, 2, "queued"},  // first recall
			{10 * time.Minute, 1, 3, "failed"}, // second and last recall
			{time.Hour, 0, 3, "failed"},
		} {
			clk.Add(step.advance)
			if n := tick(t, env); n != step.calls {
				t.Fatalf("step %d: %d calls started, want %d", i, n, step.calls)
			}
			q := queue(t, env, ten, ten.AgentUUID)
			if step.status == "queued" {
				if len(q) != 1 || q[0].Attempts != step.attempts || q[0].Result != "no_answer" {
					t.Fatalf("step %d: queue %+v", i, q)
				}
			} else if len(q) != 0 {
				t.Fatalf("step %d: a failed dialog is still queued: %+v", i, q)
			}
		}
		var stats []map[string]any
		mustStatus(t, env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+id, ten.Token, nil), 200).JSON(t, &stats)
		if stats[0]["status"] != "failed" || stats[0]["result"] != "no_answer" {
			t.Errorf("stats: %v", stats)
		}
		var calls []map[string]any
		mustStatus(t, env.Do(t, "GET", ext+"/queue/call?agent_uuid="+ten.AgentUUID, ten.Token, nil), 200).JSON(t, &calls)
		if len(calls) != 3 {
			t.Errorf("%d calls, want 3", len(calls))
		}

		// busy and fail are retried the same way; an answered call is not.
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/general?agent_uuid="+ten.AgentUUID, ten.Token, map[string]any{"recall_count": 0}), 200)
		busy := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000002", "sim_answer": "busy"})
		ok := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000003"})
		if n := tick(t, env); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
		for id, want := range map[string]string{busy: "failed", ok: "done"} {
			mustStatus(t, env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+id, ten.Token, nil), 200).JSON(t, &stats)
			if stats[0]["status"] != want {
				t.Errorf("dialog %s: %v, want %s", id, stats[0], want)
			}
		}
	})
}

func TestTimeSlotsInAgentZone(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		moscow, _ := time.LoadLocation("Europe/Moscow")
		clk := newClock(time.Date(2026, 11, 20, 21, 0, 0, 0, moscow)) // a Friday
		env, ten := manualEnv(t, dsn, clk)
		mustStatus(t, env.Do(t, "POST", ext+"/agent-settings/time-slot?agent_uuid="+ten.AgentUUID, ten.Token,
			map[string]any{"day": 5, "not_before": "22:00", "not_after": "02:00"}), 201)
		upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000001"})

		if n := tick(t, env); n != 0 {
			t.Fatalf("called at Friday 21:00 with a 22:00-02:00 slot")
		}
		clk.Set(time.Date(2026, 11, 20, 23, 0, 0, 0, moscow))
		if n := tick(t, env); n != 1 {
			t.Fatalf("not called at Friday 23:00")
		}
		upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000002"})
		clk.Set(time.Date(2026, 11, 21, 1, 59, 0, 0, moscow)) // Saturday, after midnight
		if n := tick(t, env); n != 1 {
			t.Fatalf("not called at Saturday 01:59")
		}
		upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000003"})
		clk.Set(time.Date(2026, 11, 21, 2, 0, 0, 0, moscow))
		if n := tick(t, env); n != 0 {
			t.Fatalf("called at Saturday 02:00")
		}

		// DST: a Berlin agent's Sunday 09:00-10:00 slot on the day summer
		// time ends (2026-10-25) follows the local clock.
		var berlin struct {
			AgentUUID string `json:"agent_uuid"`
		}
		mustStatus(t, env.Do(t, "POST", ext+"/company-agents", ten.Token, map[string]any{"name": "Berlin", "timezone": "Europe/Berlin"}), 201).JSON(t, &berlin)
		mustStatus(t, env.Do(t, "POST", ext+"/agent-settings/time-slot?agent_uuid="+berlin.AgentUUID, ten.Token,
			map[string]any{"day": 7, "not_before": "09:00", "not_after": "10:00"}), 201)
		clk.Set(time.Date(2026, 10, 25, 7, 30, 0, 0, time.UTC)) // 08:30 in Berlin after the change (09:30 before it)
		upload(t, env, ten, berlin.AgentUUID, map[string]any{"msisdn": "79990000004"})
		if n := tick(t, env); n != 0 {
			t.Fatalf("called at 08:30 Berlin time")
		}
		clk.Set(time.Date(2026, 10, 25, 8, 30, 0, 0, time.UTC)) // 09:30 in Berlin
		if n := tick(t, env); n != 1 {
			t.Fatalf("not called at 09:30 Berlin time")
		}
	})
}

func TestStopReturnRemove(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		clk := newClock(time.Now())
		env, ten := manualEnv(t, dsn, clk)
		q := "?agent_uuid=" + ten.AgentUUID
		a := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000001"})
		b := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000002"})
		upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000003"})

		res := mustStatus(t, env.Do(t, "POST", ext+"/queue/stop"+q, ten.Token, nil), 200)
		if string(res.Body) != "null\n" {
			t.Errorf("stop answered %q, want null", res.Body)
		}
		if n := tick(t, env); n != 0 {
			t.Fatalf("stopped dialogs were called")
		}
		for _, d := range queue(t, env, ten, ten.AgentUUID) {
			if d.Status != "stopped" {
				t.Fatalf("after stop: %+v", d)
			}
		}
		mustStatus(t, env.Do(t, "POST", ext+"/queue/remove"+q+"&dialog_uuid="+a, ten.Token, nil), 200)
		mustStatus(t, env.Do(t, "POST", ext+"/queue/remove"+q+"&dialog_uuid="+a, ten.Token, nil), 409)
		mustStatus(t, env.Do(t, "POST", ext+"/queue/remove"+q+"&dialog_uuid=6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10", ten.Token, nil), 404)
		mustStatus(t, env.Do(t, "POST", ext+"/queue/return"+q, ten.Token, nil), 200)
		if n := tick(t, env); n != 2 {
			t.Fatalf("%d calls after return, want 2 (one was removed)", n)
		}
		mustStatus(t, env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+b, ten.Token, nil), 200)
		mustStatus(t, env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+a, ten.Token, nil), 404)

		upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000004"})
		upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000005"})
		mustStatus(t, env.Do(t, "POST", ext+"/queue/remove"+q, ten.Token, nil), 200)
		if n := tick(t, env); n != 0 || len(queue(t, env, ten, ten.AgentUUID)) != 0 {
			t.Fatalf("removed dialogs still queued or called")
		}
	})
}

// slowTrunk answers every call and holds it for a while, counting how many
// calls are live at once across every dialer that uses it.
type slowTrunk struct {
	hold     time.Duration
	live     atomic.Int64
	max      atomic.Int64
	total    atomic.Int64
	mu       sync.Mutex
	inFlight map[string]bool
	double   atomic.Int64 // a number dialled while already live
}

func (s *slowTrunk) Dial(ctx context.Context, req dialer.CallRequest) (dialer.Conn, string, error) {
	s.mu.Lock()
	if s.inFlight[req.MSISDN] {
		s.double.Add(1)
	}
	s.inFlight[req.MSISDN] = true
	s.mu.Unlock()
	n := s.live.Add(1)
	for m := s.max.Load(); n > m && !s.max.CompareAndSwap(m, n); m = s.max.Load() {
	}
	s.total.Add(1)
	return &slowConn{t: s, msisdn: req.MSISDN}, dialer.ResultAnswered, nil
}

type slowConn struct {
	t      *slowTrunk
	msisdn string
}

func (c *slowConn) Say(ctx context.Context, text string) error { return nil }
func (c *slowConn) Listen(ctx context.Context, _ time.Duration, _ []string) (string, bool, error) {
	select {
	case <-time.After(c.t.hold):
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
	return "", false, nil
}
func (c *slowConn) Elapsed() time.Duration { return c.t.hold }
func (c *slowConn) Hangup(ctx context.Context) ([]byte, error) {
	c.t.mu.Lock()
	delete(c.t.inFlight, c.msisdn)
	c.t.mu.Unlock()
	c.t.live.Add(-1)
	return nil, nil
}

// TestChannelLimitAcrossProcesses runs three servers (three dialers with
// their own node ids, as three processes would be) on one database and
// checks that together they never exceed the agent's total_channel_limit
// and never call one dialog twice at once.
func TestChannelLimitAcrossProcesses(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		trunk := &slowTrunk{hold: 40 * time.Millisecond, inFlight: map[string]bool{}}
		var envs []*testenv.Env
		for range 3 {
			envs = append(envs, testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
				c.Trunks = map[string]dialer.Trunk{"slow": trunk}
			}}))
		}
		env := envs[0]
		ten := env.NewTenant(t, "Acme")
		ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAdmin})
		a, err := env.Agents.Create(ctx, agent.NewAgent{Name: "slow", TrunkName: "slow"})
		if err != nil {
			t.Fatal(err)
		}
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/general?agent_uuid="+a.UUID, ten.Token, map[string]any{"total_channel_limit": 5}), 200)
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/script?agent_uuid="+a.UUID, ten.Token,
			map[string]any{"name": "main", "source": "def main(s):\n    s.listen(timeout=1)\n"}), 200)
		const n = 60
		rows := make([]any, n)
		for i := range rows {
			rows[i] = map[string]any{"msisdn": fmt.Sprintf("7999%07d", i)}
		}
		mustStatus(t, env.Do(t, "POST", ext+"/dialog/dialogs-group-initial?agent_uuid="+a.UUID, ten.Token, rows), 200)

		deadline := time.Now().Add(60 * time.Second)
		for {
			var calls []map[string]any
			done := 0
			for off := 0; off < 100; off += 100 {
				mustStatus(t, env.Do(t, "GET", fmt.Sprintf("%s/queue/call?agent_uuid=%s&limit=100&offset=%d", ext, a.UUID, off), ten.Token, nil), 200).JSON(t, &calls)
				for _, c := range calls {
					if c["status"] == "ended" {
						done++
					}
				}
			}
			if done == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d calls ended", done, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if m := trunk.max.Load(); m > 5 {
			t.Errorf("%d calls live at once, limit 5", m)
		}
		if d := trunk.double.Load(); d != 0 {
			t.Errorf("%d dialogs were dialled while already live", d)
		}
		if tot := trunk.total.Load(); tot != n {
			t.Errorf("%d calls placed for %d dialogs", tot, n)
		}
		t.Logf("max concurrent calls across 3 dialers: %d", trunk.max.Load())
	})
}

// TestFailingScriptFailsItsDialog checks that a script error marks the
// dialog failed with the script's message, keeps what the script set
// before failing, and leaves the server (and the next dialog) unharmed.
func TestFailingScriptFailsItsDialog(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := manualEnv(t, dsn, newClock(time.Now()))
		q := "?agent_uuid=" + ten.AgentUUID
		mustStatus(t, env.Do(t, "POST", ext+"/output-entity"+q, ten.Token, map[string]any{"name": "step"}), 201)
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "broken",
			"source": "def main(s):\n    s.set(\"step\", \"greeted\")\n    s.set(\"nonexistent\", 1)\n"}), 200)
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/script"+q, ten.Token, map[string]any{"name": "spin",
			"source": "def main(s):\n    while True:\n        pass\n"}), 200)
		broken := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000001", "script_name": "broken"})
		spin := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000002", "script_name": "spin"})
		fine := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": "79990000003"}) // default script
		if n := tick(t, env); n != 3 {
			t.Fatalf("%d calls, want 3", n)
		}
		// A fresh map per read: decoding into a used one would merge keys.
		stat := func(id string) map[string]any {
			var rows []map[string]any
			mustStatus(t, env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+id, ten.Token, nil), 200).JSON(t, &rows)
			return rows[0]
		}
		if s := stat(broken); s["status"] != "failed" || s["result"] != "error" || s["step"] != "greeted" ||
			!strings.Contains(fmt.Sprint(s["message"]), "unknown output entity 'nonexistent'") || !strings.Contains(fmt.Sprint(s["message"]), "line 3") {
			t.Errorf("broken script's dialog: %v", s)
		}
		if s := stat(spin); s["status"] != "failed" || !strings.Contains(fmt.Sprint(s["message"]), "limit") {
			t.Errorf("endless script's dialog: %v", s)
		}
		if s := stat(fine); s["status"] != "done" || s["message"] != nil {
			t.Errorf("default script's dialog: %v", s)
		}
		mustStatus(t, env.Do(t, "GET", "/readyz", "", nil), 200)
	})
}
