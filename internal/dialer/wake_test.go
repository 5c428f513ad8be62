package dialer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestDialerWakesWithoutPolling: with a safety poll of an hour, the
// running dialer still calls a dialog as soon as it is uploaded (the
// upload wakes it), and the next dialog as soon as the one channel frees
// (the call's end wakes it): nothing waits for a poll. On a dialer that
// only polls, the dialogs would wait the hour.
func TestDialerWakesWithoutPolling(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) { c.DialerPoll = time.Hour }})
		ten := env.NewTenant(t, "Acme")
		mustStatus(t, env.Do(t, "PUT", ext+"/agent-settings/general?agent_uuid="+ten.AgentUUID, ten.Token,
			map[string]any{"total_channel_limit": 1}), 200)
		time.Sleep(200 * time.Millisecond) // the dialer's first pass found nothing and sleeps
		var ids []string
		for i := range 3 {
			ids = append(ids, upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": fmt.Sprintf("7999000000%d", i)}))
		}
		for _, id := range ids {
			deadline := time.Now().Add(60 * time.Second)
			for {
				r := env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+id, ten.Token, nil)
				if r.Status == 200 {
					break // finished: it has a report
				}
				if time.Now().After(deadline) {
					t.Fatalf("dialog %s never called with the safety poll at an hour: %d %s", id, r.Status, r.Body)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}
