package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

const testMetricsToken = "metrics-token-0123456789"

func TestOperationalEndpoints(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) { c.MetricsToken = testMetricsToken }})
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

		// A path with an empty segment (an unset id in a client's URL) is
		// the family's JSON 404, not a redirect to another URL.
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, p := range []string{
			"/api/v2/ext/statistic//transcription?type=text",
			"/api/v2/ext/statistic/download/call?call_uuid=",
			"/v1/chats//messages",
			"/apps/api/v1/chats//photos/upload",
		} {
			req, _ := http.NewRequest("GET", env.URL()+p, nil)
			req.Header.Set("Authorization", "Bearer "+ten.Token)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 4 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !json.Valid(body) {
				t.Errorf("GET %s: %d %s %s; want a JSON 4xx", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}

		r = env.Do(t, "PATCH", "/api/v2/ext/initial-entity", ten.Token, "{}")
		if r.Status != 405 || r.Header.Get("Allow") != "GET, POST, PUT, DELETE" || json.Unmarshal(r.Body, &e) != nil {
			t.Fatalf("wrong method: %d %q %s", r.Status, r.Header.Get("Allow"), r.Body)
		}

		// Metrics count requests by route pattern and status, never by raw
		// path (which would let clients grow the label set without bound).
		env.Do(t, "GET", "/api/v2/ext/agent-settings/general?agent_uuid="+ten.AgentUUID, ten.Token, nil)
		m := string(env.Do(t, "GET", "/metrics", testMetricsToken, nil).Body)
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

// TestMetricsAccess: /metrics (Go runtime, process and per-route figures)
// is not for the public. Without settings it is not served at all; with a
// token, the public listener serves it to that token only; with an address
// of its own it is served there and not on the public listener.
func TestMetricsAccess(t *testing.T) {
	dsn := testenv.SQLiteDSN(t)
	get := func(t *testing.T, url, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 && !strings.Contains(string(body), "go_goroutines") {
			t.Fatalf("GET %s: 200 without metrics: %.200s", url, body)
		}
		if res.StatusCode != 200 && strings.Contains(string(body), "go_goroutines") {
			t.Fatalf("GET %s: %d with metrics", url, res.StatusCode)
		}
		return res.StatusCode
	}
	t.Run("default", func(t *testing.T) {
		env := testenv.Start(t, dsn)
		if got := get(t, env.URL()+"/metrics", ""); got != 404 {
			t.Errorf("public /metrics without settings: %d, want 404", got)
		}
		if env.MetricsURL() != "" {
			t.Errorf("a metrics listener without PARLEY_METRICS_ADDR")
		}
	})
	t.Run("token", func(t *testing.T) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) { c.MetricsToken = testMetricsToken }})
		for token, want := range map[string]int{"": 401, "wrong-token-0123456789": 401, testMetricsToken + "x": 401, testMetricsToken: 200} {
			if got := get(t, env.URL()+"/metrics", token); got != want {
				t.Errorf("token %q: %d, want %d", token, got, want)
			}
		}
	})
	t.Run("addr", func(t *testing.T) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) { c.MetricsAddr = "127.0.0.1:0" }})
		if got := get(t, env.URL()+"/metrics", ""); got != 404 {
			t.Errorf("public /metrics with a metrics address: %d, want 404", got)
		}
		if got := get(t, env.MetricsURL()+"/metrics", ""); got != 200 {
			t.Errorf("metrics listener: %d, want 200", got)
		}
		if got := get(t, env.MetricsURL()+"/api/v2/ext/auth", ""); got != 404 {
			t.Errorf("the metrics listener serves the API: %d", got)
		}
	})
	t.Run("addr+token", func(t *testing.T) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
			c.MetricsAddr, c.MetricsToken = "127.0.0.1:0", testMetricsToken
		}})
		if got := get(t, env.URL()+"/metrics", testMetricsToken); got != 404 {
			t.Errorf("public /metrics with a metrics address: %d, want 404", got)
		}
		if got := get(t, env.MetricsURL()+"/metrics", ""); got != 401 {
			t.Errorf("metrics listener without the token: %d, want 401", got)
		}
		if got := get(t, env.MetricsURL()+"/metrics", testMetricsToken); got != 200 {
			t.Errorf("metrics listener with the token: %d, want 200", got)
		}
	})
}
