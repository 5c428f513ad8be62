package audio

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// at8k is the offset of sample n at 8 kHz, where a sample is exactly 125µs.
func at8k(n int) time.Duration { return time.Duration(n) * time.Second / 8000 }

func pcm8k(v ...int16) PCM { return PCM{Rate: 8000, Samples: v} }

type segment struct {
	leg Leg
	at  int // in samples
	p   PCM
}

func TestRecorderTimeline(t *testing.T) {
	for _, c := range []struct {
		name          string
		segs          []segment
		agent, callee []int16
	}{
		{"overlay mixes",
			[]segment{{Agent, 0, pcm8k(100, 100, 100, 100)}, {Agent, 2, pcm8k(10, 10, 10)}},
			[]int16{100, 100, 110, 110, 10}, []int16{0, 0, 0, 0, 0}},
		{"gap is silence",
			[]segment{{Callee, 3, pcm8k(5, 6)}},
			[]int16{0, 0, 0, 0, 0}, []int16{0, 0, 0, 5, 6}},
		{"shorter leg padded",
			[]segment{{Agent, 0, pcm8k(1, 2, 3, 4, 5, 6)}, {Callee, 1, pcm8k(-1, -2)}},
			[]int16{1, 2, 3, 4, 5, 6}, []int16{0, -1, -2, 0, 0, 0}},
		{"segment inside existing audio",
			[]segment{{Callee, 0, pcm8k(1, 1, 1, 1)}, {Callee, 1, pcm8k(2)}},
			[]int16{0, 0, 0, 0}, []int16{1, 3, 1, 1}},
		{"mix saturates",
			[]segment{{Agent, 0, pcm8k(30000, -30000)}, {Agent, 0, pcm8k(30000, -30000)}},
			[]int16{32767, -32768}, []int16{0, 0}},
		{"empty segment changes nothing",
			[]segment{{Agent, 0, pcm8k(7)}, {Callee, 100, PCM{}}},
			[]int16{7}, []int16{0}},
		{"other rate resampled",
			[]segment{{Agent, 0, PCM{Rate: 16000, Samples: []int16{500, 500, 500, 500, 500, 500, 500, 500}}}},
			[]int16{500, 500, 500, 500}, []int16{0, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewRecorder(8000)
			for _, s := range c.segs {
				r.Add(s.leg, at8k(s.at), s.p)
			}
			if got, want := r.Duration(), at8k(len(c.agent)); got != want {
				t.Errorf("Duration() = %v, want %v", got, want)
			}
			wav, err := r.WAV()
			if err != nil {
				t.Fatal(err)
			}
			rate, ch, err := DecodeWAV(bytes.NewReader(wav))
			if err != nil {
				t.Fatal(err)
			}
			// Left is the agent, right the callee: that is the contract
			// with whoever listens to or transcribes the recording.
			if rate != 8000 || len(ch) != 2 {
				t.Fatalf("recording has %d channels at %d Hz, want stereo 8000", len(ch), rate)
			}
			if !slices.Equal(ch[0], c.agent) {
				t.Errorf("left (agent) = %v, want %v", ch[0], c.agent)
			}
			if !slices.Equal(ch[1], c.callee) {
				t.Errorf("right (callee) = %v, want %v", ch[1], c.callee)
			}
		})
	}
}

func TestRecorderEmpty(t *testing.T) {
	wav, err := NewRecorder(Rate).WAV()
	if err != nil {
		t.Fatal(err)
	}
	if len(wav) != 44 {
		t.Errorf("empty recording is %d bytes, want a bare 44-byte header", len(wav))
	}
}

