package sip

import (
	"context"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/voice/rtp"
)

// streamPrebuffer is the audio a streamed prompt gathers before its first
// packet: the engine makes it in a few milliseconds, and it keeps a
// synthesizer that pauses between two pieces from putting a hole in the
// first word.
const streamPrebuffer = 3 * rtp.FrameSamples

// playStreamed synthesizes the clauses one after the other with an engine
// that streams and plays each piece as it comes: the first packet goes
// out once the first streamPrebuffer samples of the first clause exist,
// not once the clause is synthesized. synth is the time to that first
// audio. A barge-in or a hang-up cuts the prompt and stops the synthesis
// after the clause in progress; a clause that fails ends the prompt after
// what was already queued, and its error is returned. played is false
// when no prompt started (no audio, the first clause failed, ctx ended).
func (c *Conn) playStreamed(ctx context.Context, ss audio.StreamSynthesizer, clauses []string) (synth time.Duration, played bool, err error) {
	began := time.Now()
	var (
		pending []int16
		done    <-chan struct{}
		add     func(audio.PCM) bool
		end     func()
		cut     bool
	)
	started := make(chan struct{})
	start := func() {
		synth = time.Since(began)
		done, add, end = c.media.startStream(audio.PCM{Rate: audio.Rate, Samples: pending})
		pending = nil
		close(started)
	}
	emit := func(s []int16) {
		switch {
		case cut:
		case add == nil && ctx.Err() != nil:
			cut = true // the caller is gone: no prompt after it
		case add == nil:
			pending = append(pending, s...)
			if len(pending) >= streamPrebuffer {
				start()
			}
		case !add(audio.PCM{Rate: audio.Rate, Samples: s}):
			cut = true
		}
	}
	synthErr := make(chan error, 1)
	go func() {
		defer func() {
			if add == nil {
				if len(pending) > 0 && ctx.Err() == nil {
					start() // a prompt shorter than the prebuffer
				} else {
					close(started)
				}
			}
			if end != nil {
				end()
			}
		}()
		for _, t := range clauses {
			if _, err := ss.SynthesizeStream(ctx, t, c.voice, emit); err != nil {
				synthErr <- err
				return
			}
			if cut {
				return
			}
		}
	}()
	select {
	case <-started:
	case <-ctx.Done():
		return 0, false, ctx.Err()
	case <-c.Done():
		return 0, false, ErrHungUp
	}
	if done == nil { // nothing to play: no audio, or the first clause failed
		select {
		case err := <-synthErr:
			return 0, false, err
		default:
			return 0, false, nil
		}
	}
	return synth, true, c.awaitPrompt(ctx, done, synthErr)
}
