package audio

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
)

func TestToneSynth(t *testing.T) {
	ctx := context.Background()
	synth := func(text, voice string) PCM {
		t.Helper()
		p, err := ToneSynth{}.Synthesize(ctx, text, voice)
		if err != nil {
			t.Fatalf("Synthesize(%q, %q): %v", text, voice, err)
		}
		return p
	}

	a, b := synth("Hello, world", ""), synth("Hello, world", "")
	if !slices.Equal(a.Samples, b.Samples) {
		t.Error("same text gave different samples")
	}
	if a.Rate != Rate {
		t.Errorf("rate %d, want %d", a.Rate, Rate)
	}
	if r := rms(a.Samples); r < 3000 {
		t.Errorf("RMS %.0f: too quiet for speech", r)
	}
	for i, v := range a.Samples {
		if math.Abs(float64(v)) > toneAmplitude+1 {
			t.Fatalf("sample %d = %d, above the tone amplitude", i, v)
		}
	}

	// Two words of 5 letters: two bursts of 60+5·45 ms and one gap.
	if got, want := a.Duration(), 2*(toneBase+5*tonePerLetter)+toneGap; got != want {
		t.Errorf("duration %v, want %v", got, want)
	}
	for text, other := range map[string]string{
		"Hello, world": "hello world!", // case and punctuation don't matter
		"yes":          " yes ",
	} {
		if !slices.Equal(synth(text, "").Samples, synth(other, "").Samples) {
			t.Errorf("%q and %q sound different", text, other)
		}
	}
	for _, pair := range [][4]string{
		{"yes", "", "no!", ""}, // same length, different word
		{"yes", "", "yes", "en+f3"},
	} {
		if slices.Equal(synth(pair[0], pair[1]).Samples, synth(pair[2], pair[3]).Samples) {
			t.Errorf("%q in voice %q sounds like %q in voice %q", pair[0], pair[1], pair[2], pair[3])
		}
	}
	for _, blank := range []string{"", "   ", "?!"} {
		if p := synth(blank, ""); len(p.Samples) != 0 {
			t.Errorf("%q gave %d samples", blank, len(p.Samples))
		}
	}
}

func TestSynthRefusesText(t *testing.T) {
	synths := map[string]Synthesizer{"tone": ToneSynth{}, "espeak": &Espeak{Path: "/nonexistent/espeak-ng"}}
	for name, s := range synths {
		for _, c := range []struct{ text, voice string }{
			{strings.Repeat("a", MaxText+1), ""},
			{"a\x00b", ""},
		} {
			_, err := s.Synthesize(context.Background(), c.text, c.voice)
			if parley.ErrorCode(err) != parley.EINVALID {
				t.Errorf("%s: %.20q: err = %v, want invalid", name, c.text, err)
			}
		}
	}
	if _, err := (ToneSynth{}).Synthesize(context.Background(), strings.Repeat("é", MaxText), ""); err != nil {
		t.Errorf("%d two-byte characters refused: %v", MaxText, err)
	}
}

// TestEspeakVoiceNames needs no espeak-ng: bad names are refused before
// anything runs, and good ones get as far as the missing binary.
func TestEspeakVoiceNames(t *testing.T) {
	e := &Espeak{Path: "/nonexistent/espeak-ng"}
	for voice, ok := range map[string]bool{
		"": true, "en": true, "en-us": true, "en+f3": true, "mb-en1": true, "gmw/en-US": true,
		"-x": false, "../../etc/passwd": false, "en us": false, "en;rm": false, "/abs": false,
		strings.Repeat("a", 65): false,
	} {
		_, err := e.Synthesize(context.Background(), "hi", voice)
		if refused := parley.ErrorCode(err) == parley.EINVALID; refused == ok {
			t.Errorf("voice %q: err = %v, want accepted=%v", voice, err, ok)
		}
	}
}

