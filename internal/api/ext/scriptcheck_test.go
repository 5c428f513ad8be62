package ext_test

import (
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestScriptCheck compiles scripts without saving them: a good one is ok,
// a broken one answers its first error at its line and column, nothing is
// stored, and another company's agent is refused.
func TestScriptCheck(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a := env.NewTenant(t, "Alpha")
		b := env.NewTenant(t, "Bravo")
		check := ext.Prefix + "/agent-settings/script/check?agent_uuid=" + a.AgentUUID
		type result struct {
			OK     bool `json:"ok"`
			Errors []struct {
				Line    int    `json:"line"`
				Column  int    `json:"column"`
				Message string `json:"message"`
			} `json:"errors"`
		}

		var good result
		mustStatus(t, env.Do(t, "POST", check, a.Token, map[string]any{"source": branchingScript}), 200).JSON(t, &good)
		if !good.OK || good.Errors == nil || len(good.Errors) != 0 {
			t.Errorf("good script: %+v", good)
		}

		cases := []struct {
			source string
			line   int
			word   string
		}{
			{"def main(s):\n    s.say(\"x\"\n", 3, ""},
			{"def main(s):\n    s.hangup()\n\n    undefined_name()\n", 4, "undefined"},
			{"x = 1\nload(\"m\", \"y\")\n", 2, "load"},
			{"   \n", 1, "empty"},
		}
		for _, c := range cases {
			var bad result
			mustStatus(t, env.Do(t, "POST", check, a.Token, map[string]any{"source": c.source}), 200).JSON(t, &bad)
			if bad.OK || len(bad.Errors) != 1 || bad.Errors[0].Line != c.line || !strings.Contains(bad.Errors[0].Message, c.word) {
				t.Errorf("%q: %+v, want an error at line %d mentioning %q", c.source, bad, c.line, c.word)
			}
		}

		// Checking stores nothing.
		res := mustStatus(t, env.Do(t, "GET", ext.Prefix+"/agent-settings/script?agent_uuid="+a.AgentUUID, a.Token, nil), 200)
		if strings.Contains(string(res.Body), `"name"`) {
			t.Errorf("a check stored a script: %s", res.Body)
		}

		// Another company's agent, an operator, no token.
		mustStatus(t, env.Do(t, "POST", check, b.Token, map[string]any{"source": "x = 1\n"}), 403)
		mustStatus(t, env.Do(t, "POST", check, a.OperatorToken, map[string]any{"source": "x = 1\n"}), 403)
		mustStatus(t, env.Do(t, "POST", check, "", map[string]any{"source": "x = 1\n"}), 401)
		mustStatus(t, env.Do(t, "POST", check, a.Token, map[string]any{"source": "a\x00b"}), 409)
	})
}
