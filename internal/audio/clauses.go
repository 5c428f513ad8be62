package audio

import (
	"strings"
	"unicode/utf8"
)

// minClause is the fewest characters a clause of Clauses holds: shorter
// ones join the next, since each synthesis costs a process start and a
// pause of the engine's own at the clause's end.
const minClause = 24

// Clauses splits a prompt's text where a speaker pauses anyway (after
// . ! ? ; : and a space or the end), so that the first clause can be
// synthesized and played while the rest is synthesized: the caller hears
// the first words after one clause's synthesis instead of the whole
// text's. Clauses shorter than minClause join the next one; joined back
// with spaces they give the text with runs of spaces between clauses
// collapsed. A text with no such break is one clause.
func Clauses(text string) []string {
	var out []string
	cur := ""
	rest := strings.TrimSpace(text)
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return strings.ContainsRune(".!?;:", r) })
		// A break is punctuation followed by a space (not "3.5", "e.g.x").
		for i >= 0 && i+1 < len(rest) && rest[i+1] != ' ' {
			j := strings.IndexFunc(rest[i+1:], func(r rune) bool { return strings.ContainsRune(".!?;:", r) })
			if j < 0 {
				i = -1
				break
			}
			i += 1 + j
		}
		var piece string
		if i < 0 {
			piece, rest = rest, ""
		} else {
			// Keep runs of punctuation ("?!", "...") with their clause.
			k := i + 1
			for k < len(rest) && strings.ContainsRune(".!?;:", rune(rest[k])) {
				k++
			}
			piece, rest = rest[:k], strings.TrimSpace(rest[k:])
		}
		if cur != "" {
			cur += " " + piece
		} else {
			cur = piece
		}
		if utf8.RuneCountInString(cur) >= minClause || rest == "" {
			out = append(out, cur)
			cur = ""
		}
	}
	return out
}