// TestEspeakBadOutput runs stand-ins for espeak-ng: one prints something
// that isn't a WAV, one fails, one never stops printing (the output cap
// must end it rather than fill memory).
func TestEspeakBadOutput(t *testing.T) {
	runaway := filepath.Join(t.TempDir(), "runaway")
	if err := os.WriteFile(runaway, []byte("#!/bin/sh\nexec yes\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for prog, want := range map[string]string{"echo": "no usable WAV", "false": "exit status 1", runaway: "printed more than"} {
		path, err := exec.LookPath(prog)
		if err != nil {
			t.Fatalf("%s not found: %v", prog, err)
		}
		_, err = (&Espeak{Path: path}).Synthesize(context.Background(), "hi", "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s as espeak-ng: err = %v, want %q", prog, err, want)
		}
	}
	// Streamed: the same, except that output that is no WAV is refused
	// as soon as its header is read; a runaway printing a WAV is cut at
	// the cap.
	wavRunaway := filepath.Join(t.TempDir(), "wavrunaway")
	hdr := `RIFF\044\360\377\177WAVEfmt \020\000\000\000\001\000\001\000\100\037\000\000\200\076\000\000\002\000\020\000data\000\360\377\177`
	if err := os.WriteFile(wavRunaway, []byte("#!/bin/sh\nprintf '"+hdr+"'\nexec cat /dev/zero\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for prog, want := range map[string]string{"echo": "no usable WAV", "false": "exit status 1", runaway: "no usable WAV", wavRunaway: "printed more than"} {
		path, err := exec.LookPath(prog)
		if err != nil {
			t.Fatalf("%s not found: %v", prog, err)
		}
		var emitted int
		_, err = (&Espeak{Path: path}).SynthesizeStream(context.Background(), "hi", "", func(s []int16) { emitted += len(s) })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s as streaming espeak-ng: err = %v, want %q", prog, err, want)
		}
		if prog == wavRunaway && emitted == 0 {
			t.Error("the runaway's audio was not streamed before the cap")
		}
	}
}

// TestEspeakStream: the streamed audio, put together, is bit for bit
// the synthesized-whole audio, and a sentence comes in several pieces
// (it is streamed, not handed over at the end).
func TestEspeakStream(t *testing.T) {
	e, ok := LookupEspeak()
	if !ok {
		t.Skip("espeak-ng not on PATH (Debian: apt-get install espeak-ng)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, text := range []string{"yes", "Thank you for calling. Your payment of one hundred and twenty dollars is due on the thirty first of January, and we will send a reminder a week before."} {
		whole, err := e.Synthesize(ctx, text, "en-us")
		if err != nil {
			t.Fatal(err)
		}
		var got []int16
		pieces := 0
		res, err := e.SynthesizeStream(ctx, text, "en-us", func(s []int16) {
			pieces++
			got = append(got, s...)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, whole.Samples) || !slices.Equal(res.Samples, whole.Samples) || res.Rate != Rate {
			t.Errorf("%q: streamed %d samples (returned %d at %d Hz), whole %d: not the same audio", text, len(got), len(res.Samples), res.Rate, len(whole.Samples))
		}
		if len(text) > 100 && pieces < 2 {
			t.Errorf("%q came in %d piece(s)", text, pieces)
		}
	}
	if p, err := e.SynthesizeStream(ctx, "  ", "", func([]int16) { t.Error("blank text emitted audio") }); err != nil || len(p.Samples) != 0 || p.Rate != Rate {
		t.Errorf("blank text: %d samples at %d, %v", len(p.Samples), p.Rate, err)
	}
}

func TestDefaultSynthesizer(t *testing.T) {
	s := DefaultSynthesizer()
	_, err := exec.LookPath("espeak-ng")
	switch s.(type) {
	case *Espeak:
		if err != nil {
			t.Error("chose espeak-ng, which is not on PATH")
		}
	case ToneSynth:
		if err == nil {
			t.Error("chose ToneSynth though espeak-ng is on PATH")
		}
	default:
		t.Errorf("unexpected %T", s)
	}
}

// TestEspeak runs the real espeak-ng. It is the one test that may skip:
// espeak-ng is an optional program, and ToneSynth covers its absence.
func TestEspeak(t *testing.T) {
	e, ok := LookupEspeak()
	if !ok {
		t.Skip("espeak-ng not on PATH (Debian: apt-get install espeak-ng)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := e.Synthesize(ctx, "yes", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Rate != Rate || len(p.Samples) == 0 {
		t.Fatalf("got %d samples at %d Hz, want some at %d", len(p.Samples), p.Rate, Rate)
	}
	if d := p.Duration(); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("\"yes\" lasts %v", d)
	}
	if r := rms(p.Samples); r < 100 {
		t.Errorf("RMS %.1f: silent", r)
	}

	// A leading dash is text, not an option, thanks to "--".
	if p, err := e.Synthesize(ctx, "-v", ""); err != nil || len(p.Samples) == 0 {
		t.Errorf("text \"-v\": %d samples, %v", len(p.Samples), err)
	}
	if _, err := e.Synthesize(ctx, "yes", "xx-nosuchvoice"); err == nil || !strings.Contains(err.Error(), "voice") {
		t.Errorf("unknown voice: err = %v, want espeak-ng's complaint", err)
	}
	if p, err := e.Synthesize(ctx, "  ", ""); err != nil || len(p.Samples) != 0 || p.Rate != Rate {
		t.Errorf("blank text: %d samples at %d, %v", len(p.Samples), p.Rate, err)
	}

	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := e.Synthesize(done, "yes", ""); err == nil {
		t.Error("cancelled context: no error")
	}
}