func TestRecorderLimit(t *testing.T) {
	// At 100 Hz an hour is 360,000 samples: the limit, without 115 MB.
	r := NewRecorder(100)
	r.Add(Agent, MaxRecording-time.Second, PCM{Rate: 100, Samples: make([]int16, 100)})
	if _, err := r.WAV(); err != nil {
		t.Fatalf("segment ending exactly at the limit refused: %v", err)
	}
	if r.Duration() != MaxRecording {
		t.Errorf("Duration() = %v, want %v", r.Duration(), MaxRecording)
	}
	r.Add(Callee, MaxRecording, PCM{Rate: 100, Samples: []int16{1}})
	if _, err := r.WAV(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("segment past the limit: err = %v, want ErrTooLong", err)
	}
	r.Add(Callee, 0, PCM{Rate: 100, Samples: []int16{1}})
	if _, err := r.WAV(); !errors.Is(err, ErrTooLong) {
		t.Errorf("error did not stick: %v", err)
	}
}

func TestRecorderRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		rec  func() *Recorder
	}{
		{"zero rate", func() *Recorder { return NewRecorder(0) }},
		{"bad leg", func() *Recorder { r := NewRecorder(Rate); r.Add(Leg(2), 0, pcm8k(1)); return r }},
		{"negative offset", func() *Recorder { r := NewRecorder(Rate); r.Add(Agent, -time.Second, pcm8k(1)); return r }},
		{"segment without rate", func() *Recorder { r := NewRecorder(Rate); r.Add(Agent, 0, PCM{Samples: []int16{1}}); return r }},
	} {
		if _, err := c.rec().WAV(); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(Rate)
	done := make(chan struct{})
	for _, leg := range []Leg{Agent, Callee} {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				r.Add(leg, at8k(i*10), pcm8k(1, 1, 1, 1, 1, 1, 1, 1, 1, 1))
			}
		}()
	}
	<-done
	<-done
	if r.Duration() != at8k(1000) {
		t.Errorf("Duration() = %v, want %v", r.Duration(), at8k(1000))
	}
}

// TestRecorderChunks: segments that straddle the tracks' chunks, overlap,
// and leave gaps give the samples one flat timeline would.
func TestRecorderChunks(t *testing.T) {
	r := NewRecorder(Rate)
	var want [2][]int16
	put := func(leg Leg, start int, p []int16) {
		r.Add(leg, time.Duration(start)*time.Second/Rate, PCM{Rate: Rate, Samples: p})
		w := want[leg]
		if end := start + len(p); end > len(w) {
			w = append(w, make([]int16, end-len(w))...)
		}
		for i, v := range p {
			w[start+i] = clamp16(int64(w[start+i]) + int64(v))
		}
		want[leg] = w
	}
	seg := func(n int, v int16) []int16 {
		p := make([]int16, n)
		for i := range p {
			p[i] = v + int16(i%7)
		}
		return p
	}
	put(Agent, trackChunk-100, seg(300, 10))           // across the first boundary
	put(Agent, trackChunk-50, seg(100, 20))            // overlapping it
	put(Callee, 3*trackChunk+5, seg(2*trackChunk, 30)) // after a gap, across two boundaries
	put(Agent, 0, seg(160, 32000))                     // near full scale, at the start
	wav, err := r.WAV()
	if err != nil {
		t.Fatal(err)
	}
	rate, ch, err := DecodeWAV(bytes.NewReader(wav))
	if err != nil || rate != Rate || len(ch) != 2 {
		t.Fatalf("decode: rate %d, %d channels, %v", rate, len(ch), err)
	}
	n := max(len(want[0]), len(want[1]))
	for leg := range 2 {
		w := append(want[leg], make([]int16, n-len(want[leg]))...)
		if len(ch[leg]) != n {
			t.Fatalf("leg %d: %d samples, want %d", leg, len(ch[leg]), n)
		}
		for i := range w {
			if ch[leg][i] != w[i] {
				t.Fatalf("leg %d sample %d: %d, want %d", leg, i, ch[leg][i], w[i])
			}
		}
	}
	if got, wantD := r.Duration(), time.Duration(n)*time.Second/Rate; got != wantD {
		t.Errorf("Duration %v, want %v", got, wantD)
	}
}
