package web_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/web"
)

// jsLiteral is one string literal of a script, with its line and the code
// just before it (to tell a t("key") argument from text).
type jsLiteral struct {
	Text   string
	Line   int
	Before string
}

// jsLiterals returns the string literals of a script: '…', "…" and the
// static parts of `…` templates. Comments and regular-expression literals
// are skipped. It is a scanner for the pages' own scripts, not a full
// JavaScript lexer.
func jsLiterals(src string) []jsLiteral {
	var out []jsLiteral
	line := 1
	lastSig := byte('(') // the last significant character, to tell a regexp from a division
	n := len(src)
	var tmpl func(i int) int
	str := func(i int, q byte) int { // i at the opening quote; returns the index after the closing one
		start := i
		var b strings.Builder
		i++
		for i < n && src[i] != q {
			if src[i] == '\\' && i+1 < n {
				b.WriteByte(src[i+1])
				i += 2
				continue
			}
			if src[i] == '\n' {
				line++
			}
			b.WriteByte(src[i])
			i++
		}
		before := src[max(0, start-30):start]
		out = append(out, jsLiteral{Text: b.String(), Line: line, Before: before})
		return i + 1
	}
	var code func(i int, stopAtBrace bool) int
	tmpl = func(i int) int { // i after the opening backquote
		var b strings.Builder
		start := i
		flush := func() {
			if b.Len() > 0 {
				out = append(out, jsLiteral{Text: b.String(), Line: line, Before: src[max(0, start-31):start]})
				b.Reset()
			}
		}
		for i < n && src[i] != '`' {
			switch {
			case src[i] == '\\' && i+1 < n:
				b.WriteByte(src[i+1])
				i += 2
			case src[i] == '$' && i+1 < n && src[i+1] == '{':
				flush()
				b.WriteString(" ")
				i = code(i+2, true)
				flush()
				b.Reset()
			default:
				if src[i] == '\n' {
					line++
				}
				b.WriteByte(src[i])
				i++
			}
		}
		flush()
		return i + 1
	}
	code = func(i int, stopAtBrace bool) int {
		depth := 0
		for i < n {
			c := src[i]
			switch {
			case c == '\n':
				line++
				i++
			case c == ' ' || c == '\t' || c == '\r':
				i++
			case c == '/' && i+1 < n && src[i+1] == '/':
				for i < n && src[i] != '\n' {
					i++
				}
			case c == '/' && i+1 < n && src[i+1] == '*':
				end := strings.Index(src[i+2:], "*/")
				if end < 0 {
					return n
				}
				line += strings.Count(src[i:i+2+end], "\n")
				i += end + 4
			case c == '/' && strings.IndexByte("(,=:[!&|?{};+-*%<>~^", lastSig) >= 0:
				i++ // a regexp literal
				inClass := false
				for i < n && (src[i] != '/' || inClass) && src[i] != '\n' {
					if src[i] == '\\' {
						i++
					} else if src[i] == '[' {
						inClass = true
					} else if src[i] == ']' {
						inClass = false
					}
					i++
				}
				i++
				lastSig = 'x'
			case c == '"' || c == '\'':
				i = str(i, c)
				lastSig = 'x'
			case c == '`':
				i = tmpl(i + 1)
				lastSig = 'x'
			case c == '{':
				depth++
				lastSig = c
				i++
			case c == '}':
				if stopAtBrace && depth == 0 {
					return i + 1
				}
				depth--
				lastSig = c
				i++
			default:
				lastSig = c
				i++
			}
		}
		return i
	}
	code(0, false)
	return out
}

var (
	// A literal reads as text for people when it starts with a capital
	// followed by a small letter ("Send", "No agent") or holds two words
	// and ends like a sentence or a label.
	capitalised = regexp.MustCompile(`^\s*[A-Z][a-z]`)
	sentence    = regexp.MustCompile(`[A-Za-z]{2,} [A-Za-z]{2,}.*[.…:?!)]\s*$`)
	i18nKey     = regexp.MustCompile(`^[a-z_]+\.[a-z0-9_.]*$`)
	keyCall     = regexp.MustCompile(`\b(?:t|tr|tx)\(\s*$`)
	// Words in small letters ("on hold") are text too, unless they are
	// class lists, event names or selectors.
	phrase = regexp.MustCompile(`^[a-z]+( [a-z]+)+$`)
	// A word in small letters as an element's child (el(tag, {…}, "word")).
	childWord = regexp.MustCompile(`\},\s*$`)
	word      = regexp.MustCompile(`^[a-z]{2,}$`)
	// Labelling attributes hold text whatever its shape.
	labelAttr = regexp.MustCompile(`(placeholder|title|"aria-label"|alt)\s*:\s*$`)
	classLike = regexp.MustCompile(`(class|className|classList\.\w+|rel|autocomplete|accept|sandbox|allow)\s*[:=(]\s*$`)
)

