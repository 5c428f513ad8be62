package dialer

import (
	"slices"
	"testing"
)

func TestScriptPrompts(t *testing.T) {
	src := `def main(s):
    s.say("Hello. Shall we go on?")
    a = s.listen(expect=["yes", "no"])
    s.say("You said " + a)
    s.say('It\'s "done".')
    s.say("Hello. Shall we go on?")
    s.say(greeting)
    s.say("Line\nbreak")
`
	got := scriptPrompts(src)
	want := []string{"Hello. Shall we go on?", `It's "done".`, "Line\nbreak"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
