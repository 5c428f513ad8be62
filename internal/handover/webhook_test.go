package handover_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestTransferWebhooks: a webhook subscribed to the transfer lifecycle
// gets call_transfer.offered, .accepted and .ended, once each, with
// the transfer's id and operator.
func TestTransferWebhooks(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		settings(t, env, ten, 30, 60, 1)
		op := online(t, env, ten.OperatorToken)
		var mu sync.Mutex
		var got []map[string]any
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var p map[string]any
			if json.Unmarshal(b, &p) == nil {
				mu.Lock()
				got = append(got, p)
				mu.Unlock()
			}
		}))
		defer rc.Close()
		must(t, env.Do(t, "POST", "/apps/api/v1/webhooks", ten.Token, map[string]any{"url": rc.URL + "/hook",
			"events": []string{"call_transfer.offered", "call_transfer.accepted", "call_transfer.ended"}}), 201)
		call(t, env, ten, "79990001122", 60)
		tr := ringing(t, env, op)
		acceptAndHangUp(t, env, op, tr.ID)
		waitFor(t, 20*time.Second, "three webhook calls", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) >= 3
		})
		mu.Lock()
		defer mu.Unlock()
		var types []string
		for _, p := range got {
			types = append(types, p["type"].(string))
			d, _ := p["data"].(map[string]any)
			if d["transfer_id"] != float64(tr.ID) || d["operator_id"] != float64(op.ID) {
				t.Errorf("payload %v", p)
			}
		}
		slices.Sort(types) // deliveries are retried independently: their order is not promised
		if !slices.Equal(types, []string{"call_transfer.accepted", "call_transfer.ended", "call_transfer.offered"}) {
			t.Errorf("webhook events %v", types)
		}
	})
}
