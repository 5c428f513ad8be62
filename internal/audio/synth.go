package audio

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/parley-cc/parley"
)

// Synthesizer turns text into speech at Rate. Voice names a voice of the
// implementation; "" picks its default.
type Synthesizer interface {
	Synthesize(ctx context.Context, text, voice string) (PCM, error)
}

// StreamSynthesizer is a Synthesizer that hands its audio over while it
// synthesizes (espeak-ng printing to a pipe), so a prompt can start
// before its synthesis ends.
type StreamSynthesizer interface {
	Synthesizer
	// SynthesizeStream is Synthesize that also calls emit, in order and
	// on the caller's goroutine, with each piece of the audio (at Rate)
	// as soon as it is final. The pieces put together are the returned
	// PCM, which is what Synthesize returns. On an error, what was
	// emitted is all there is.
	SynthesizeStream(ctx context.Context, text, voice string, emit func([]int16)) (PCM, error)
}

// MaxText bounds the characters one Synthesize call takes: a couple of
// minutes of speech, more than any line of a call script. It keeps a bad
// script from tying up a synthesizer or growing a huge buffer.
const MaxText = 2000

// DefaultSynthesizer returns espeak-ng when it is on PATH, so simulated
// callees speak real words a recognizer or a listener can check, and
// ToneSynth otherwise, so the dialer works (and its recordings stay
// deterministic) on a machine without it.
func DefaultSynthesizer() Synthesizer {
	if e, ok := LookupEspeak(); ok {
		return e
	}
	return ToneSynth{}
}

// checkText refuses text no synthesizer should take. NUL can't be passed
// as a program argument, so it is refused here rather than failing later
// as an obscure exec error.
func checkText(text string) error {
	if n := utf8.RuneCountInString(text); n > MaxText {
		return parley.FieldError("text", "is %d characters, at most %d", n, MaxText)
	}
	if strings.ContainsRune(text, 0) {
		return parley.FieldError("text", "contains a NUL character")
	}
	return nil
}
