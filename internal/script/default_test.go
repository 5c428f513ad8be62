package script

import (
	"maps"
	"slices"
	"testing"
)

func TestDefaultScript(t *testing.T) {
	const intro = "say: This is an automated assistant. How can I help you?"
	tests := []struct {
		name     string
		entities map[string]string
		outputs  []string
		answer   string // "" is silence
		log      []string
		set      map[string]string
	}{
		{"named, answered", map[string]string{"name": "Ann"}, []string{"answer"}, "I need help",
			[]string{"say: Hello, Ann.", intro, "listen 5s: I need help"}, map[string]string{"answer": "I need help"}},
		{"no name", nil, []string{"answer"}, "yes",
			[]string{"say: Hello.", intro, "listen 5s: yes"}, map[string]string{"answer": "yes"}},
		{"silence", map[string]string{"name": "Ann"}, []string{"answer"}, "",
			[]string{"say: Hello, Ann.", intro, "listen 5s: <silence>"}, map[string]string{}},
		{"no answer output", map[string]string{"name": "Bo"}, []string{"other"}, "yes",
			[]string{"say: Hello, Bo.", intro, "listen 5s: yes"}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ch := range []string{Voice, Chat} {
				h := &fakeHost{answers: answers(tt.answer)}
				out, err := run(t, DefaultScript, h, Config{Channel: ch, Entities: tt.entities, Outputs: tt.outputs})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(h.log, tt.log) {
					t.Errorf("%s: log = %q, want %q", ch, h.log, tt.log)
				}
				if out.Kind != Hangup || !maps.Equal(out.Outputs, tt.set) {
					t.Errorf("%s: outcome = %+v, want hangup with %v", ch, out, tt.set)
				}
			}
		})
	}
}
