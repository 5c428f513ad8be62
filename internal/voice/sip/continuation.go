package sip

import "strings"

// continuationWords are, per language, the words a speaker who paused
// after them is likely to go on from: conjunctions, articles, common
// prepositions and possessives, hesitations. An open listen whose
// hypothesis ends in one never ends on the short stable-hypothesis rule,
// only on EndSilence. A word here that does end an answer ("go on") costs
// that turn the long rule's wait, not a cut-off, so the lists lean long.
var continuationWords = map[string]map[string]bool{
	"en": wordSet(`and but or nor because cause so that which who if when while than then
		the a an this these those my your our their his its
		to of for with from in on at by about into as like
		i i'm we it's there's
		um uh er erm ah hmm mm`),
	"ru": wordSet(`и а но или что чтобы потому поэтому если когда который которая
		в на с к по о об у за из от до для при про
		мой моя мои наш ваш это
		ну э эм м вот`),
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// continues tells whether hyp ends in a continuation word of lang (the
// language's primary subtag, "en" for "en-US"); a language without a
// list uses English's, the language of the only streaming model shipped
// (pocketsphinx en-us).
func continues(lang, hyp string) bool {
	f := strings.Fields(strings.ToLower(hyp))
	if len(f) == 0 {
		return false
	}
	lang, _, _ = strings.Cut(strings.ToLower(lang), "-")
	words, ok := continuationWords[lang]
	if !ok {
		words = continuationWords["en"]
	}
	return words[f[len(f)-1]]
}

// streamLanguage is the language a streaming recognizer decodes, for the
// continuation words: its Language() if it has one, else English.
func streamLanguage(r any) string {
	if l, ok := r.(interface{ Language() string }); ok && l.Language() != "" {
		return l.Language()
	}
	return "en"
}
