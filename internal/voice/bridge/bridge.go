package bridge

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/parley-cc/parley/internal/audio"
)

// Bridge forwards audio between a Line (the callee) and another leg (an
// operator's browser or a second SIP call) until Unbridge or until either
// leg ends. Its methods are safe for concurrent use. A leg takes part in
// one bridge at a time: unbridge it (or let the bridge end) before
// bridging it again.
type Bridge struct {
	line  Line
	other Leg

	held, muted, stopped atomic.Bool
	toOther, toLine      atomic.Uint64

	mu   sync.Mutex // serialises Hold, Resume and Unbridge
	done chan struct{}
}

// Stats counts the frames a bridge forwarded.
type Stats struct {
	ToOther uint64 // frames of the callee sent to the other leg
	ToLine  uint64 // frames of the other leg sent to the callee
}

// New bridges line and other: from now on each hears the other.
func New(line Line, other Leg) *Bridge {
	b := &Bridge{line: line, other: other, done: make(chan struct{})}
	line.OnAudio(b.fromLine)
	other.OnAudio(b.fromOther)
	go b.watch()
	return b
}

func (b *Bridge) watch() {
	select {
	case <-b.line.Done():
	case <-b.other.Done():
	case <-b.done:
		return
	}
	b.Unbridge()
}

func (b *Bridge) fromLine(frame []byte) {
	if b.stopped.Load() || b.held.Load() {
		return
	}
	b.other.SendAudio(frame)
	b.toOther.Add(1)
}

func (b *Bridge) fromOther(frame []byte) {
	if b.stopped.Load() || b.held.Load() || b.muted.Load() {
		return
	}
	b.line.SendAudio(frame)
	b.toLine.Add(1)
}

// Hold puts the callee on hold: the callee hears loop over and over (see
// HoldAudio), the operator hears nothing, until Resume.
func (b *Bridge) Hold(loop audio.PCM) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped.Load() {
		return
	}
	b.held.Store(true)
	b.line.Hold(loop)
}

// Resume takes the callee off hold.
func (b *Bridge) Resume() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped.Load() || !b.held.Load() {
		return
	}
	b.line.Hold(audio.PCM{})
	b.held.Store(false)
}

// Held reports whether the callee is on hold.
func (b *Bridge) Held() bool { return b.held.Load() }

// Mute stops (on) or restarts (off) sending the operator's audio to the
// callee, who hears silence meanwhile; the operator still hears the
// callee.
func (b *Bridge) Mute(on bool) { b.muted.Store(on) }

// Muted reports whether the operator is muted.
func (b *Bridge) Muted() bool { return b.muted.Load() }

// SendDTMF sends digits to the callee (RFC 4733 events, 100 ms each, in
// place of the operator's audio while they play).
func (b *Bridge) SendDTMF(ctx context.Context, digits string) error {
	return b.line.SendDTMF(ctx, digits)
}

// Unbridge stops forwarding in both directions and takes the callee off
// hold; both legs stay up. It is idempotent, and runs by itself when
// either leg ends.
func (b *Bridge) Unbridge() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped.Swap(true) {
		return
	}
	b.line.OnAudio(nil)
	b.other.OnAudio(nil)
	if b.held.Load() {
		b.line.Hold(audio.PCM{})
	}
	close(b.done)
}

// Done is closed once the bridge has stopped forwarding: Unbridge, or
// either leg ended.
func (b *Bridge) Done() <-chan struct{} { return b.done }

// Stats returns the bridge's counters.
func (b *Bridge) Stats() Stats {
	return Stats{ToOther: b.toOther.Load(), ToLine: b.toLine.Load()}
}
