package bridge

import (
	"math"
	"time"

	"github.com/parley-cc/parley/internal/audio"
)

// Hold music is generated, not shipped: a slow arpeggio of soft sine notes
// (C major, then A minor, F major and G major, one chord a bar) with a
// bell-like decay, in the 500-800 Hz band where narrowband telephony
// sounds its best. Generated audio has no licence to track and is the
// same on every node, and its notes are known frequencies, which the
// tests look for.
var holdNotes = [][]float64{
	{523.25, 659.26, 783.99, 659.26}, // C5 E5 G5 E5
	{523.25, 659.26, 880.00, 659.26}, // C5 E5 A5 E5 (A minor)
	{523.25, 698.46, 880.00, 698.46}, // C5 F5 A5 F5 (F major)
	{587.33, 698.46, 783.99, 698.46}, // D5 F5 G5 F5 (G7)
}

// HoldNotes are the frequencies (Hz) HoldMusic is made of.
func HoldNotes() []float64 {
	seen := map[float64]bool{}
	var out []float64
	for _, bar := range holdNotes {
		for _, f := range bar {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

const (
	holdNote      = 400 * time.Millisecond
	holdAmplitude = 0.18 * 32767 // about -15 dBFS: clearly audible, never harsh
	holdDecay     = 3.0          // per second: a note fades to a fifth by its end
	holdAttack    = 10 * time.Millisecond
)

// HoldMusic returns one 6.4 s phrase of the hold music at audio.Rate,
// which loops seamlessly (each note fades out before the next).
func HoldMusic() audio.PCM {
	per := int(holdNote.Seconds() * audio.Rate)
	attack := int(holdAttack.Seconds() * audio.Rate)
	out := make([]int16, 0, per*16)
	for _, bar := range holdNotes {
		for _, hz := range bar {
			for i := range per {
				t := float64(i) / audio.Rate
				env := math.Exp(-holdDecay * t)
				if i < attack {
					env *= float64(i) / float64(attack)
				}
				if rest := per - 1 - i; rest < attack {
					env *= float64(rest) / float64(attack)
				}
				v := holdAmplitude * env * (math.Sin(2*math.Pi*hz*t) + 0.25*math.Sin(4*math.Pi*hz*t)) / 1.25
				out = append(out, int16(math.Round(v)))
			}
		}
	}
	return audio.PCM{Rate: audio.Rate, Samples: out}
}

// HoldAudio is what a callee on hold hears, over and over: prompt (e.g.
// the agent's "please hold" synthesised), a pause, then two phrases of
// HoldMusic. Without a prompt it is the music alone.
func HoldAudio(prompt audio.PCM) audio.PCM {
	music := HoldMusic()
	if len(prompt.Samples) == 0 {
		return music
	}
	if prompt.Rate != audio.Rate {
		prompt = audio.Resample(prompt, audio.Rate)
	}
	pause := audio.Silence(audio.Rate, 600*time.Millisecond).Samples
	out := make([]int16, 0, len(prompt.Samples)+len(pause)+2*len(music.Samples))
	out = append(out, prompt.Samples...)
	out = append(out, pause...)
	out = append(out, music.Samples...)
	out = append(out, music.Samples...)
	return audio.PCM{Rate: audio.Rate, Samples: out}
}
