package sip

import (
	"context"
	"math"
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/rtp"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// phraseRecognizer is a streaming recognizer whose hypothesis is "yes"
// once it has been given loud frames: deterministic, so the test checks
// the end-of-turn rules, not an engine.
type phraseRecognizer struct{ complete bool }

func (r phraseRecognizer) Recognize(context.Context, audio.PCM, []string) (string, bool, error) {
	return "yes", true, nil
}

func (r phraseRecognizer) Stream(context.Context, []string) (RecogStream, error) {
	return &phraseStream{complete: r.complete}, nil
}

type phraseStream struct {
	mu       sync.Mutex
	loud     int
	complete bool
}

func (s *phraseStream) Write(f []int16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rms(f) > 1000 {
		s.loud++
	}
}

func (s *phraseStream) Complete() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.complete && s.loud >= 5
}

func (s *phraseStream) Finish(context.Context) (string, bool, error) { return "yes", true, nil }
func (s *phraseStream) Close()                                       {}

// playAnswer waits for conn's Listen to be listening (so the answer is
// never sent before the question is asked, however late the test's
// goroutines run), then sends pcm to the call at the 20 ms pace, then
// silence until ctx ends.
func playAnswer(ctx context.Context, conn *Conn, call *voicetest.PhoneCall, pcm []int16) {
	for {
		conn.media.mu.Lock()
		listening := conn.media.listen != nil
		conn.media.mu.Unlock()
		if listening {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	tick := time.NewTicker(rtp.FrameTime)
	defer tick.Stop()
	for i := 0; ; i += rtp.FrameSamples {
		frame := make([]int16, rtp.FrameSamples)
		if i < len(pcm) {
			copy(frame, pcm[i:])
		}
		_ = call.Send(g711.ULaw.AppendEncode(nil, frame))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func tone(d time.Duration) []int16 {
	s := make([]int16, int(d.Seconds()*audio.Rate))
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/audio.Rate))
	}
	return s
}

// TestClosedGrammarEndsTurnEarly: on an in-process call with deterministic
// audio, a closed-grammar listen whose streamed hypothesis is a complete
// phrase ends after GrammarSilence of silence, before the long EndSilence
// rule would have; an open listen, and a closed one whose hypothesis is
// not complete, wait for EndSilence. Silence is counted in received 20 ms
// frames, so the check holds however loaded the machine is.
func TestClosedGrammarEndsTurnEarly(t *testing.T) {
	vad := VAD{EndSilence: time.Second, GrammarSilence: 200 * time.Millisecond}
	for _, c := range []struct {
		name     string
		expect   []string
		complete bool
		reason   string
		endpoint time.Duration
	}{
		{"closed", []string{"yes", "no"}, true, "grammar", vad.GrammarSilence},
		{"open", nil, true, "silence", vad.EndSilence},
		{"closed-incomplete", []string{"yes", "no"}, false, "silence", vad.EndSilence},
	} {
		t.Run(c.name, func(t *testing.T) {
			ph, err := voicetest.StartPhone(g711.ULaw)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(ph.Close)
			tr := newTestTrunk(t, ph.Port, nil)
			tr.VAD, tr.Recognizer = vad, phraseRecognizer{complete: c.complete}
			ctx := ctxT(t, 30*time.Second)
			conn, call := dialPhone(ctx, t, tr, ph)
			pctx, stop := context.WithCancel(ctx)
			defer stop()
			go playAnswer(pctx, conn, call, append(make([]int16, audio.Rate/5), tone(400*time.Millisecond)...))
			text, ok, err := conn.Listen(ctx, 10*time.Second, c.expect)
			if err != nil || !ok || text != "yes" {
				t.Fatalf("listen: %q %v %v", text, ok, err)
			}
			turn := conn.LastTurn()
			if turn.EndReason != c.reason || turn.Endpoint != c.endpoint {
				t.Errorf("turn ended by %q after %v of silence, want %q after %v", turn.EndReason, turn.Endpoint, c.reason, c.endpoint)
			}
			if c.reason == "grammar" && !(turn.Endpoint < vad.EndSilence) {
				t.Errorf("closed grammar waited %v, the long rule is %v", turn.Endpoint, vad.EndSilence)
			}
			if lat := conn.LastLatency(); lat["end"] != c.reason {
				t.Errorf("latency %v", lat)
			}
		})
	}
}

// TestClosedGrammarPocketsphinx is the same with the real engine: espeak-ng
// says "yes", the resident pocketsphinx decodes it while it arrives and
// the turn ends on the grammar rule.
func TestClosedGrammarPocketsphinx(t *testing.T) {
	needPocketsphinx(t)
	requireTool(t, "espeak-ng")
	ps := &speech.Pocketsphinx{Mode: "library"}
	if _, err := ps.Warm(); err != nil {
		if os.Getenv("PARLEY_TEST_SPEECH") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	es, _ := audio.LookupEspeak()
	yes, err := es.Synthesize(context.Background(), "yes", "en-us")
	if err != nil {
		t.Fatal(err)
	}
	vad := VAD{EndSilence: 2 * time.Second, GrammarSilence: 200 * time.Millisecond}
	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ph.Close)
	tr := newTestTrunk(t, ph.Port, nil)
	tr.VAD, tr.Recognizer = vad, SpeechRecognizer{ps}
	ctx := ctxT(t, 30*time.Second)
	conn, call := dialPhone(ctx, t, tr, ph)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go playAnswer(pctx, conn, call, append(make([]int16, audio.Rate/2), yes.Samples...))
	text, ok, err := conn.Listen(ctx, 10*time.Second, []string{"yes", "no"})
	if err != nil || !ok || text != "yes" {
		t.Fatalf("listen: %q %v %v", text, ok, err)
	}
	turn := conn.LastTurn()
	t.Logf("turn %+v", turn)
	if turn.EndReason != "grammar" || turn.Endpoint >= vad.EndSilence || !turn.Streamed {
		t.Errorf("turn ended by %q after %v (streamed %v), want the grammar rule before %v", turn.EndReason, turn.Endpoint, turn.Streamed, vad.EndSilence)
	}
}

// TestDetectorAdapts: the start threshold follows the line's noise floor,
// so a level that is speech on a quiet line is noise on a noisy one, and
// speech still gets through on the noisy line.
func TestDetectorAdapts(t *testing.T) {
	frame := func(level float64, r *rand.Rand) []int16 {
		f := make([]int16, rtp.FrameSamples)
		for i := range f {
			f[i] = int16(level * math.Sqrt2 * math.Sin(float64(i)*0.7+r.Float64()))
		}
		return f
	}
	r := rand.New(rand.NewSource(1))
	quiet := newDetector(VAD{}.withDefaults())
	for range 50 {
		quiet.classify(frame(10, r))
	}
	if !quiet.classify(frame(400, r)).loud {
		t.Error("quiet line: level 400 not loud")
	}
	noisy := newDetector(VAD{}.withDefaults())
	for range 150 { // 3 s of steady noise
		noisy.classify(frame(400, r))
	}
	if h := noisy.classify(frame(400, r)); h.loud || h.voiced {
		t.Errorf("noisy line: noise at the floor level classified %+v (floor %.0f)", h, noisy.floor)
	}
	if !noisy.classify(frame(3000, r)).loud {
		t.Errorf("noisy line: speech at 3000 not loud (floor %.0f)", noisy.floor)
	}
	fixed := newDetector(VAD{Threshold: 500}.withDefaults())
	if fixed.classify(frame(450, r)).loud || !fixed.classify(frame(600, r)).loud {
		t.Error("a fixed threshold is not kept")
	}
}
