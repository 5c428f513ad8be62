package ext_test

import (
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestTrunksPerCompany: trunk names are per company, another company's
// trunk is 404 whatever the method, and operators have no access.
func TestTrunksPerCompany(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a, b := env.NewTenant(t, "Alpha"), env.NewTenant(t, "Bravo")
		p := ext.Prefix + "/trunks"
		mustStatus(t, env.Do(t, "POST", p, a.Token, map[string]any{"name": "main", "host": "a.example", "username": "u", "password": "ALPHAPASS"}), 201)
		// The same name in another company is another trunk.
		mustStatus(t, env.Do(t, "POST", p, b.Token, map[string]any{"name": "main", "host": "b.example"}), 201)
		mustStatus(t, env.Do(t, "POST", p, b.Token, map[string]any{"name": "alpha-only", "host": "b.example"}), 201)
		mustStatus(t, env.Do(t, "DELETE", p+"/alpha-only", b.Token, nil), 204)
		mustStatus(t, env.Do(t, "POST", p, a.Token, map[string]any{"name": "alpha-only", "host": "a.example"}), 201)

		for _, m := range []string{"GET", "DELETE"} {
			r := mustStatus(t, env.Do(t, m, p+"/alpha-only", b.Token, nil), 404)
			if strings.Contains(string(r.Body), "a.example") {
				t.Errorf("%s of another company's trunk leaked it: %s", m, r.Body)
			}
			mustStatus(t, env.Do(t, m, p+"/main", a.OperatorToken, nil), 403)
		}
		r := mustStatus(t, env.Do(t, "GET", p+"/main", b.Token, nil), 200)
		if !strings.Contains(string(r.Body), "b.example") {
			t.Errorf("Bravo's main: %s", r.Body)
		}
		r = mustStatus(t, env.Do(t, "GET", p, b.Token, nil), 200)
		if strings.Contains(string(r.Body), "a.example") || strings.Contains(string(r.Body), "alpha-only") {
			t.Errorf("Bravo's list shows Alpha's trunks: %s", r.Body)
		}
		r = mustStatus(t, env.Do(t, "GET", p, a.Token, nil), 200)
		if !strings.Contains(string(r.Body), `"alpha-only"`) || strings.Contains(string(r.Body), "ALPHAPASS") || !strings.Contains(string(r.Body), `"********"`) {
			t.Errorf("Alpha's list: %s", r.Body)
		}
		mustStatus(t, env.Do(t, "GET", p, a.OperatorToken, nil), 403)
		mustStatus(t, env.Do(t, "POST", p, a.OperatorToken, map[string]any{"name": "op", "host": "a.example"}), 403)
	})
}
