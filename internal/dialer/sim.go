package dialer

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/outbound"
)

// SimTrunk is the built-in simulated trunk: deterministic callees for demos,
// tests and load tests. Two initial entities of the dialog control it:
// sim_answer (answer | no_answer | busy | fail; default answer) and
// sim_say (a JSON array of what the callee says, one string per listen;
// silence once it runs out). It produces what a real call does: transcript
// turns for both sides and a two-leg WAV recording, on a virtual timeline
// so that a simulated call takes no real time.
type SimTrunk struct {
	Synth audio.Synthesizer // speech for both legs; audio.DefaultSynthesizer() if nil
	Log   *slog.Logger
	// Pace is how much real time a simulated second takes: 0 (the default)
	// runs calls instantly, 1 at the speed of a real call, for demos and
	// for tests that need calls in flight.
	Pace float64
}

// simCallsPerSecond is the sim trunk's pace: it reaches no carrier, so
// the telecom norm (DefaultCallsPerSecond) does not apply; its calls are
// bounded by the agents' channel limits and the node's call cap, and the
// dialer benchmark measures the dialer through it.
const simCallsPerSecond = 1e6

// CallsPerSecond makes the sim trunk a RatedTrunk without a carrier's pace.
func (t *SimTrunk) CallsPerSecond() float64 { return simCallsPerSecond }

// Dial answers according to sim_answer.
func (t *SimTrunk) Dial(ctx context.Context, req CallRequest) (Conn, string, error) {
	switch req.Entities[outbound.KeySimAnswer] {
	case "no_answer":
		return nil, ResultNoAnswer, nil
	case "busy":
		return nil, ResultBusy, nil
	case "fail":
		return nil, ResultFail, nil
	}
	var says []string
	if s := req.Entities[outbound.KeySimSay]; s != "" {
		_ = json.Unmarshal([]byte(s), &says) // validated at upload
	}
	synth := t.Synth
	if synth == nil {
		synth = audio.DefaultSynthesizer()
	}
	agentVoice := "en"
	if v, platform, ok := strings.Cut(req.Voice, "@"); ok && platform == "espeak" {
		agentVoice = v
	}
	return &simConn{synth: synth, log: t.Log, says: says, agentVoice: agentVoice, rec: audio.NewRecorder(audio.Rate), pace: t.Pace,
		entities: req.Entities, line: simLine{done: make(chan struct{})}}, ResultAnswered, nil
}

// simConn is an answered simulated call.
type simConn struct {
	synth      audio.Synthesizer
	log        *slog.Logger
	says       []string
	agentVoice string
	rec        *audio.Recorder
	pace       float64
	entities   map[string]string
	line       simLine // the call handed over (simline.go)

	mu  sync.Mutex
	now time.Duration // virtual time into the call
}

const (
	simGap      = 300 * time.Millisecond // pause between turns
	calleeVoice = "en-us"
)

func (c *simConn) speak(ctx context.Context, leg audio.Leg, voice, text string) {
	pcm, err := c.synth.Synthesize(ctx, text, voice)
	if err != nil {
		// A recording without this turn beats a failed call; the transcript
		// still has the text.
		if c.log != nil {
			c.log.Warn("sim trunk: speech synthesis failed", "error", err)
		}
		pcm = audio.Silence(audio.Rate, 500*time.Millisecond)
	}
	c.mu.Lock()
	c.rec.Add(leg, c.now, pcm)
	c.now += pcm.Duration() + simGap
	c.mu.Unlock()
	c.wait(ctx, pcm.Duration()+simGap)
}

// wait lets real time pass in step with the virtual timeline.
func (c *simConn) wait(ctx context.Context, d time.Duration) {
	if c.pace <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(float64(d) * c.pace))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (c *simConn) Say(ctx context.Context, text string) error {
	c.speak(ctx, audio.Agent, c.agentVoice, text)
	return ctx.Err()
}

func (c *simConn) Listen(ctx context.Context, timeout time.Duration, expect []string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	if len(c.says) == 0 {
		c.mu.Lock()
		c.now += timeout // the callee stays silent until the timeout
		c.mu.Unlock()
		c.wait(ctx, timeout)
		return "", false, ctx.Err()
	}
	text := c.says[0]
	c.says = c.says[1:]
	c.speak(ctx, audio.Callee, calleeVoice, text)
	return text, true, nil
}

func (c *simConn) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simConn) Hangup(ctx context.Context) ([]byte, error) {
	c.closeLine()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.WAV()
}