// jsNotText are the literals of the scripts that look like text but are
// not shown to people: header and API names, key names, CSS, log lines.
var jsNotText = map[string]bool{
	"Content-Type": true, "Authorization": true, "Accept": true, "Bearer ": true, "Last-Event-ID": true,
	"Enter": true, "Escape": true, "ArrowDown": true, "ArrowUp": true, "Tab": true, "Backspace": true,
	"Notification": true, "Idempotency-Key": true, "Basic ": true,
	"0 4px 14px rgba(0,0,0,.25)": true, "0 8px 30px rgba(0,0,0,.25)": true, // CSS of the widget's launcher
	"not logged in": true, "operator on the supervisor pages": true, // thrown to stop a script, never shown
	"phone number": true, // a column heading upload.js recognises
}

// jsNotTextPrefix are literals not shown as Parley's text by their start:
// the script editor's example script (code the admin edits).
var jsNotTextPrefix = []string{"def main(s):"}

// jsNotScanned are scripts of pages that are not Parley's: the widget demo
// stands for a company's own site.
var jsNotScanned = map[string]bool{"js/widget-demo.js": true}

// loaderWords matches the widget loader's own copy of its strings.
var loaderWords = regexp.MustCompile(`(?m)^\s*var WORDS = (\{.*\});$`)

// TestI18nScripts fails on a literal of a page script that reads as text
// for people and does not go through the catalogue (t("key")): the
// scripts' words, like the pages', must exist in English and in Russian.
func TestI18nScripts(t *testing.T) {
	err := fs.WalkDir(web.Static, "js", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") || strings.HasPrefix(path, "js/i18n/") {
			return err
		}
		if jsNotScanned[path] {
			return nil
		}
		b, err := fs.ReadFile(web.Static, path)
		if err != nil {
			return err
		}
		src := string(b)
		if path == "js/widget-loader.js" {
			src = checkLoaderWords(t, src)
		}
	literals:
		for _, l := range jsLiterals(src) {
			s := l.Text
			for _, p := range jsNotTextPrefix {
				if strings.HasPrefix(s, p) {
					continue literals
				}
			}
			if i18nKey.MatchString(s) || keyCall.MatchString(l.Before) || jsNotText[strings.TrimSpace(s)] || jsNotText[s] {
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(l.Before), "import") || strings.HasSuffix(strings.TrimSpace(l.Before), "from") {
				continue
			}
			if capitalised.MatchString(s) || sentence.MatchString(s) || (phrase.MatchString(s) && !classLike.MatchString(l.Before)) ||
				(labelAttr.MatchString(l.Before) && strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz")) ||
				(childWord.MatchString(l.Before) && word.MatchString(s)) {
				t.Errorf("%s:%d: %q is not in the catalogue (t(\"key\"))", path, l.Line, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkLoaderWords checks that the widget loader's copy of its strings is
// the catalogues' (same keys, same words, in every language) and returns
// the script without it for the literal scan.
func checkLoaderWords(t *testing.T, src string) string {
	t.Helper()
	m := loaderWords.FindStringSubmatchIndex(src)
	if m == nil {
		t.Error("js/widget-loader.js: no `var WORDS = {…};` line")
		return src
	}
	var words map[string]map[string]string
	if err := json.Unmarshal([]byte(src[m[2]:m[3]]), &words); err != nil {
		t.Fatalf("js/widget-loader.js: WORDS is not JSON: %v", err)
	}
	for _, lang := range []string{"en", "ru"} {
		cat := catalogue(t, lang)
		if len(words[lang]) == 0 {
			t.Errorf("js/widget-loader.js: WORDS has no %s", lang)
		}
		for k, v := range words[lang] {
			if cat[k] != v {
				t.Errorf("js/widget-loader.js: WORDS[%s][%s] = %q, the catalogue says %q", lang, k, v, cat[k])
			}
		}
		for k := range words["en"] {
			if _, ok := words[lang][k]; !ok {
				t.Errorf("js/widget-loader.js: WORDS[%s] lacks %s", lang, k)
			}
		}
	}
	return src[:m[0]] + src[m[1]:]
}
