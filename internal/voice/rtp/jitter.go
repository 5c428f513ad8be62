package rtp

import (
	"slices"
	"sync"
	"time"

	pion "github.com/pion/rtp"
)

// Default delays of a JitterBuffer (see the package comment).
const (
	DefaultMinDelay = 60 * time.Millisecond
	DefaultMaxDelay = 200 * time.Millisecond
)

// Timing of the adaptation, in ticks of 20 ms.
const (
	shrinkAfter  = 500 // 10 s without a late packet lowers the delay a frame
	overrunTicks = 25  // 0.5 s above the target delay drops a frame
	jumpPackets  = 3   // this many packets far behind playout: a new stream
	seqWindow    = 512 // sequence numbers remembered for duplicates
)

// JitterConfig configures a JitterBuffer.
type JitterConfig struct {
	// PayloadType is the audio's: 0 PCMU or 8 PCMA. Packets of other
	// types (telephone-event) count for sequence statistics only.
	PayloadType uint8
	// Silence is the byte a silent frame is filled with: 0xFF for PCMU,
	// 0xD5 for PCMA (g711.Law.Silence).
	Silence byte
	// MinDelay and MaxDelay bound the playout delay; zero means the
	// defaults, 60 and 200 ms. They are rounded up to whole frames.
	MinDelay, MaxDelay time.Duration
}

// Frame is one 20 ms frame of played-out G.711 audio.
type Frame struct {
	Payload   []byte // the frame's bytes, the caller's to keep
	Timestamp uint32 // RTP timestamp of its first sample
	Concealed bool   // made up: repeated or silent in place of a missing frame
}

// Stats counts what a JitterBuffer saw. Packets: Received counts every
// packet of the stream once (late ones too, as RFC 3550 does), Lost the
// sequence numbers never received, Late those that came after their frame
// had been played, Duplicate the copies, Reordered those that came after a
// higher sequence number. Frames: Played from packets, Concealed made up,
// Dropped discarded to bring the delay down.
type Stats struct {
	Received, Lost, Late, Duplicate, Reordered uint64
	Played, Concealed, Dropped                 uint64
	Delay                                      time.Duration // the current target playout delay
	Jitter                                     time.Duration // RFC 3550 interarrival jitter
}

type entry struct {
	seq     int64 // extended sequence number
	ts      int64 // extended timestamp
	payload []byte
}

// JitterBuffer reorders one received RTP stream and plays it out a frame
// per tick: Push every received packet with its arrival time, Pop every
// 20 ms with the playout clock's time. Times come from the caller, so
// tests drive it with a fake clock. It is safe for concurrent use: the
// socket reader pushes while the playout loop pops.
type JitterBuffer struct {
	mu  sync.Mutex
	cfg JitterConfig
	min int64 // delays in samples
	max int64

	// Sequence accounting.
	active   bool
	ssrc     uint32
	baseSeq  int64
	maxSeq   int64
	recent   map[int64]struct{}
	received uint64 // in the current stream, for Lost
	lostPrev uint64 // Lost of previous streams (SSRCs)

	// Playout.
	queue     []entry // sorted by seq
	tsHigh    int64   // highest extended timestamp seen, the unwrap reference
	first     time.Time
	playing   bool
	cursor    int64 // extended timestamp of the next frame
	delay     int64 // target, samples
	stretch   int   // frames of delay still to insert
	last      []byte
	concealed int // consecutive concealed frames
	sinceLate int // ticks since the last late packet
	overrun   int // consecutive ticks above target
	jumped    int // consecutive packets far behind playout

	transit float64 // RFC 3550 jitter state, in samples
	jitter  float64
	hasJit  bool

	st Stats
}

// NewJitterBuffer returns an empty buffer.
func NewJitterBuffer(cfg JitterConfig) *JitterBuffer {
	if cfg.MinDelay <= 0 {
		cfg.MinDelay = DefaultMinDelay
	}
	if cfg.MaxDelay < cfg.MinDelay {
		cfg.MaxDelay = max(DefaultMaxDelay, cfg.MinDelay)
	}
	b := &JitterBuffer{cfg: cfg, min: frames(cfg.MinDelay), max: frames(cfg.MaxDelay)}
	b.delay = b.min
	return b
}

// frames is d in samples, rounded up to whole frames.
func frames(d time.Duration) int64 {
	n := int64((d + FrameTime - 1) / FrameTime)
	return n * FrameSamples
}

func samplesToDuration(s float64) time.Duration {
	return time.Duration(s * float64(time.Second) / ClockRate)
}

// Push adds a received packet that arrived at now. The payload is copied.
func (b *JitterBuffer) Push(pkt *pion.Packet, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active && pkt.SSRC != b.ssrc {
		b.lostPrev += b.lost()
		b.active, b.playing, b.queue = false, false, nil
	}
	if !b.active {
		b.active, b.ssrc = true, pkt.SSRC
		b.baseSeq, b.maxSeq = int64(pkt.SequenceNumber), int64(pkt.SequenceNumber)
		b.recent, b.received = map[int64]struct{}{}, 0
		b.tsHigh, b.first, b.hasJit = int64(pkt.Timestamp), now, false
	}
	seq := b.maxSeq + int64(int16(pkt.SequenceNumber-uint16(b.maxSeq)))
	if _, dup := b.recent[seq]; dup {
		b.st.Duplicate++
		return
	}
	if seq <= b.maxSeq-seqWindow {
		b.st.Late++ // too old to tell apart from a duplicate
		return
	}
	b.baseSeq = min(b.baseSeq, seq) // the first packet to arrive was not the first sent
	b.recent[seq] = struct{}{}
	b.received++
	b.st.Received++
	if seq < b.maxSeq {
		b.st.Reordered++
	} else {
		b.maxSeq = seq
	}
	if len(b.recent) > 2*seqWindow {
		for s := range b.recent {
			if s <= b.maxSeq-seqWindow {
				delete(b.recent, s)
			}
		}
	}
	if pkt.PayloadType != b.cfg.PayloadType || len(pkt.Payload) == 0 {
		return
	}
	ts := b.tsHigh + int64(int32(pkt.Timestamp-uint32(b.tsHigh)))
	b.tsHigh = max(b.tsHigh, ts)
	b.updateJitter(ts, now)
	if b.playing && ts < b.cursor {
		b.late(ts, now)
		if b.playing {
			return
		}
	}
	b.jumped = 0
	i, _ := slices.BinarySearchFunc(b.queue, seq, func(e entry, s int64) int { return int(e.seq - s) })
	b.queue = slices.Insert(b.queue, i, entry{seq: seq, ts: ts, payload: slices.Clone(pkt.Payload)})
}

