package ext_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/voice/sip"
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

		for _, m := range []string{"GET", "PUT", "DELETE"} {
			var body any
			if m == "PUT" {
				body = map[string]any{"host": "b-takeover.example"}
			}
			r := mustStatus(t, env.Do(t, m, p+"/alpha-only", b.Token, body), 404)
			if strings.Contains(string(r.Body), "a.example") {
				t.Errorf("%s of another company's trunk leaked it: %s", m, r.Body)
			}
			mustStatus(t, env.Do(t, m, p+"/main", a.OperatorToken, body), 403)
		}
		if r := mustStatus(t, env.Do(t, "GET", p+"/alpha-only", a.Token, nil), 200); !strings.Contains(string(r.Body), `"a.example"`) {
			t.Errorf("Alpha's trunk changed under Bravo's PUT: %s", r.Body)
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

// TestTrunkUpdate: PUT /trunks/{name} changes only the fields it sends,
// keeps the password when it is left out and clears it with "", and the
// next call resolves the trunk with the new configuration.
func TestTrunkUpdate(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a := env.NewTenant(t, "Alpha")
		p := ext.Prefix + "/trunks"
		var made, got struct {
			Host, Transport, Username, Password, Codecs string
			CallerID                                    string `json:"caller_id"`
			Port                                        int
			RingTimeout                                 int    `json:"ring_timeout_s"`
			CreatedAt                                   string `json:"created_at"`
		}
		mustStatus(t, env.Do(t, "POST", p, a.Token, map[string]any{"name": "main", "host": "a.example", "username": "u", "password": "PASS1",
			"caller_id": "100", "codecs": "PCMU"}), 201).JSON(t, &made)
		before, err := env.SIPTrunks.Resolve(context.Background(), a.CompanyID, "main")
		if err != nil || before == nil {
			t.Fatalf("resolve: %v %v", before, err)
		}
		time.Sleep(1100 * time.Millisecond) // updated_at shows seconds

		mustStatus(t, env.Do(t, "PUT", p+"/main", a.Token, map[string]any{"host": "127.0.0.1", "port": "5080", "transport": "tcp",
			"ring_timeout": 20}), 200).JSON(t, &got)
		if got.Host != "127.0.0.1" || got.Port != 5080 || got.Transport != "tcp" || got.RingTimeout != 20 ||
			got.Username != "u" || got.Password != "********" || got.CallerID != "100" || got.Codecs != "PCMU" ||
			got.CreatedAt != made.CreatedAt {
			t.Errorf("after PUT: %+v", got)
		}
		r := mustStatus(t, env.Do(t, "GET", p+"/main", a.Token, nil), 200)
		if !strings.Contains(string(r.Body), `"host":"127.0.0.1"`) || strings.Contains(string(r.Body), "PASS1") {
			t.Errorf("GET after PUT: %s", r.Body)
		}
		var stamps struct {
			CreatedAt string `json:"created_at"`
			UpdatedAt string `json:"updated_at"`
		}
		r.JSON(t, &stamps)
		if stamps.UpdatedAt <= stamps.CreatedAt {
			t.Errorf("updated_at did not move: %+v", stamps)
		}
		resolved, err := env.SIPTrunks.Resolve(context.Background(), a.CompanyID, "main")
		if err != nil {
			t.Fatal(err)
		}
		tr := resolved.(*sip.Trunk)
		if resolved == before || tr.Host != "127.0.0.1" || tr.Port != 5080 || tr.Transport != "tcp" || tr.Ring != 20*time.Second ||
			tr.Username != "u" || tr.Password != "PASS1" {
			t.Errorf("resolved after PUT: %+v", tr.Config)
		}

		// A new password replaces the old; "" clears it, after which the
		// username may be cleared too.
		mustStatus(t, env.Do(t, "PUT", p+"/main", a.Token, map[string]any{"password": "PASS2"}), 200)
		if tr, _ := env.SIPTrunks.Resolve(context.Background(), a.CompanyID, "main"); tr.(*sip.Trunk).Password != "PASS2" {
			t.Errorf("new password not used: %+v", tr.(*sip.Trunk).Config)
		}
		mustStatus(t, env.Do(t, "PUT", p+"/main", a.Token, map[string]any{"username": ""}), 409) // the password needs it
		mustStatus(t, env.Do(t, "PUT", p+"/main", a.Token, map[string]any{"password": ""}), 200).JSON(t, &got)
		if got.Password != "" || got.Username != "u" {
			t.Errorf("after clearing the password: %+v", got)
		}
		if tr, _ := env.SIPTrunks.Resolve(context.Background(), a.CompanyID, "main"); tr.(*sip.Trunk).Password != "" {
			t.Errorf("cleared password still used: %+v", tr.(*sip.Trunk).Config)
		}
		mustStatus(t, env.Do(t, "PUT", p+"/main", a.Token, map[string]any{"username": "", "caller_id": ""}), 200).JSON(t, &got)
		if got.Username != "" || got.CallerID != "" || got.Host != "127.0.0.1" {
			t.Errorf("after clearing the username: %+v", got)
		}
		mustStatus(t, env.Do(t, "PUT", p+"/main", a.OperatorToken, map[string]any{"host": "op.example"}), 403)
		mustStatus(t, env.Do(t, "PUT", p+"/other", a.Token, map[string]any{"host": "op.example"}), 404)
	})
}
