package dialer

import (
	"context"
	"regexp"
	"strconv"
	"time"
)

// PrefetchConn is a Conn that can synthesize prompts ahead of their say(),
// into its voice's cache (a SIP call): the script's constant prompts are
// given to it when the call is answered, so a prompt that does not depend
// on the callee's answer is ready when its turn comes.
type PrefetchConn interface {
	Prefetch(ctx context.Context, texts []string)
}

// maxPrefetch bounds the prompts taken from one script.
const maxPrefetch = 32

// sayLiteral is a say() whose whole argument is one string literal: its
// text cannot depend on anything the call hears.
var sayLiteral = regexp.MustCompile(`\.say\(\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*\)`)

// scriptPrompts returns the constant prompts of a script's source, in
// order, without repeats.
func scriptPrompts(source string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range sayLiteral.FindAllStringSubmatch(source, -1) {
		lit := m[1]
		if lit[0] == '\'' {
			lit = `"` + regexp.MustCompile(`\\'|"`).ReplaceAllStringFunc(lit[1:len(lit)-1], func(s string) string {
				if s == `"` {
					return `\"`
				}
				return "'"
			}) + `"`
		}
		text, err := strconv.Unquote(lit)
		if err != nil || text == "" || seen[text] {
			continue
		}
		seen[text] = true
		out = append(out, text)
		if len(out) == maxPrefetch {
			break
		}
	}
	return out
}

// prefetch gives the call the constant prompts of its script.
func (d *Dialer) prefetch(ctx context.Context, conn PrefetchConn, agentID int64, name string) {
	if name == "" {
		name = "main"
	}
	r, err := d.Agents.Runnable(ctx, agentID, name)
	if err != nil {
		return
	}
	if texts := scriptPrompts(r.Source); len(texts) > 0 {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		conn.Prefetch(pctx, texts)
	}
}
