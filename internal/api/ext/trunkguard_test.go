package ext_test

import (
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestTrunkHostGuard: without PARLEY_TRUNK_ALLOW_PRIVATE a trunk cannot
// point at loopback, link-local (the cloud metadata address), private or
// IPv4-mapped internal addresses, nor at a name that does not resolve
// (the same answer as one that resolves inside): creating or updating
// such a trunk is refused with a JSON error naming host, and changes
// nothing. calls_per_second is bounded and defaulted.
func TestTrunkHostGuard(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) { c.TrunkAllowPrivate = false }})
		ten := env.NewTenant(t, "Acme")
		p := ext.Prefix + "/trunks"
		for _, host := range []string{"127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "[::1]", "10.1.2.3", "localhost",
			"no-such-host.invalid", "0.0.0.0", "fd00::1"} {
			r := env.Do(t, "POST", p, ten.Token, map[string]any{"name": "evil", "host": host})
			var e struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			}
			if r.Status < 400 || r.Status > 499 {
				t.Errorf("POST host %q: status %d: %s", host, r.Status, r.Body)
				continue
			}
			r.JSON(t, &e)
			if !strings.Contains(e.Message, "host") || e.Code == "" {
				t.Errorf("POST host %q: error %+v does not name the host field", host, e)
			}
		}
		if r := mustStatus(t, env.Do(t, "GET", p, ten.Token, nil), 200); strings.Contains(string(r.Body), "evil") {
			t.Errorf("a refused trunk was stored: %s", r.Body)
		}

		// A public address literal is taken (nothing is dialled when saving),
		// and cannot be moved inside afterwards.
		r := mustStatus(t, env.Do(t, "POST", p, ten.Token, map[string]any{"name": "carrier", "host": "203.0.113.7"}), 201)
		if !strings.Contains(string(r.Body), `"calls_per_second":10`) {
			t.Errorf("default calls_per_second: %s", r.Body)
		}
		for _, host := range []string{"127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1"} {
			if r := env.Do(t, "PUT", p+"/carrier", ten.Token, map[string]any{"host": host}); r.Status < 400 || r.Status > 499 {
				t.Errorf("PUT host %q: status %d: %s", host, r.Status, r.Body)
			}
		}
		for _, bad := range []any{0, -1, 1001, "lots"} {
			if r := env.Do(t, "PUT", p+"/carrier", ten.Token, map[string]any{"calls_per_second": bad}); r.Status < 400 || r.Status > 499 {
				t.Errorf("PUT calls_per_second %v: status %d: %s", bad, r.Status, r.Body)
			}
		}
		r = mustStatus(t, env.Do(t, "PUT", p+"/carrier", ten.Token, map[string]any{"calls_per_second": 2}), 200)
		if !strings.Contains(string(r.Body), `"host":"203.0.113.7"`) || !strings.Contains(string(r.Body), `"calls_per_second":2`) {
			t.Errorf("after the refused updates: %s", r.Body)
		}
	})
}

// TestChannelLimitCeiling: an agent's channel limits are refused above
// the installation's ceiling (PARLEY_MAX_CHANNEL_LIMIT), and the refusal
// changes nothing.
func TestChannelLimitCeiling(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) { c.MaxChannelLimit = 50 }})
		ten := env.NewTenant(t, "Acme")
		q := ext.Prefix + "/agent-settings/general?agent_uuid=" + ten.AgentUUID
		mustStatus(t, env.Do(t, "PUT", q, ten.Token, map[string]any{"total_channel_limit": 50, "routing_channel_limit": 50}), 200)
		for _, field := range []string{"total_channel_limit", "routing_channel_limit"} {
			r := env.Do(t, "PUT", q, ten.Token, map[string]any{field: 100000, "recall_count": 7})
			if r.Status < 400 || r.Status > 499 || !strings.Contains(string(r.Body), field) {
				t.Errorf("%s 100000: status %d: %s", field, r.Status, r.Body)
			}
		}
		r := mustStatus(t, env.Do(t, "GET", q, ten.Token, nil), 200)
		if !strings.Contains(string(r.Body), `"total_channel_limit":50`) || strings.Contains(string(r.Body), `"recall_count":7`) {
			t.Errorf("after the refused changes: %s", r.Body)
		}
	})
	// The default ceiling.
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	ten := env.NewTenant(t, "Acme")
	q := ext.Prefix + "/agent-settings/general?agent_uuid=" + ten.AgentUUID
	mustStatus(t, env.Do(t, "PUT", q, ten.Token, map[string]any{"total_channel_limit": 1000}), 200)
	if r := env.Do(t, "PUT", q, ten.Token, map[string]any{"total_channel_limit": 1001}); r.Status < 400 || r.Status > 499 {
		t.Errorf("total_channel_limit 1001 under the default ceiling: %d %s", r.Status, r.Body)
	}
}
