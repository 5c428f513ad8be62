package sip

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/voice/rtp"
)

// ErrHungUp is the error of Say and Listen once the callee has hung up.
var ErrHungUp = errors.New("sip: the callee hung up")

// DigitTimeout ends a DTMF entry: Listen returns the digits pressed once
// none follows for this long (or at '#', which is kept).
const DigitTimeout = 1500 * time.Millisecond

// Conn is an answered SIP call; it implements dialer.Conn.
type Conn struct {
	trunk    *Trunk
	sess     *sipgo.DialogClientSession
	media    *media
	rec      *audio.Recorder
	answered time.Time
	synth    audio.Synthesizer
	voice    string
	recog    Recognizer // the call's recognizer; nil: none
	hasDTMF  bool

	// The last utterance Listen returned, on the call's clock.
	uttStart, uttEnd time.Duration
	uttOK            bool
	turnMu           sync.Mutex     // turn and lastLatency: a test's Listen may run beside a Say
	turn             TurnTimes      // the last turn's latency stages (latency.go)
	lastLatency      map[string]any // the last Say's or Listen's, for the transcript

	hangOnce sync.Once
	ended    time.Duration
	endedSet bool
}

// Done is closed when the call ends, from either side.
func (c *Conn) Done() <-chan struct{} { return c.sess.Context().Done() }

func (c *Conn) hungUp() bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// Say speaks text to the callee and returns when the prompt has played,
// or as soon as the callee starts talking over it (barge-in; BargedIn
// then reports true).
func (c *Conn) Say(ctx context.Context, text string) error {
	if c.hungUp() {
		return ErrHungUp
	}
	return c.sayTimed(ctx, text)
}

// Play plays pcm to the callee like Say.
func (c *Conn) Play(ctx context.Context, pcm audio.PCM) error {
	return c.awaitPrompt(ctx, c.media.startPrompt(pcm), nil)
}

// BargedIn reports whether the last prompt was cut by the callee.
func (c *Conn) BargedIn() bool {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return c.media.bargedIn
}

// SendDTMF sends digits as RFC 4733 events, 100 ms each, and returns once
// they are on the wire.
func (c *Conn) SendDTMF(ctx context.Context, digits string) error {
	if !c.hasDTMF {
		return errors.New("sip: the callee did not accept telephone-event")
	}
	done, err := c.media.sendDigits(digits, 100*time.Millisecond)
	if err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.Done():
		return ErrHungUp
	}
}

