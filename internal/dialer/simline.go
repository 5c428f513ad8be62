package dialer

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/voice/g711"
)

// The simulated call as a line of package bridge (a handover): once the
// script hands the call over, the simulated callee lives in real time on
// a 20 ms clock, like a phone. Each tick it says the next frame of its
// line (sim_line's speech, looped: audible speech for the operator) and
// hears the frame the other side sent (the operator, relayed by the
// bridge) or else the hold audio; both go into the recording at the
// call's clock, which the line advances. It hangs up after sim_hold
// seconds (default 120) unless the operator hung up first.

const (
	simFrame       = 20 * time.Millisecond
	simFrameBytes  = 160
	defaultSimHold = 120 * time.Second
	// simCalleeLine is what the simulated callee keeps saying on the line.
	simCalleeLine = "Hello, I would like to speak to a person about my account please."
)

// simLine is the real-time part of a simConn.
type simLine struct {
	once   sync.Once
	out    atomic.Pointer[func([]byte)]
	done   chan struct{}
	closer sync.Once

	mu     sync.Mutex
	hold   []byte // PCMU loop; nil: none
	pos    int
	inbox  [][]byte // frames the other leg sent since the last tick
	speech []byte   // the callee's line, PCMU
	spos   int
}

func (c *simConn) holdLimit() time.Duration {
	if n, err := strconv.Atoi(c.entities[outbound.KeySimHold]); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return defaultSimHold
}

// startLine starts the line's clock, once.
func (c *simConn) startLine() {
	c.line.once.Do(func() {
		pcm, err := c.synth.Synthesize(context.Background(), simCalleeLine, calleeVoice)
		if err != nil || len(pcm.Samples) == 0 {
			pcm = audio.Silence(audio.Rate, time.Second)
		}
		if pcm.Rate != audio.Rate {
			pcm = audio.Resample(pcm, audio.Rate)
		}
		pause := audio.Silence(audio.Rate, 400*time.Millisecond).Samples
		c.line.speech = g711.ULaw.AppendEncode(nil, append(append([]int16{}, pcm.Samples...), pause...))
		go c.runLine(c.holdLimit())
	})
}

func (c *simConn) runLine(limit time.Duration) {
	t := time.NewTicker(simFrame)
	defer t.Stop()
	end := time.NewTimer(limit)
	defer end.Stop()
	l := &c.line
	frame := make([]byte, simFrameBytes)
	for {
		select {
		case <-l.done:
			return
		case <-end.C:
			c.closeLine()
			return
		case <-t.C:
		}
		l.mu.Lock()
		if len(l.hold) == 0 && l.out.Load() == nil {
			// Not handed over (any more): the script's own turns keep the
			// call's clock.
			l.inbox = nil
			l.mu.Unlock()
			continue
		}
		for i := range frame {
			frame[i] = l.speech[l.spos]
			l.spos = (l.spos + 1) % len(l.speech)
		}
		heard := l.inbox
		l.inbox = nil
		var holdFrame []byte
		if len(heard) == 0 && len(l.hold) > 0 {
			holdFrame = make([]byte, simFrameBytes)
			for i := range holdFrame {
				holdFrame[i] = l.hold[l.pos]
				l.pos = (l.pos + 1) % len(l.hold)
			}
		}
		l.mu.Unlock()
		c.mu.Lock()
		at := c.now
		c.rec.Add(audio.Callee, at, audio.PCM{Rate: audio.Rate, Samples: g711.ULaw.AppendDecode(nil, frame)})
		for i, f := range heard {
			c.rec.Add(audio.Agent, at+time.Duration(i)*simFrame, audio.PCM{Rate: audio.Rate, Samples: g711.ULaw.AppendDecode(nil, f)})
		}
		if holdFrame != nil {
			c.rec.Add(audio.Agent, at, audio.PCM{Rate: audio.Rate, Samples: g711.ULaw.AppendDecode(nil, holdFrame)})
		}
		c.now += simFrame
		c.mu.Unlock()
		if out := l.out.Load(); out != nil {
			(*out)(frame)
		}
	}
}

func (c *simConn) closeLine() {
	c.line.closer.Do(func() { close(c.line.done) })
}

// OnAudio (bridge.Leg): f hears the simulated callee, a frame a tick.
func (c *simConn) OnAudio(f func(frame []byte)) {
	if f == nil {
		c.line.out.Store(nil)
		return
	}
	c.line.out.Store(&f)
	c.startLine()
}

// SendAudio (bridge.Leg): the callee hears frame (recorded at its tick).
func (c *simConn) SendAudio(frame []byte) {
	l := &c.line
	l.mu.Lock()
	if len(l.inbox) < 4 {
		l.inbox = append(l.inbox, append([]byte(nil), frame...))
	}
	l.mu.Unlock()
}

// Done (bridge.Leg) is closed when the simulated callee hung up (sim_hold
// passed) or the call was hung up.
func (c *simConn) Done() <-chan struct{} { return c.line.done }

// Hold (bridge.Line) plays loop to the callee whenever nothing else is
// sent; a zero loop stops it.
func (c *simConn) Hold(loop audio.PCM) {
	var enc []byte
	if len(loop.Samples) > 0 {
		if loop.Rate != audio.Rate {
			loop = audio.Resample(loop, audio.Rate)
		}
		enc = g711.ULaw.AppendEncode(nil, loop.Samples)
		c.startLine()
	}
	c.line.mu.Lock()
	c.line.hold, c.line.pos = enc, 0
	c.line.mu.Unlock()
}

// SendDTMF (bridge.Line): the simulated callee hears the digits (nothing
// to record but their time).
func (c *simConn) SendDTMF(ctx context.Context, digits string) error {
	t := time.NewTimer(time.Duration(len(digits)) * 100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Tap (a supervisor listening): f gets, every 20 ms, the callee's frame
// mixed with what they heard. The simulated line taps its own ticks.
func (c *simConn) Tap(f func(mix []byte)) (untap func()) {
	c.startLine()
	stop := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(simFrame)
		defer t.Stop()
		l := &c.line
		for {
			select {
			case <-stop:
				return
			case <-l.done:
				return
			case <-t.C:
			}
			l.mu.Lock()
			mix := make([]byte, simFrameBytes)
			for i := range mix {
				mix[i] = 0xFF // μ-law silence
			}
			copy(mix, l.speech[l.spos:min(len(l.speech), l.spos+simFrameBytes)])
			l.mu.Unlock()
			f(mix)
		}
	}()
	return func() { once.Do(func() { close(stop) }) }
}
