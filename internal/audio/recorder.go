package audio

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MaxRecording bounds a Recorder's timeline. At 8 kHz stereo an hour is
// 115 MB of samples; a runaway call must not grow past that.
const MaxRecording = time.Hour

// ErrTooLong is the error of a Recorder given audio past MaxRecording.
var ErrTooLong = errors.New("audio: recording longer than the limit")

// Leg is one side of a call.
type Leg int

const (
	Agent  Leg = iota // our side: the virtual agent or operator; left channel
	Callee            // the person called; right channel
)

func (l Leg) String() string {
	switch l {
	case Agent:
		return "agent"
	case Callee:
		return "callee"
	}
	return fmt.Sprintf("Leg(%d)", int(l))
}

// Recorder builds the stereo recording of a call on a timeline: each leg
// is a channel, segments land at their offset from the start of the call,
// gaps are silence, and overlapping segments on one leg are mixed. It is
// safe for concurrent use, so the two directions of a real call can be
// recorded from their own goroutines.
//
// Add has no error result, so a call's audio path needn't check one per
// frame; like bufio.Writer, the first error sticks and WAV returns it.
type Recorder struct {
	mu   sync.Mutex
	rate int
	legs [2]track
	err  error
}

// track is one leg's samples in fixed chunks: a call's media clock adds a
// frame at a time, and one growing slice would copy the whole recording
// on every doubling (tens of MB for a long call, on the thread that ticks
// every call of the node).
type track struct {
	chunks [][]int16
	n      int // samples so far: the end of the last segment
}

// trackChunk is a chunk's samples: about a second at 8 kHz.
const trackChunk = 8192

// mix adds samples into the track from sample start on, growing it.
func (t *track) mix(start int, samples []int16) {
	end := start + len(samples)
	for len(t.chunks)*trackChunk < end {
		t.chunks = append(t.chunks, make([]int16, trackChunk))
	}
	t.n = max(t.n, end)
	for i, v := range samples {
		k := start + i
		c := t.chunks[k/trackChunk]
		c[k%trackChunk] = clamp16(int64(c[k%trackChunk]) + int64(v))
	}
}

// flat is the track's first n samples in one slice, silence past its end.
func (t *track) flat(n int) []int16 {
	out := make([]int16, n)
	for i, c := range t.chunks {
		if i*trackChunk >= n {
			break
		}
		copy(out[i*trackChunk:], c)
	}
	return out
}

// NewRecorder starts an empty recording at rate (normally Rate).
func NewRecorder(rate int) *Recorder {
	r := &Recorder{rate: rate}
	if rate <= 0 || rate > maxRate {
		r.err = fmt.Errorf("audio: recorder sample rate %d", rate)
	}
	return r
}

// Add mixes p into leg starting at offset at, resampling it to the
// recorder's rate first. A segment that would end past MaxRecording is
// dropped whole and the recording fails with ErrTooLong.
func (r *Recorder) Add(leg Leg, at time.Duration, p PCM) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	switch {
	case leg != Agent && leg != Callee:
		r.err = fmt.Errorf("audio: no such leg %v", leg)
	case at < 0:
		r.err = fmt.Errorf("audio: %v segment at negative offset %v", leg, at)
	case p.Rate <= 0 && len(p.Samples) > 0:
		r.err = fmt.Errorf("audio: %v segment has no sample rate", leg)
	}
	if r.err != nil || len(p.Samples) == 0 {
		return
	}
	if p.Rate != r.rate {
		p = Resample(p, r.rate)
	}
	start := samplesIn(r.rate, at)
	end := start + len(p.Samples)
	if end > samplesIn(r.rate, MaxRecording) {
		r.err = fmt.Errorf("%w: %v segment ends at %v, limit %v", ErrTooLong, leg, at+p.Duration(), MaxRecording)
		return
	}
	r.legs[leg].mix(start, p.Samples)
}

// Duration is the length of the recording so far: the end of the last
// segment on either leg.
func (r *Recorder) Duration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := max(r.legs[Agent].n, r.legs[Callee].n)
	return durationOf(r.rate, n)
}

// WAV encodes the recording as a stereo 16-bit WAV file, left the agent and
// right the callee, the shorter leg padded with silence. It returns the
// first error Add met, if any.
func (r *Recorder) WAV() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	n := max(r.legs[Agent].n, r.legs[Callee].n)
	chans := [][]int16{r.legs[Agent].flat(n), r.legs[Callee].flat(n)}
	var buf bytes.Buffer
	buf.Grow(44 + 4*n)
	if err := EncodeWAV(&buf, chans, r.rate); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
