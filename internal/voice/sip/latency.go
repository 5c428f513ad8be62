package sip

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-cc/parley/internal/audio"
)

// TurnTimes are the latency stages of a call's last turn: from the end of
// the callee's voiced audio (as the detector heard it) to the agent's
// first reply packet on the wire.
type TurnTimes struct {
	EndReason   string        // what ended the utterance: "grammar", "stable", "silence" or "max"
	Endpoint    time.Duration // silence waited before the turn was ended
	Recognition time.Duration // from the turn's end to the hypothesis
	Streamed    bool          // decoded while it arrived
	Script      time.Duration // from the hypothesis to the next say()
	Synthesis   time.Duration // text to audio (0 when cached)
	FirstPacket time.Duration // from the audio queued to its first packet sent

	listenEnd time.Time // when the last Listen returned; zero once a say used it
}

// Total is the turn latency the callee hears (the stages added up).
func (t TurnTimes) Total() time.Duration {
	return t.Endpoint + t.Recognition + t.Script + t.Synthesis + t.FirstPacket
}

// Prometheus histograms of the turn stages, for every SIP call of the
// process; internal/server registers them on its /metrics.
var (
	TurnStageSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parley_voice_turn_stage_seconds",
		Help:    "Latency of each stage of a voice turn (endpointing, recognition, script, synthesis, first_packet).",
		Buckets: []float64{.005, .01, .02, .05, .1, .15, .2, .3, .5, .75, 1, 2, 5},
	}, []string{"stage"})
	TurnSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parley_voice_turn_seconds",
		Help:    "Voice turn latency, end of the callee's speech to the agent's first reply packet, by what ended the utterance.",
		Buckets: []float64{.05, .1, .2, .3, .4, .5, .75, 1, 1.5, 2, 3, 5},
	}, []string{"end"})
	BargeInSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_voice_barge_in_seconds",
		Help:    "From the callee's first loud frame over a prompt to the prompt cut.",
		Buckets: []float64{.02, .05, .1, .15, .2, .3, .5, 1},
	})
)

// Collectors are the voice metrics, for a prometheus.Registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{TurnStageSeconds, TurnSeconds, BargeInSeconds}
}

// LastTurn returns the latency stages of the last turn (a Listen and the
// Say that answered it).
func (c *Conn) LastTurn() TurnTimes {
	c.turnMu.Lock()
	defer c.turnMu.Unlock()
	return c.turn
}

// LastLatency is the transcript's view of the last Say or Listen: its
// stages in milliseconds (dialer.LatencyConn).
func (c *Conn) LastLatency() map[string]any {
	c.turnMu.Lock()
	defer c.turnMu.Unlock()
	return c.lastLatency
}

