package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

func TestOperationalEndpoints(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")

		if r := env.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
			t.Fatalf("healthz: %d", r.Status)
		}
		if r := env.Do(t, "GET", "/readyz", "", nil); r.Status != 200 || !strings.Contains(string(r.Body), "ready") {
			t.Fatalf("readyz: %d %s", r.Status, r.Body)
		}

		// A body over the 1 MiB default is refused with 413 and a JSON error.
		big := `{"name": "` + strings.Repeat("x", 1<<20) + `"}`
		r := env.Do(t, "POST", "/api/v2/ext/initial-entity?agent_uuid="+ten.AgentUUID, ten.Token, big)
		var e struct{ Message, Code string }
		if r.Status != 413 || json.Unmarshal(r.Body, &e) != nil || e.Code != "too_large" {
			t.Fatalf("oversized body: %d %s", r.Status, r.Body)
		}

		// Unknown methods under a family's prefix answer in its format.
		r = env.Do(t, "GET", "/api/v2/ext/no-such-method", ten.Token, nil)
		if r.Status != 404 || json.Unmarshal(r.Body, &e) != nil || e.Code != "not_found" {
			t.Fatalf("unknown method: %d %s", r.Status, r.Body)
		}

		r = env.Do(t, "PATCH", "/api/v2/ext/initial-entity", ten.Token, "{}")
		if r.Status != 405 || r.Header.Get("Allow") != "GET, POST, PUT, DELETE" || json.Unmarshal(r.Body, &e) != nil {
			t.Fatalf("wrong method: %d %q %s", r.Status, r.Header.Get("Allow"), r.Body)
		}

		// Metrics count requests by route pattern and status, never by raw
		// path (which would let clients grow the label set without bound).
		env.Do(t, "GET", "/api/v2/ext/agent-settings/general?agent_uuid="+ten.AgentUUID, ten.Token, nil)
		m := string(env.Do(t, "GET", "/metrics", "", nil).Body)
		for _, want := range []string{
			`parley_http_requests_total{route="GET /api/v2/ext/agent-settings/general",status="200"} 1`,
			`parley_http_requests_total{route="POST /api/v2/ext/initial-entity",status="413"} 1`,
			`parley_http_request_duration_seconds_bucket{route="GET /healthz"`,
			`go_goroutines`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(m, "no-such-method") {
			t.Errorf("metrics label a raw path")
		}
	})
}
