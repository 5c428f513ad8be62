package audio

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ToneSynth is the stand-in for speech when espeak-ng isn't installed. Each
// word becomes a sine burst whose pitch (220–660 Hz) comes from a hash of
// the voice and the lower-cased word and whose length grows with the word
// (60 ms plus 45 ms a letter, up to 20 letters), the bursts separated by
// 70 ms of silence. So a recording still shows who spoke, when and roughly
// how much, the same text and voice always give the same samples, and
// different words sound different, which is all the simulated dialer and
// its tests need. Nothing here is intelligible.
type ToneSynth struct{}

const (
	toneBase      = 60 * time.Millisecond
	tonePerLetter = 45 * time.Millisecond
	toneMaxLetter = 20
	toneGap       = 70 * time.Millisecond
	toneRamp      = 5 * time.Millisecond // fade in and out: a hard edge clicks
	toneAmplitude = 0.3 * 32767          // about -10 dBFS: audible, far from clipping
)

// Synthesize returns the tone rendering of text at Rate.
func (ToneSynth) Synthesize(ctx context.Context, text, voice string) (PCM, error) {
	if err := checkText(text); err != nil {
		return PCM{}, err
	}
	if err := ctx.Err(); err != nil {
		return PCM{}, err
	}
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := PCM{Rate: Rate}
	gap := samplesIn(Rate, toneGap)
	for i, w := range words {
		if i > 0 {
			out.Samples = append(out.Samples, make([]int16, gap)...)
		}
		out.Samples = appendTone(out.Samples, wordPitch(voice, w), toneLength(w))
	}
	return out, nil
}

func wordPitch(voice, word string) float64 {
	h := fnv.New32a()
	h.Write([]byte(voice))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(word)))
	return 220 + float64(h.Sum32()%441)
}

func toneLength(word string) int {
	letters := min(utf8.RuneCountInString(word), toneMaxLetter)
	return samplesIn(Rate, toneBase+time.Duration(letters)*tonePerLetter)
}

func appendTone(s []int16, hz float64, n int) []int16 {
	ramp := samplesIn(Rate, toneRamp)
	for i := range n {
		gain := 1.0
		if edge := min(i, n-1-i); edge < ramp {
			gain = float64(edge) / float64(ramp)
		}
		v := toneAmplitude * gain * math.Sin(2*math.Pi*hz*float64(i)/Rate)
		s = append(s, int16(math.Round(v)))
	}
	return s
}
