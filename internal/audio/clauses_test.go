package audio

import (
	"slices"
	"testing"
)

func TestClauses(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"Yes.", []string{"Yes."}},
		{"Hello! This is the clinic calling about your appointment. Can you come on Monday?",
			[]string{"Hello! This is the clinic calling about your appointment.", "Can you come on Monday?"}},
		{"Your balance is 3.5 dollars; the due date is the fifth of May. Shall I send a reminder?",
			[]string{"Your balance is 3.5 dollars;", "the due date is the fifth of May.", "Shall I send a reminder?"}},
		{"No break in this text at all", []string{"No break in this text at all"}},
		{"Really?! I did not expect that at all. Ok.", []string{"Really?! I did not expect that at all.", "Ok."}},
		{"  Спасибо за ответ. Мы перезвоним вам завтра утром.  ", []string{"Спасибо за ответ. Мы перезвоним вам завтра утром."}},
	} {
		if got := Clauses(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Clauses(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
