package outbound_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

const ext = "/api/v2/ext"

// clock is a settable time for the dialer and the service.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time   { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time)  { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func newClock(t time.Time) *clock { return &clock{now: t} }

func mustStatus(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// manualEnv starts a server whose importer and dialer only run when the
// test drives them, on the test's clock.
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

// upload is POST dialog/dialog-initial; it returns the dialog's UUID.
func upload(t *testing.T, env *testenv.Env, ten *testenv.Tenant, agentUUID string, row map[string]any) string {
	t.Helper()
	var out struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	mustStatus(t, env.Do(t, "POST", ext+"/dialog/dialog-initial?agent_uuid="+agentUUID, ten.Token, row), 200).JSON(t, &out)
	return out.DialogUUID
}
