package voicetest

import (
	"math"
	"sync"

	"github.com/parley-cc/parley/internal/voice/g711"
)

// FrameSamples is a 20 ms frame at 8 kHz.
const FrameSamples = 160

// Tone is a continuous sine wave cut into 20 ms frames.
type Tone struct {
	Hz  float64
	Amp float64 // peak, of 32767; 0 means 8000 (about -12 dBFS)
	Law g711.Law
	n   int
}

// Frame returns the tone's next 20 ms, encoded.
func (t *Tone) Frame() []byte {
	amp := t.Amp
	if amp == 0 {
		amp = 8000
	}
	pcm := make([]int16, FrameSamples)
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*t.Hz*float64(t.n+i)/8000))
	}
	t.n += FrameSamples
	return t.Law.AppendEncode(nil, pcm)
}

// Silence is a 20 ms frame of silence in law.
func Silence(law g711.Law) []byte {
	f := make([]byte, FrameSamples)
	for i := range f {
		f[i] = law.Silence()
	}
	return f
}

// Goertzel is the share (0-1) of samples' power at hz: the Goertzel
// filter's power over the total, so loudness doesn't matter. A pure tone
// at hz gives about 0.5 (its power splits between +hz and -hz); speech or
// another tone near 0; silence 0.
func Goertzel(samples []int16, hz float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	w := 2 * math.Pi * hz / 8000
	c := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range samples {
		x := float64(v)
		total += x * x
		s1, s2 = x+c*s1-s2, s1
	}
	if total == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return power / (total * float64(len(samples)))
}

// RMS is the samples' root mean square level (of 32768).
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, v := range samples {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// Heard collects decoded audio as it arrives, for a test to inspect.
// Safe for concurrent use.
type Heard struct {
	mu      sync.Mutex
	samples []int16
}

// Add decodes frame (in law) and appends it.
func (h *Heard) Add(frame []byte, law g711.Law) {
	h.mu.Lock()
	h.samples = law.AppendDecode(h.samples, frame)
	h.mu.Unlock()
}

// Mark is the number of samples heard so far, a point to look from.
func (h *Heard) Mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.samples)
}

// Since returns a copy of what was heard after mark.
func (h *Heard) Since(mark int) []int16 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if mark > len(h.samples) {
		return nil
	}
	return append([]int16(nil), h.samples[mark:]...)
}

// Tone is the highest share of power at hz (Goertzel) in any window of
// 800 samples (100 ms) heard after mark: whether the tone was heard at
// all, however briefly.
func (h *Heard) Tone(mark int, hz float64) float64 {
	s := h.Since(mark)
	best := 0.0
	for i := 0; i+800 <= len(s); i += 400 {
		best = max(best, Goertzel(s[i:i+800], hz))
	}
	return best
}