// sayTimed synthesizes and plays text, filling the turn's answer stages.
func (c *Conn) sayTimed(ctx context.Context, text string) error {
	began := time.Now()
	c.turnMu.Lock()
	answering := !c.turn.listenEnd.IsZero()
	if answering {
		c.turn.Script = began.Sub(c.turn.listenEnd)
		c.turn.listenEnd = time.Time{}
	}
	c.turnMu.Unlock()
	// Clause by clause: the callee hears the first clause after its own
	// synthesis while the rest is synthesized (audio.Clauses).
	clauses := audio.Clauses(text)
	if len(clauses) == 0 {
		clauses = []string{text}
	}
	var synth time.Duration
	var err error
	if ss, ok := c.synth.(audio.StreamSynthesizer); ok {
		// An engine that streams: the first packet goes out with the
		// first audio of the first clause.
		var played bool
		synth, played, err = c.playStreamed(ctx, ss, clauses)
		if !played {
			return err // no audio, or the first clause failed
		}
	} else {
		var pcm audio.PCM
		pcm, err = c.synth.Synthesize(ctx, clauses[0], c.voice)
		if err != nil {
			return err
		}
		synth = time.Since(began)
		if len(clauses) == 1 {
			err = c.Play(ctx, pcm)
		} else {
			err = c.playClauses(ctx, pcm, clauses[1:])
		}
	}
	m := c.media
	m.mu.Lock()
	first := time.Duration(-1)
	if !m.promptFirst.IsZero() {
		first = m.promptFirst.Sub(m.promptQueued)
	}
	bargeHeard, bargeCut := m.bargeHeard, m.bargeCut
	m.bargeHeard, m.bargeCut = time.Time{}, time.Time{}
	m.mu.Unlock()
	lat := map[string]any{"synthesis_ms": ms(synth)}
	if first >= 0 {
		lat["first_packet_ms"] = ms(first)
		TurnStageSeconds.WithLabelValues("first_packet").Observe(first.Seconds())
	}
	TurnStageSeconds.WithLabelValues("synthesis").Observe(synth.Seconds())
	if !bargeCut.IsZero() {
		BargeInSeconds.Observe(bargeCut.Sub(bargeHeard).Seconds())
		lat["barge_in_ms"] = ms(bargeCut.Sub(bargeHeard))
	}
	c.turnMu.Lock()
	defer c.turnMu.Unlock()
	if answering && first >= 0 {
		c.turn.Synthesis, c.turn.FirstPacket = synth, first
		lat["script_ms"] = ms(c.turn.Script)
		lat["turn_ms"] = ms(c.turn.Total())
		TurnStageSeconds.WithLabelValues("script").Observe(c.turn.Script.Seconds())
		TurnSeconds.WithLabelValues(c.turn.EndReason).Observe(c.turn.Total().Seconds())
	}
	c.lastLatency = lat
	return err
}

// playClauses plays first and, as each is synthesized, the clauses after
// it, as one prompt: a barge-in or a hang-up cuts it and stops the
// synthesis; a clause that fails to synthesize ends the prompt after what
// was already queued, and its error is returned.
func (c *Conn) playClauses(ctx context.Context, first audio.PCM, rest []string) error {
	done, add, end := c.media.startStream(first)
	synthErr := make(chan error, 1)
	go func() {
		defer end()
		for _, t := range rest {
			pcm, err := c.synth.Synthesize(ctx, t, c.voice)
			if err != nil {
				synthErr <- err
				return
			}
			if !add(pcm) {
				return
			}
		}
	}()
	return c.awaitPrompt(ctx, done, synthErr)
}

// awaitPrompt waits for the prompt that ends with done: nil once it
// played out, or the error its synthesizing goroutine left in synthErr
// (nil: none); a cancelled ctx or a hang-up stops it.
func (c *Conn) awaitPrompt(ctx context.Context, done <-chan struct{}, synthErr <-chan error) error {
	select {
	case <-done:
		select {
		case err := <-synthErr:
			return err
		default:
			return nil
		}
	case <-ctx.Done():
		c.media.stopPrompt()
		return ctx.Err()
	case <-c.Done():
		c.media.stopPrompt()
		return ErrHungUp
	}
}

// noteListen records the last Listen's stages for the transcript and the
// histograms.
func (c *Conn) noteListen() {
	c.turnMu.Lock()
	t := c.turn
	c.lastLatency = map[string]any{"endpoint_ms": ms(t.Endpoint), "recognition_ms": ms(t.Recognition), "end": t.EndReason}
	c.turnMu.Unlock()
	TurnStageSeconds.WithLabelValues("endpointing").Observe(t.Endpoint.Seconds())
	TurnStageSeconds.WithLabelValues("recognition").Observe(t.Recognition.Seconds())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Prefetch synthesizes texts into the call's prompt cache, one after the
// other, so a later say() of one of them starts at once; without a cache
// it does nothing (the audio would be thrown away).
func (c *Conn) Prefetch(ctx context.Context, texts []string) {
	if !audio.Cached(c.synth) {
		return
	}
	for _, t := range texts {
		for _, cl := range audio.Clauses(t) { // as say() will ask for them
			if ctx.Err() != nil || c.hungUp() {
				return
			}
			_, _ = c.synth.Synthesize(ctx, cl, c.voice)
		}
	}
}
