package sip

import (
	"sync/atomic"
	"time"

	pion "github.com/pion/rtp"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/rtp"
)

// The bridge hook of a call's media: what makes a *Conn a bridge.Line.
//
// Callee to other leg: each audio packet the callee sends is given to the
// OnAudio function as it arrives (readLoop), re-coded to PCMU if the call
// is PCMA, in sequence order (a packet older than one already forwarded
// is dropped, the other leg's receiver conceals it). It doesn't wait for
// the jitter buffer: the other leg's receiver (a browser, a phone) has
// its own, and two in a row would only add delay. The recording, barge-in
// and Listen still take the jitter-buffered frames of the 20 ms tick.
//
// Other leg to callee: SendAudio queues a frame, and it goes out at once
// if its slot has come. The outgoing stream has one packet per 20 ms slot
// of the call's clock (slot n is due at start + n*20 ms, its timestamp is
// n frames past the first), and the tick fills every slot nobody else did
// with a prompt, a DTMF event, hold audio or silence. A relayed frame
// takes the next free slot, and leaves at once unless that slot is more
// than relayLead slots ahead of its time (then it waits in a queue of
// relayQueue frames for the tick; a queue that stands relayStanding
// ticks loses a frame). So the bridge adds no wait of its own, as an SFU
// wouldn't: the callee's phone's jitter buffer absorbs the other leg's
// jitter and bursts, as it would without Parley.
//
// Keeping the slots in step with the other leg: while it talks (a frame
// came in the last relayActive), the tick leaves its slot to the other
// leg's next frame instead of filling it, so frames that come late, even
// a burst after a stall, still take their own slots (late, as they would
// reach the phone without Parley) rather than pushing the stream ahead
// behind fillers; a slot more than relayLag behind is given up (a gap the
// phone conceals). Still, the relayed frames can run ahead of their
// slots' time: from the start of the bridge (the tick filled the slot the
// first frame came in, which takes the next one), or after a silence
// longer than relayActive. A phone that plays by timestamp turns that
// lead into delay, so when relayWindow frames in a row went out more than
// half a frame ahead of their time on average, as many frames as the
// average lead holds whole frames (at least one) are dropped: the stream
// steps back and the frames go out less than half a frame after their
// time instead. Relayed audio is recorded on the agent leg at its slot:
// the recording holds what the callee heard.
//
// While a prompt or DTMF digits play, relayed frames are dropped: the
// operator's voice is never mixed over them. Hold audio plays in slots
// no relayed frame took (the bridge stops relaying while on hold, and
// the tick fills the slots again relayActive later).
//
// Tap: once a tick, every tap gets the PCMU mix of the next frame sent to
// the callee, in the order they went out (relayed frames don't keep to
// the tick), and the callee's frame of the tick (a supervisor listening;
// mixing is the one place the relay decodes).
const (
	relayActive   = 10 * rtp.FrameTime // the other leg talks if a frame came this recently
	relayLag      = 10                 // slots a pending slot may fall behind the clock
	relayLead     = 5                  // slots a relayed frame may go out ahead of its time
	relayQueue    = 4                  // frames waiting for their slot; past that the oldest is dropped
	relayStanding = 50                 // ticks (1 s) a queue may stand before a frame is dropped
	relayWindow   = 25                 // relayed frames (0.5 s) over which the stream's lead is watched
)

// RelayStats counts a call's bridged audio.
type RelayStats struct {
	Forwarded uint64 // callee frames given to the OnAudio function
	Received  uint64 // frames handed to SendAudio
	Sent      uint64 // of those, sent to the callee
	Dropped   uint64 // of those, dropped (queue full or standing, trimmed, prompt or DTMF playing, hang-up)
	Trimmed   uint64 // of the dropped, to step back a lead of more than half a frame
	Early     uint64 // sent ahead of their slot's time
	Skipped   uint64 // slots given up waiting for a late frame
	// Lead is the total, MaxLead the largest, of how far ahead of their
	// slot's time frames were sent: what a receiver whose jitter buffer
	// follows timestamps rather than arrivals holds them for.
	Lead, MaxLead time.Duration
}

