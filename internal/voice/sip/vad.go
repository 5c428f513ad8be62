package sip

import (
	"math"
	"time"

	"github.com/parley-cc/parley/internal/voice/rtp"
)

// VAD configures the call's voice-activity detector and end-of-turn
// rules. The detector is energy based over 20 ms frames, with thresholds
// that follow the line's noise floor (unless Threshold fixes one): a
// frame is loud above the start threshold (these start an utterance and
// cut a prompt) and voiced above a lower continuation threshold (these
// keep an utterance going, so a soft final consonant is not silence).
type VAD struct {
	// Threshold, if set, is a fixed RMS start threshold (of 32768) instead
	// of the adaptive one; the continuation threshold is then 40% of it.
	Threshold float64
	// StartFrames loud frames in a row start an utterance (and cut a
	// prompt); 0 means 3 (60 ms).
	StartFrames int
	// EndSilence of unvoiced frames ends an open utterance (a listen with
	// no expected phrases, or a recognizer that cannot stream); 0 means
	// DefaultEndSilence. PARLEY_VOICE_END_SILENCE.
	EndSilence time.Duration
	// GrammarSilence ends a closed-grammar utterance once the streaming
	// recognizer holds a complete expected phrase and this much silence
	// followed it; 0 means DefaultGrammarSilence.
	// PARLEY_VOICE_GRAMMAR_SILENCE.
	GrammarSilence time.Duration
	// StableSilence ends an open utterance early (before EndSilence) on a
	// quiet line once the streaming recognizer's hypothesis is not empty,
	// has not changed over this much silence and does not end in a word
	// that asks for more ("and", "the", "um"; continuationWords). On a
	// noisy line it grows toward EndSilence (stableSilence). 0 means
	// DefaultStableSilence; below 0 turns the rule off, so open listens
	// end on EndSilence alone. PARLEY_VOICE_STABLE_SILENCE.
	StableSilence time.Duration
	// MaxUtterance bounds one utterance; 0 means 15 s.
	MaxUtterance time.Duration
}

// Defaults of the end-of-turn rules.
const (
	DefaultEndSilence     = 600 * time.Millisecond
	DefaultGrammarSilence = 200 * time.Millisecond
	DefaultStableSilence  = 200 * time.Millisecond
)

// Adaptive detector bounds: the start threshold is noiseRatio times the
// noise floor (about 12 dB above it), never below minStart (quiet lines,
// digital silence) nor above maxStart (a line so noisy that speech must
// still get through).
const (
	noiseRatio   = 4.0
	minStart     = 200.0
	maxStart     = 4000.0
	contRatio    = 0.4
	minCont      = 80.0
	initialFloor = 30.0
)

func (v VAD) withDefaults() VAD {
	if v.StartFrames <= 0 {
		v.StartFrames = 3
	}
	if v.EndSilence <= 0 {
		v.EndSilence = DefaultEndSilence
	}
	if v.GrammarSilence <= 0 {
		v.GrammarSilence = DefaultGrammarSilence
	}
	if v.GrammarSilence > v.EndSilence {
		v.GrammarSilence = v.EndSilence
	}
	if v.StableSilence == 0 {
		v.StableSilence = DefaultStableSilence
	}
	if v.StableSilence > v.EndSilence {
		v.StableSilence = v.EndSilence
	}
	if v.MaxUtterance <= 0 {
		v.MaxUtterance = 15 * time.Second
	}
	return v
}

// heard is one received frame with the detector's verdict.
type heard struct {
	samples []int16
	loud    bool    // above the start threshold
	voiced  bool    // above the continuation threshold
	floor   float64 // the line's noise floor after this frame
	// concealed: no packet came for this frame (the jitter buffer made it
	// up). A gap in the packets is no sign the callee stopped talking, so
	// the stable-hypothesis rule counts only silence that arrived.
	concealed bool
}

// detector is the per-call adaptive VAD; the media tick loop owns it. The
// noise floor is the quietest frame of the last floorFrames (minimum
// statistics): speech has pauses between words that reveal the line's
// noise, and a line that turns steadily noisy is followed within the
// window.
type detector struct {
	vad   VAD
	floor float64
	ring  [floorFrames]float64
	n     int
}

// floorFrames is the noise floor's window: 1.5 s.
const floorFrames = 75

func newDetector(v VAD) *detector { return &detector{vad: v, floor: initialFloor} }

func (d *detector) thresholds() (start, cont float64) {
	if d.vad.Threshold > 0 {
		return d.vad.Threshold, d.vad.Threshold * contRatio
	}
	start = min(max(d.floor*noiseRatio, minStart), maxStart)
	return start, max(start*contRatio, minCont)
}

// classify judges one frame, then lets it update the noise floor.
func (d *detector) classify(frame []int16) heard {
	r := rms(frame)
	start, cont := d.thresholds()
	h := heard{samples: frame, loud: r > start, voiced: r > cont}
	d.ring[d.n%floorFrames] = r
	d.n++
	floor := r
	for _, v := range d.ring[:min(d.n, floorFrames)] {
		floor = min(floor, v)
	}
	if d.n < floorFrames {
		floor = min(floor, initialFloor) // not a full window yet: assume a quiet line
	}
	d.floor = max(floor, 1)
	h.floor = d.floor
	return h
}

// Noise floors between which the stable-hypothesis rule's silence grows
// from StableSilence to EndSilence: at quietFloor the start threshold is
// still minStart, at noisyFloor it is maxStart.
const (
	quietFloor = minStart / noiseRatio
	noisyFloor = maxStart / noiseRatio
)

// stableSilence is the silence the stable-hypothesis rule waits for on a
// line with this noise floor: StableSilence on a quiet line, growing (on
// a log scale of the floor) to EndSilence on a line so noisy that the
// detector calls soft speech silence, rounded up to whole frames. Below
// 0 (off) it is EndSilence.
func (v VAD) stableSilence(floor float64) time.Duration {
	if v.StableSilence < 0 {
		return v.EndSilence
	}
	t := 0.0
	if floor > quietFloor {
		t = min(math.Log(floor/quietFloor)/math.Log(noisyFloor/quietFloor), 1)
	}
	d := v.StableSilence + time.Duration(t*float64(v.EndSilence-v.StableSilence))
	return (d + rtp.FrameTime - 1) / rtp.FrameTime * rtp.FrameTime
}

func rms(frame []int16) float64 {
	if len(frame) == 0 {
		return 0
	}
	var sum float64
	for _, s := range frame {
		f := float64(s)
		sum += f * f
	}
	return math.Sqrt(sum / float64(len(frame)))
}

// DefaultJitterMin is the SIP receive jitter buffer's minimum delay: two
// frames, less than the RTP package's general 60 ms since the buffer adds
// a frame by itself whenever a packet comes late.
// PARLEY_VOICE_JITTER_MIN.
const DefaultJitterMin = 40 * time.Millisecond