// Listen waits up to timeout for the callee to start speaking or pressing
// digits, and returns the utterance as the trunk's Recognizer heard it
// (without one, "" and heard true), or the digits (ended by DigitTimeout
// without another, or '#').
//
// The end of an utterance: with expected phrases and a streaming
// recognizer (internal/speech's resident pocketsphinx), as soon as the
// hypothesis is one of the phrases and VAD.GrammarSilence of silence
// followed it ("grammar"); without expected phrases and with a streaming
// recognizer, as soon as the hypothesis is not empty, held unchanged over
// VAD.StableSilence of silence (longer on a noisy line) and does not end
// in a continuation word ("stable"); otherwise after VAD.EndSilence of
// silence ("silence"). A script's s.listen(end_silence=...) (in ctx,
// script.ListenOptions) sets this listen's EndSilence and turns the
// stable rule off. The audio is decoded while it arrives.
func (c *Conn) Listen(ctx context.Context, timeout time.Duration, expect []string) (string, bool, error) {
	if c.hungUp() {
		return "", false, ErrHungUp
	}
	m := c.media
	vad := m.vad
	if o := script.ListenOptionsFrom(ctx); o.EndSilence > 0 {
		// The script's own rule for this listen: its silence, no early
		// end on a stable hypothesis (a complete phrase of a grammar
		// still ends it).
		vad.EndSilence, vad.StableSilence = o.EndSilence, -1
		vad.GrammarSilence = min(vad.GrammarSilence, vad.EndSilence)
	}
	frames := m.subscribe()
	defer m.unsubscribe()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	streamer, _ := c.recog.(StreamingRecognizer)
	lang := streamLanguage(c.recog)
	var (
		utter   []int16
		preroll [][]int16 // the last quiet frames before the utterance
		pending [][]int16 // loud frames not yet enough to start
		silent  time.Duration
		// heardSilent is the part of silent that arrived in packets (the
		// stable rule's: a burst of lost packets is not a pause).
		heardSilent time.Duration
		started     bool
		digits      strings.Builder
		digitWait   *time.Timer
		digitC      <-chan time.Time
		stream      RecogStream
	)
	defer func() {
		if stream != nil {
			stream.Close()
		}
	}()
	c.uttOK = false
	c.turnMu.Lock()
	c.lastLatency = nil
	c.turnMu.Unlock()
	var uttStart time.Duration
	endSpeech := func(reason string) (string, bool, error) {
		decided := time.Now()
		c.uttStart, c.uttEnd, c.uttOK = uttStart, max(uttStart, c.Elapsed()-silent), true
		c.turnMu.Lock()
		c.turn = TurnTimes{EndReason: reason, Endpoint: silent, listenEnd: decided}
		c.turnMu.Unlock()
		defer func() {
			c.turnMu.Lock()
			c.turn.Recognition, c.turn.listenEnd = time.Since(decided), time.Now()
			c.turnMu.Unlock()
			c.noteListen()
		}()
		if c.recog == nil {
			return "", true, nil
		}
		if stream != nil {
			s := stream
			stream = nil
			c.turnMu.Lock()
			c.turn.Streamed = true
			c.turnMu.Unlock()
			return s.Finish(ctx)
		}
		return c.recog.Recognize(ctx, audio.PCM{Rate: audio.Rate, Samples: utter}, expect)
	}
	for {
		select {
		case <-ctx.Done():
			return "", false, ctx.Err()
		case <-c.Done():
			return "", false, ErrHungUp
		case <-deadline.C:
			if started {
				return endSpeech("max")
			}
			if digits.Len() > 0 {
				return digits.String(), true, nil
			}
			return "", false, nil
		case <-digitC:
			return digits.String(), true, nil
		case d := <-m.digits:
			if started {
				continue // speech wins once it started
			}
			digits.WriteRune(d)
			if d == '#' {
				return digits.String(), true, nil
			}
			if digitWait == nil {
				digitWait = time.NewTimer(DigitTimeout)
				defer digitWait.Stop()
			} else {
				digitWait.Reset(DigitTimeout)
			}
			digitC = digitWait.C
		case h := <-frames:
			if digits.Len() > 0 {
				continue
			}
			f := h.samples
			if !started {
				if !h.loud {
					preroll = append(preroll, pending...)
					preroll = append(preroll, f)
					if over := len(preroll) - prerollFrames; over > 0 {
						preroll = preroll[over:]
					}
					pending = pending[:0]
					continue
				}
				pending = append(pending, f)
				if len(pending) < vad.StartFrames {
					continue
				}
				started = true
				uttStart = max(0, c.Elapsed()-time.Duration(len(pending))*rtp.FrameTime)
				deadline.Reset(vad.MaxUtterance)
				if streamer != nil {
					// No free decoder (or an engine that can't stream):
					// the utterance is buffered and recognized at its end.
					stream, _ = streamer.Stream(ctx, expect)
				}
				for _, p := range preroll {
					if stream != nil {
						stream.Write(p)
					}
				}
				for _, p := range pending {
					utter = append(utter, p...)
					if stream != nil {
						stream.Write(p)
					}
				}
				continue
			}
			utter = append(utter, f...)
			if stream != nil {
				stream.Write(f)
			}
			if h.voiced {
				silent, heardSilent = 0, 0
				continue
			}
			silent += rtp.FrameTime
			if !h.concealed {
				heardSilent += rtp.FrameTime
			}
			if silent >= vad.EndSilence {
				return endSpeech("silence")
			}
			if len(expect) > 0 && stream != nil && silent >= vad.GrammarSilence && stream.Complete() {
				return endSpeech("grammar")
			}
			if len(expect) == 0 && stream != nil && vad.StableSilence > 0 && stableEnd(stream, heardSilent, vad.stableSilence(h.floor), lang) {
				return endSpeech("stable")
			}
		}
	}
}

// stableEnd is the stable-hypothesis rule of an open listen: after need
// of silence received in packets (silent), the hypothesis is not empty, the decoder has decoded the
// silence (all but the frame just written) and the hypothesis held through
// need of it, and it does not end in a word that asks for more.
func stableEnd(stream RecogStream, silent, need time.Duration, lang string) bool {
	if silent < need {
		return false
	}
	held, behind := stream.Stable()
	if behind > silent-need+rtp.FrameTime || held < need {
		return false
	}
	hyp := stream.Partial()
	return hyp != "" && !continues(lang, hyp)
}

// prerollFrames of quiet audio before an utterance go to a streaming
// recognizer with it: the front end's noise estimate needs a start.
const prerollFrames = 10

// LastUtterance is when the utterance the last Listen returned started and
// ended on the call's clock (Elapsed); ok is false when that Listen heard
// no speech (silence or digits).
func (c *Conn) LastUtterance() (start, end time.Duration, ok bool) {
	return c.uttStart, c.uttEnd, c.uttOK
}

// Elapsed is the wall-clock time since the answer, frozen at hang-up.
func (c *Conn) Elapsed() time.Duration {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	if c.endedSet {
		return c.ended
	}
	return time.Since(c.answered)
}

// Stats returns the call's RTP counters.
func (c *Conn) Stats() MediaStats { return c.media.stats() }

// Hangup sends BYE (unless the callee hung up first), stops the media and
// returns the two-leg recording.
func (c *Conn) Hangup(ctx context.Context) ([]byte, error) {
	var byeErr error
	c.hangOnce.Do(func() {
		if !c.hungUp() {
			byeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			byeErr = c.sess.Bye(byeCtx)
			cancel()
		}
		c.sess.Close()
		c.media.close()
		c.media.mu.Lock()
		c.ended, c.endedSet = time.Since(c.answered), true
		c.media.mu.Unlock()
	})
	wav, err := c.rec.WAV()
	if err != nil {
		return nil, err
	}
	if byeErr != nil {
		c.trunk.log().Warn("sip BYE failed", "trunk", c.trunk.Name, "error", byeErr)
	}
	return wav, nil
}