type relay struct {
	out atomic.Pointer[func([]byte)]
	fwd atomic.Uint64
	// readLoop's own.
	conv    []byte // a PCMA frame re-coded to PCMU
	seqOK   bool
	ssrc    uint32
	lastSeq int64 // extended sequence number of the last forwarded packet

	// Under media.mu.
	next     int64 // the next free slot of the outgoing stream
	queue    [relayQueue][rtp.FrameSamples]byte
	qHead    int
	qLen     int
	partial  []byte    // bytes of a frame still incomplete (a sender with other packet sizes)
	lastIn   time.Time // when the last frame came to SendAudio
	standing int
	leadSum  time.Duration // the window's frames' lead (negative: lag), summed
	leadN    int           // frames into the window
	trim     int           // relayed frames to drop
	hold     []byte        // the hold loop in the call's law; nil: none
	holdPos  int
	holdBuf  [rtp.FrameSamples]byte // the tick's own: a hold frame being sent
	taps     map[uint64]func([]byte)
	tapSeq   uint64
	tapQ     [tapQueue][rtp.FrameSamples]byte // sent audio (PCMU) the taps have yet to hear
	tapHead  int
	tapLen   int
	enc      []byte  // scratch: a frame in the call's law
	pcm      []int16 // scratch: a frame decoded for the recording and taps
	wire     []byte  // scratch: a marshalled packet
	st       RelayStats
}

// tapQueue bounds the sent frames waiting for the taps' next ticks.
const tapQueue = 4

// forwardReceived gives an arriving audio packet to the OnAudio function.
// Only readLoop calls it.
func (m *media) forwardReceived(pkt *pion.Packet) {
	out := m.relay.out.Load()
	if out == nil || pkt.PayloadType != m.pt || len(pkt.Payload) == 0 {
		return
	}
	r := &m.relay
	if r.seqOK && pkt.SSRC == r.ssrc {
		seq := r.lastSeq + int64(int16(pkt.SequenceNumber-uint16(r.lastSeq)))
		if seq <= r.lastSeq {
			return // reordered or duplicated: its turn has passed
		}
		r.lastSeq = seq
	} else {
		r.seqOK, r.ssrc, r.lastSeq = true, pkt.SSRC, int64(pkt.SequenceNumber)
	}
	frame := pkt.Payload
	if m.law != g711.ULaw {
		r.conv = g711.AppendConvert(r.conv[:0], frame, m.law, g711.ULaw)
		frame = r.conv
	}
	(*out)(frame)
	r.fwd.Add(1)
}

// sendRelayed queues a PCMU frame for the callee and sends what is due.
func (m *media) sendRelayed(frame []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &m.relay
	r.st.Received++
	if m.closed.Load() {
		r.st.Dropped++
		return
	}
	now := time.Now()
	r.lastIn = now
	if len(r.partial) == 0 && len(frame) == rtp.FrameSamples {
		m.enqueueRelayed(frame)
	} else {
		r.partial = append(r.partial, frame...)
		k := 0
		for ; len(r.partial)-k >= rtp.FrameSamples; k += rtp.FrameSamples {
			m.enqueueRelayed(r.partial[k : k+rtp.FrameSamples])
		}
		r.partial = r.partial[:copy(r.partial, r.partial[k:])]
	}
	m.drainRelayed(now)
}

func (m *media) enqueueRelayed(frame []byte) {
	r := &m.relay
	if r.qLen == relayQueue {
		r.qHead = (r.qHead + 1) % relayQueue
		r.qLen--
		r.st.Dropped++
	}
	copy(r.queue[(r.qHead+r.qLen)%relayQueue][:], frame)
	r.qLen++
}

