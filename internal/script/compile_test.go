package script

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name         string
		src          string
		line, column int
		msg          string
	}{
		{"syntax error", "def main(s):\n    x = 1\n    )\n", 3, 5, "unexpected ')'"},
		{"unterminated string", "def main(s):\n    x = 1\n    \"abc\n", 3, 5, "unexpected newline in string"},
		{"undefined name", "def main(s):\n    s.say(greeting)\n", 2, 11, "undefined: greeting"},
		{"load refused", "load(\"x\", \"y\")\n\ndef main(s):\n    pass\n", 1, 1, "load statements are not allowed"},
		{"load after code", "x = 1\nload(\"x\", \"y\")\n", 2, 1, "load statements are not allowed"},
		{"bad indentation", "def main(s):\n    x = 1\n  y = 2\n", 3, 3, "unindent"},
		{"no I/O built-ins", "def main(s):\n    open(\"/etc/passwd\")\n", 2, 5, "undefined: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile("t.star", tt.src)
			if err == nil {
				t.Fatalf("Compile = %v, want an error", p)
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *CompileError", err, err)
			}
			if ce.Line != tt.line || ce.Column != tt.column || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("CompileError = line %d, column %d: %q; want line %d, column %d: ...%q...",
					ce.Line, ce.Column, ce.Msg, tt.line, tt.column, tt.msg)
			}
			if code := parley.ErrorCode(err); code != parley.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", code, parley.EINVALID)
			}
			pos := fmt.Sprintf("line %d, column %d: ", tt.line, tt.column)
			if msg := parley.ErrorMessage(err); !strings.Contains(msg, pos+ce.Msg) {
				t.Errorf("ErrorMessage = %q, want it to contain %q", msg, pos+ce.Msg)
			}
			if f := parley.ErrorFields(err)["script"]; f != pos+ce.Msg {
				t.Errorf(`Fields["script"] = %q, want %q`, f, pos+ce.Msg)
			}
		})
	}
}

func TestCompileAcceptsDialect(t *testing.T) {
	// while loops, top-level control flow and sets are part of the dialect.
	src := `
greetings = set(["hi", "hello"])
if len(greetings) != 2:
    fail("set")

def main(s):
    n = 0
    while n < 3:
        n += 1
`
	if _, err := Compile("t.star", src); err != nil {
		t.Fatal(err)
	}
	if _, err := Compile("t.star", DefaultScript); err != nil {
		t.Fatalf("DefaultScript: %v", err)
	}
}