// late handles an audio packet whose frame was played already: one late
// packet adds a frame of delay; several far behind playout mean the
// sender's clock jumped back, and the buffer starts over from this packet.
func (b *JitterBuffer) late(ts int64, now time.Time) {
	b.st.Late++
	b.sinceLate = 0
	if ts < b.cursor-b.max {
		if b.jumped++; b.jumped >= jumpPackets {
			b.playing, b.queue, b.first, b.jumped = false, nil, now, 0
			b.tsHigh = ts
		}
		return
	}
	if b.delay < b.max {
		b.delay += FrameSamples
		b.stretch++
	}
}

func (b *JitterBuffer) updateJitter(ts int64, now time.Time) {
	arrival := float64(now.UnixNano()) * ClockRate / float64(time.Second)
	transit := arrival - float64(ts)
	if b.hasJit {
		d := transit - b.transit
		if d < 0 {
			d = -d
		}
		b.jitter += (d - b.jitter) / 16
	}
	b.transit, b.hasJit = transit, true
}

// lost is the current stream's count of sequence numbers never received.
func (b *JitterBuffer) lost() uint64 {
	expected := uint64(b.maxSeq - b.baseSeq + 1)
	if !b.active || expected < b.received {
		return 0
	}
	return expected - b.received
}

// Pop returns the frame to play at now, one per 20 ms tick. ok is false
// until playout starts: the target delay after the first packet arrived.
// From then on every call yields a frame, made up if need be.
func (b *JitterBuffer) Pop(now time.Time) (f Frame, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.playing {
		if len(b.queue) == 0 || now.Sub(b.first) < samplesToDuration(float64(b.delay)) {
			return Frame{}, false
		}
		b.playing, b.cursor = true, b.queue[0].ts
	}
	// Drop what can no longer be played (a resync passed it).
	for len(b.queue) > 0 && b.queue[0].ts < b.cursor {
		b.queue = b.queue[1:]
		b.st.Dropped++
	}
	b.adapt()
	if b.stretch > 0 {
		b.stretch--
		return b.conceal(false), true
	}
	if len(b.queue) > 0 {
		head := b.queue[0]
		// The sender's timestamps jumped ahead, or are not on our frame
		// grid: follow them rather than concealing up to them.
		if d := head.ts - b.cursor; d > b.max || (d > 0 && d < FrameSamples) {
			b.cursor = head.ts
		}
		if head.ts == b.cursor {
			b.queue = b.queue[1:]
			b.cursor += int64(len(head.payload))
			b.last, b.concealed = head.payload, 0
			b.st.Played++
			return Frame{Payload: slices.Clone(head.payload), Timestamp: uint32(head.ts)}, true
		}
	}
	return b.conceal(true), true
}

// adapt lowers the target delay after a quiet spell and drops a frame when
// the buffer has held more than the target for a while.
func (b *JitterBuffer) adapt() {
	if b.sinceLate++; b.sinceLate >= shrinkAfter {
		b.sinceLate = 0
		if b.delay > b.min {
			b.delay -= FrameSamples
			b.stretch = max(b.stretch-1, 0)
		}
	}
	held := int64(0)
	if n := len(b.queue); n > 0 {
		held = b.queue[n-1].ts + int64(len(b.queue[n-1].payload)) - b.cursor
	}
	if held <= b.delay+FrameSamples {
		b.overrun = 0
		return
	}
	if b.overrun++; b.overrun >= overrunTicks && len(b.queue) > 1 {
		b.overrun = 0
		b.cursor = b.queue[0].ts + int64(len(b.queue[0].payload))
		b.queue = b.queue[1:]
		b.st.Dropped++
	}
}

// conceal makes up a frame: the last one again right after a real frame,
// silence after that. advance moves the playout position past it (a frame
// of added delay doesn't).
func (b *JitterBuffer) conceal(advance bool) Frame {
	f := Frame{Timestamp: uint32(b.cursor), Concealed: true}
	if b.concealed == 0 && len(b.last) == FrameSamples {
		f.Payload = slices.Clone(b.last)
	} else {
		f.Payload = make([]byte, FrameSamples)
		for i := range f.Payload {
			f.Payload[i] = b.cfg.Silence
		}
	}
	b.concealed++
	b.st.Concealed++
	if advance {
		b.cursor += FrameSamples
	}
	return f
}

// Stats returns the counters so far.
func (b *JitterBuffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st
	s.Lost = b.lostPrev + b.lost()
	s.Delay = samplesToDuration(float64(b.delay))
	s.Jitter = samplesToDuration(b.jitter)
	return s
}