// drainRelayed sends the queued frames whose slots are due by now (plus
// the lead); m.mu is held.
func (m *media) drainRelayed(now time.Time) {
	r := &m.relay
	if r.qLen == 0 {
		return
	}
	if len(m.events) > 0 || len(m.play) > 0 {
		r.st.Dropped += uint64(r.qLen)
		r.qLen = 0
		return
	}
	cur := int64(now.Sub(m.start) / rtp.FrameTime)
	for r.qLen > 0 && r.next <= cur+relayLead {
		frame := r.queue[r.qHead][:]
		r.qHead = (r.qHead + 1) % relayQueue
		r.qLen--
		if r.trim > 0 {
			r.trim--
			r.st.Dropped++
			r.st.Trimmed++
			continue
		}
		slot := r.next
		r.next++
		payload := frame
		if m.law != g711.ULaw {
			r.enc = g711.AppendConvert(r.enc[:0], frame, g711.ULaw, m.law)
			payload = r.enc
		}
		pkt := m.pk.Audio(payload)
		due := m.start.Add(time.Duration(slot) * rtp.FrameTime)
		late := now.Sub(due)
		m.st.Sent++
		if late > LateAfter {
			m.st.Late++
		}
		m.st.MaxLate = max(m.st.MaxLate, late)
		r.st.Sent++
		if late < 0 {
			r.st.Early++
			r.st.Lead -= late
			r.st.MaxLead = max(r.st.MaxLead, -late)
		}
		r.leadSum -= late
		if r.leadN++; r.leadN == relayWindow {
			if lead := r.leadSum / relayWindow; lead > rtp.FrameTime/2 {
				r.trim = max(1, int(lead/rtp.FrameTime))
			}
			r.leadN, r.leadSum = 0, 0
		}
		r.pcm = g711.ULaw.AppendDecode(r.pcm[:0], frame)
		m.rec.Add(audio.Agent, time.Duration(slot)*rtp.FrameTime, audio.PCM{Rate: audio.Rate, Samples: r.pcm})
		m.noteSent(frame)
		m.writeLocked(pkt)
	}
}

// writeLocked sends pkt now; m.mu is held (it guards the scratch buffer).
func (m *media) writeLocked(pkt *pion.Packet) {
	r := &m.relay
	if cap(r.wire) < 12+len(pkt.Payload) {
		r.wire = make([]byte, 0, 12+rtp.FrameSamples*2)
	}
	n, err := pkt.Header.MarshalTo(r.wire[:cap(r.wire)])
	if err != nil {
		return
	}
	buf := append(r.wire[:n], pkt.Payload...)
	_, _ = m.conn.WriteToUDP(buf, m.remote)
}

// takeSlot claims slot n for the tick's own packet: false if a relayed
// frame took it already, or if the other leg is talking and the slot
// waits for its next frame. Slots nobody sent (a stall) become a pause
// in the stream. m.mu is held.
func (m *media) takeSlot(n int64, now time.Time) bool {
	r := &m.relay
	if r.next > n {
		return false
	}
	if !r.lastIn.IsZero() && now.Sub(r.lastIn) < relayActive && len(m.events) == 0 && len(m.play) == 0 {
		for ; r.next < n-relayLag; r.next++ {
			m.pk.Pause(rtp.FrameSamples)
			r.st.Skipped++
		}
		return false
	}
	if r.next < n {
		m.pk.Pause(uint32((n - r.next) * rtp.FrameSamples))
	}
	r.next = n + 1
	return true
}

// relayTick drops a frame of a queue that has stood too long (the other
// leg's clock runs fast); m.mu is held.
func (m *media) relayTick() {
	r := &m.relay
	if r.qLen == 0 {
		r.standing = 0
	} else if r.standing++; r.standing >= relayStanding {
		r.qHead = (r.qHead + 1) % relayQueue
		r.qLen--
		r.st.Dropped++
		r.standing = 0
	}
}

// fillSlot is the tick's packet for a slot with nothing else to send:
// the next frame of the hold loop, else silence. m.mu is held.
func (m *media) fillSlot(at time.Duration, silence []byte) *pion.Packet {
	r := &m.relay
	if len(r.hold) == 0 {
		return m.pk.Audio(silence)
	}
	frame := r.holdBuf[:]
	for i := range frame {
		frame[i] = r.hold[r.holdPos]
		r.holdPos = (r.holdPos + 1) % len(r.hold)
	}
	r.pcm = m.law.AppendDecode(r.pcm[:0], frame)
	m.rec.Add(audio.Agent, at, audio.PCM{Rate: audio.Rate, Samples: r.pcm})
	return m.pk.Audio(frame)
}

