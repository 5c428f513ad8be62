package sip

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// gatedSynth synthesizes a tone per text; the texts in gate wait until
// the test opens it, so a test can hold back a later clause.
type gatedSynth struct {
	gate  chan struct{}
	held  string // a text holding it waits
	mu    sync.Mutex
	asked []string
}

func (s *gatedSynth) Synthesize(ctx context.Context, text, _ string) (audio.PCM, error) {
	s.mu.Lock()
	s.asked = append(s.asked, text)
	s.mu.Unlock()
	if strings.Contains(text, s.held) {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return audio.PCM{}, ctx.Err()
		}
	}
	if text == "Broken clause." {
		return audio.PCM{}, errors.New("engine down")
	}
	return audio.PCM{Rate: audio.Rate, Samples: tone(300 * time.Millisecond)}, nil
}

// TestSayStreamsClauses: a prompt of several clauses starts playing once
// its first clause is synthesized: the callee hears audio while the
// second clause's synthesis is still held back, and the prompt ends only
// after the last clause has played. A clause that fails ends the prompt
// with its error. No timing is asserted, only the order of events.
func TestSayStreamsClauses(t *testing.T) {
	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ph.Close)
	tr := newTestTrunk(t, ph.Port, nil)
	first, second := "Hello, this is the clinic calling you.", "Can you come on Monday morning?"
	synth := &gatedSynth{gate: make(chan struct{}), held: second}
	tr.Synth = synth
	ctx := ctxT(t, 30*time.Second)
	conn, call := dialPhone(ctx, t, tr, ph)
	heard, voiced := heardVoiced(call, 5)
	said := make(chan error, 1)
	go func() { said <- conn.Say(ctx, first+" "+second) }()
	select {
	case <-heard: // the first clause plays while the second is held back
	case err := <-said:
		t.Fatalf("Say returned before any audio was heard: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no audio while the second clause was being synthesized: the prompt waited for the whole text")
	}
	select {
	case err := <-said:
		t.Fatalf("Say returned while its second clause was still being synthesized: %v", err)
	default:
	}
	close(synth.gate)
	if err := <-said; err != nil {
		t.Fatal(err)
	}
	n := voiced()
	// Two 300 ms tones are 30 frames; the gap between them is silence.
	if n < 25 {
		t.Errorf("heard %d voiced frames, want the two clauses' ~30", n)
	}
	if err := conn.Say(ctx, "This first clause plays fine. Broken clause."); err == nil || err.Error() != "engine down" {
		t.Errorf("a failing clause: err %v", err)
	}
}

func frameRMS(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(1, len(s))))
}

// dialPhone calls the in-process phone ph through tr and returns both
// ends of the answered call; the trunk's end hangs up when the test ends.
func dialPhone(ctx context.Context, t *testing.T, tr *Trunk, ph *voicetest.Phone) (*Conn, *voicetest.PhoneCall) {
	t.Helper()
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: "100"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	t.Cleanup(func() { _, _ = conn.Hangup(ctx) })
	call, err := ph.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return conn, call
}

// gatedStreamSynth streams each text as two 300 ms tones, the second
// held back until the test opens gate: a clause still being synthesized.
type gatedStreamSynth struct {
	gate chan struct{}
}

func (s *gatedStreamSynth) Synthesize(ctx context.Context, text, voice string) (audio.PCM, error) {
	return s.SynthesizeStream(ctx, text, voice, func([]int16) {})
}

func (s *gatedStreamSynth) SynthesizeStream(ctx context.Context, _, _ string, emit func([]int16)) (audio.PCM, error) {
	a, b := tone(300*time.Millisecond), tone(300*time.Millisecond)
	emit(a)
	select {
	case <-s.gate:
	case <-ctx.Done():
		return audio.PCM{}, ctx.Err()
	}
	emit(b)
	return audio.PCM{Rate: audio.Rate, Samples: append(a, b...)}, nil
}

// TestSayStreamsWithinClause: with an engine that streams, a one-clause
// prompt starts playing with the clause's first audio: the callee hears
// it while the rest of the clause is held back, and the prompt ends only
// after the rest has played. Only the order of events is asserted.
func TestSayStreamsWithinClause(t *testing.T) {
	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ph.Close)
	tr := newTestTrunk(t, ph.Port, nil)
	synth := &gatedStreamSynth{gate: make(chan struct{})}
	tr.Synth = synth
	ctx := ctxT(t, 30*time.Second)
	conn, call := dialPhone(ctx, t, tr, ph)
	heard, voiced := heardVoiced(call, 5)
	said := make(chan error, 1)
	go func() { said <- conn.Say(ctx, "One clause only") }()
	select {
	case <-heard:
	case err := <-said:
		t.Fatalf("Say returned before any audio was heard: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no audio while the clause was being synthesized: the prompt waited for the whole clause")
	}
	select {
	case err := <-said:
		t.Fatalf("Say returned while its clause was still being synthesized: %v", err)
	default:
	}
	close(synth.gate)
	if err := <-said; err != nil {
		t.Fatal(err)
	}
	if n := voiced(); n < 25 { // the two 300 ms pieces are 30 frames
		t.Errorf("heard %d voiced frames, want the clause's ~30", n)
	}
}

// heardVoiced: heard is closed once the phone has received n voiced
// packets; voiced counts them.
func heardVoiced(call *voicetest.PhoneCall, n int) (heard <-chan struct{}, voiced func() int) {
	var mu sync.Mutex
	count := 0
	ch := make(chan struct{})
	call.OnPacket(func(pkt *pionrtp.Packet, _ time.Time) {
		if frameRMS(g711.ULaw.AppendDecode(nil, pkt.Payload)) < 300 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		count++
		if count == n {
			close(ch)
		}
	})
	return ch, func() int {
		mu.Lock()
		defer mu.Unlock()
		return count
	}
}