// noteSent queues a frame sent to the callee (PCMU; nil: no audio, a DTMF
// event) for the taps: they hear the sent stream in the order it went
// out, one frame a tick, whatever slots the frames took; past tapQueue
// the oldest is skipped. m.mu is held.
func (m *media) noteSent(pcmu []byte) {
	r := &m.relay
	if len(r.taps) == 0 {
		return
	}
	if r.tapLen == tapQueue {
		r.tapHead = (r.tapHead + 1) % tapQueue
		r.tapLen--
	}
	f := &r.tapQ[(r.tapHead+r.tapLen)%tapQueue]
	if pcmu == nil {
		for i := range f {
			f[i] = 0xFF
		}
	} else {
		copy(f[:], pcmu)
	}
	r.tapLen++
}

// noteSentPacket is noteSent for a packet the tick built (a prompt frame,
// a DTMF event, silence). m.mu is held.
func (m *media) noteSentPacket(pkt *pion.Packet) {
	if len(m.relay.taps) == 0 || pkt == nil {
		return
	}
	if pkt.PayloadType != m.pt {
		m.noteSent(nil)
		return
	}
	m.noteSent(g711.AppendConvert(nil, pkt.Payload, m.law, g711.ULaw))
}

// tapSlot gives the taps the mix of a tick: the next frame sent to the
// callee and the callee's frame of the tick (heard; nil: none).
func (m *media) tapSlot(heard []int16) {
	m.mu.Lock()
	r := &m.relay
	if len(r.taps) == 0 {
		m.mu.Unlock()
		return
	}
	mix := make([]int32, rtp.FrameSamples)
	for i, v := range heard {
		if i < len(mix) {
			mix[i] = int32(v)
		}
	}
	if r.tapLen > 0 {
		for i, c := range r.tapQ[r.tapHead] {
			mix[i] += int32(g711.DecodeULaw(c))
		}
		r.tapHead = (r.tapHead + 1) % tapQueue
		r.tapLen--
	}
	taps := make([]func([]byte), 0, len(r.taps))
	for _, f := range r.taps {
		taps = append(taps, f)
	}
	m.mu.Unlock()
	out := make([]byte, rtp.FrameSamples)
	for i, v := range mix {
		out[i] = g711.EncodeULaw(int16(max(-32768, min(32767, v))))
	}
	for _, f := range taps {
		f(out)
	}
}

// OnAudio makes the call a bridge leg: f gets each frame of the callee's
// voice as PCMU, on arrival, on the call's receiving goroutine (it must
// not block nor keep the slice). nil stops it.
func (c *Conn) OnAudio(f func(frame []byte)) {
	if f == nil {
		c.media.relay.out.Store(nil)
		return
	}
	c.media.relay.out.Store(&f)
}

// SendAudio sends a 20 ms PCMU frame of the other leg to the callee in
// the call's next free slot (see relay.go); frames of other sizes are
// re-framed. It never waits for the clock.
func (c *Conn) SendAudio(frame []byte) { c.media.sendRelayed(frame) }

// Hold plays loop to the callee, over and over, in every slot nothing
// else fills (a bridge on hold relays nothing, so the callee hears the
// loop); a zero loop stops it. The hold audio is recorded.
func (c *Conn) Hold(loop audio.PCM) {
	var enc []byte
	if len(loop.Samples) > 0 {
		if loop.Rate != audio.Rate {
			loop = audio.Resample(loop, audio.Rate)
		}
		enc = c.media.law.AppendEncode(nil, loop.Samples)
	}
	m := c.media
	m.mu.Lock()
	m.relay.hold, m.relay.holdPos = enc, 0
	m.mu.Unlock()
}

// Tap calls f every 20 ms, on the call's clock, with the PCMU mix of both
// sides of the call: what is sent to the callee (virtual agent, hold
// audio, operator) and what the callee says. f must not block. untap
// stops it.
func (c *Conn) Tap(f func(mix []byte)) (untap func()) {
	m := c.media
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.relay.taps) == 0 {
		m.relay.taps = map[uint64]func([]byte){}
		m.relay.tapLen = 0 // what was queued for earlier taps is stale
	}
	m.relay.tapSeq++
	id := m.relay.tapSeq
	m.relay.taps[id] = f
	return func() {
		m.mu.Lock()
		delete(m.relay.taps, id)
		m.mu.Unlock()
	}
}

// RelayStats returns the call's bridged-audio counters.
func (c *Conn) RelayStats() RelayStats {
	m := c.media
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.relay.st
	s.Forwarded = m.relay.fwd.Load()
	return s
}
