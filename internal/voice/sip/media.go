package sip

import (
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pion "github.com/pion/rtp"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/rtp"
)

// MediaStats counts one call's RTP, for the benchmark and the logs.
type MediaStats struct {
	Sent     uint64        // packets sent
	Late     uint64        // packets sent more than LateAfter after their scheduled time
	MaxLate  time.Duration // worst lateness seen
	Received uint64        // packets received (audio and events)
	Jitter   rtp.Stats     // the receive jitter buffer's counters
}

// LateAfter is when a packet counts as late: a whole frame after its slot.
const LateAfter = rtp.FrameTime

// media is the RTP session of one answered call. One goroutine reads the
// socket into the jitter buffer; the media clock (clock.go, one for all
// calls) runs its 20 ms ticks: every tick it sends one packet (prompt
// audio, a DTMF event or silence) and pops one received frame into the
// recording, the barge-in detector and an active Listen. Tick n is
// scheduled at start + n*20 ms, so the clock doesn't drift however late
// a single wake-up is.
type media struct {
	clock  *mediaClock // runs this call's ticks (clock.go)
	conn   *net.UDPConn
	remote *net.UDPAddr
	law    g711.Law
	pt     uint8
	dtmfPT uint8
	pk     *rtp.Packetizer
	jb     *rtp.JitterBuffer
	dtmf   *rtp.DTMFDecoder
	rec    *audio.Recorder
	vad    VAD
	det    *detector // the tick loop's
	start  time.Time
	barge  bool
	kick   chan struct{} // a prompt was queued: send its first frame now

	mu       sync.Mutex
	play     []int16        // prompt samples still to send
	playDone chan struct{}  // closed when play runs out or is cut
	playMore bool           // a streamed prompt: more of it is coming, so running out is a gap, not the end
	bargedIn bool           // the last prompt was cut by the callee
	events   []*pion.Packet // DTMF packets still to send, one a tick
	evDone   chan struct{}  // closed when events run out
	listen   chan heard     // frames for an active Listen
	digits   chan rune      // received DTMF digits for an active Listen
	st       MediaStats
	speaking int // consecutive loud frames during a prompt
	// When the current prompt was queued and its first packet sent.
	promptQueued, promptFirst time.Time
	// When the last barge-in's first loud frame was heard and the prompt
	// cut (the frame that decided it).
	bargeHeard, bargeCut time.Time
	relay                relay // the bridge hook (relay.go)

	tk tickState // the media clock's (clock.go)

	closed atomic.Bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func newMedia(conn *net.UDPConn, remote *net.UDPAddr, law g711.Law, pt, dtmfPT uint8, rec *audio.Recorder, vad VAD, barge bool, start time.Time, jitterMin time.Duration) *media {
	vad = vad.withDefaults()
	m := &media{
		conn: conn, remote: remote, law: law, pt: pt, dtmfPT: dtmfPT,
		pk:     rtp.NewPacketizer(pt),
		jb:     rtp.NewJitterBuffer(rtp.JitterConfig{PayloadType: pt, Silence: law.Silence(), MinDelay: jitterMin}),
		dtmf:   rtp.NewDTMFDecoder(dtmfPT),
		rec:    rec,
		vad:    vad,
		det:    newDetector(vad),
		kick:   make(chan struct{}, 1),
		start:  start,
		barge:  barge,
		done:   make(chan struct{}),
		digits: make(chan rune, 32),
	}
	m.initTick()
	m.wg.Add(2)
	go m.readLoop()
	m.clock = leastBusyClock()
	m.clock.add(m) // the clock's wg share ends when it drops m after done
	return m
}

func (m *media) close() {
	if m.closed.Swap(true) {
		return
	}
	close(m.done)
	m.clock.poke()
	m.conn.Close()
	m.wg.Wait()
	m.mu.Lock()
	m.cutPrompt(false)
	m.flushEvents()
	m.mu.Unlock()
}

func (m *media) stats() MediaStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.st
	s.Jitter = m.jb.Stats()
	return s
}

func (m *media) readLoop() {
	defer m.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := m.conn.ReadFromUDP(buf)
		if err != nil {
			if m.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP port unreachable and the like: keep listening
		}
		var pkt pion.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		now := time.Now()
		m.mu.Lock()
		m.st.Received++
		m.mu.Unlock()
		if pkt.PayloadType == m.dtmfPT && m.dtmfPT != 0 {
			m.jb.Push(&pkt, now) // sequence accounting only
			if d, ok, _ := m.dtmf.Decode(&pkt); ok {
				select {
				case m.digits <- d:
				default:
				}
			}
			continue
		}
		m.forwardReceived(&pkt)
		m.jb.Push(&pkt, now)
	}
}

// tickState is the tick loop's own state, touched only by the media
// clock's goroutine (clock.go).
type tickState struct {
	n         int64     // the next slot
	next      time.Time // its time
	sentEarly int64     // the slot whose packet went out ahead of time
	silence   []byte
	payload   []byte
	out       []byte
	pcm       []int16
}

func (m *media) initTick() {
	t := &m.tk
	t.sentEarly = -1
	t.next = m.start
	t.silence = make([]byte, rtp.FrameSamples)
	for i := range t.silence {
		t.silence[i] = m.law.Silence()
	}
	t.payload = make([]byte, 0, rtp.FrameSamples)
	t.out = make([]byte, 0, 12+rtp.FrameSamples)
	t.pcm = make([]int16, rtp.FrameSamples)
}

// kicked sends the current slot's packet now: a prompt was queued between
// two ticks, so its first frame goes out at once instead of at the next
// slot (at most 20 ms early, well inside any jitter buffer), and the
// slot's own tick then only receives.
func (m *media) kicked() {
	t := &m.tk
	if t.sentEarly != t.n {
		t.sentEarly = t.n
		m.sendSlot(t.n, time.Now(), 0, t.pcm, t.payload, t.out, t.silence)
	}
}

// tick runs slot t.n at now (its time or later, or up to clockSlack
// before it): send one packet, pop one received frame.
func (m *media) tick(now time.Time) {
	t := &m.tk
	n := t.n
	slot := m.start.Add(time.Duration(n) * rtp.FrameTime)
	if now.Before(slot) {
		// Run up to clockSlack early: the slot's logic sees its own time
		// (never before the slot, as the relay's and the jitter
		// buffer's slot arithmetic expect); only the packet leaves early.
		now = slot
	}
	late := now.Sub(slot)
	at := time.Duration(n) * rtp.FrameTime
	if t.sentEarly != n {
		m.sendSlot(n, now, late, t.pcm, t.payload, t.out, t.silence)
	}

	// Receive.
	var got []int16
	if f, ok := m.jb.Pop(now); ok {
		samples := m.law.AppendDecode(nil, f.Payload)
		got = samples
		if !f.Concealed {
			m.rec.Add(audio.Callee, at, audio.PCM{Rate: audio.Rate, Samples: samples})
		}
		h := m.det.classify(samples)
		h.concealed = f.Concealed
		m.mu.Lock()
		if m.playDone != nil && m.barge {
			if h.loud {
				m.speaking++
			} else {
				m.speaking = 0
			}
			if m.speaking >= m.vad.StartFrames {
				m.bargeHeard, m.bargeCut = now.Add(-time.Duration(m.speaking-1)*rtp.FrameTime), time.Now()
				m.cutPrompt(true)
			}
		}
		if m.listen != nil {
			select {
			case m.listen <- h:
			default: // a stalled listener loses frames, not the clock
			}
		}
		m.mu.Unlock()
	}
	m.tapSlot(got)

	n++
	// A stall longer than the jitter buffer's reach (the process was
	// descheduled) skips the missed ticks instead of bursting them.
	if behind := time.Since(m.start.Add(time.Duration(n) * rtp.FrameTime)); behind > 10*rtp.FrameTime {
		skip := int64(behind / rtp.FrameTime)
		m.mu.Lock()
		m.st.Late += uint64(skip) // those packets were never sent on time
		m.mu.Unlock()
		n += skip // takeSlot pauses the stream over the skipped slots
	}
	t.n = n
	t.next = m.start.Add(time.Duration(n) * rtp.FrameTime)
}

// sendSlot sends slot n's packet: prompt audio, a DTMF event, the bridged
// leg's audio or silence.
func (m *media) sendSlot(n int64, now time.Time, late time.Duration, pcm []int16, payload, out, silence []byte) {
	at := time.Duration(n) * rtp.FrameTime
	m.mu.Lock()
	m.drainRelayed(now)
	m.relayTick()
	var pkt *pion.Packet
	switch {
	case !m.takeSlot(n, now): // the slot is the bridged leg's (relay.go)
	case len(m.events) > 0:
		pkt = m.events[0]
		m.events = m.events[1:]
		if len(m.events) == 0 {
			m.flushEvents()
		}
	case len(m.play) > 0:
		k := copy(pcm, m.play)
		clear(pcm[k:])
		m.play = m.play[k:]
		m.rec.Add(audio.Agent, at, audio.PCM{Rate: audio.Rate, Samples: pcm[:k]})
		payload = m.law.AppendEncode(payload[:0], pcm)
		pkt = m.pk.Audio(payload)
		if m.promptFirst.IsZero() {
			m.promptFirst = now
		}
		if len(m.play) == 0 && !m.playMore {
			m.cutPrompt(false)
		}
	default:
		pkt = m.fillSlot(at, silence)
	}
	if pkt != nil {
		m.noteSentPacket(pkt)
		m.st.Sent++
		if late > LateAfter {
			m.st.Late++
		}
		m.st.MaxLate = max(m.st.MaxLate, late)
	}
	m.mu.Unlock()
	if pkt != nil {
		if b, err := pkt.Header.MarshalTo(out[:cap(out)]); err == nil {
			buf := append(out[:b], pkt.Payload...)
			_, _ = m.conn.WriteToUDP(buf, m.remote)
		}
	}
}

// cutPrompt ends the current prompt; m.mu is held.
func (m *media) cutPrompt(barged bool) {
	m.play = nil
	m.playMore = false
	m.speaking = 0
	if m.playDone != nil {
		m.bargedIn = barged
		close(m.playDone)
		m.playDone = nil
	}
}

func (m *media) flushEvents() {
	m.events = nil
	if m.evDone != nil {
		close(m.evDone)
		m.evDone = nil
	}
}

// startPrompt queues pcm (at audio.Rate) and returns a channel closed when
// it has been sent or cut.
func (m *media) startPrompt(pcm audio.PCM) <-chan struct{} {
	if pcm.Rate != audio.Rate {
		pcm = audio.Resample(pcm, audio.Rate)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cutPrompt(false)
	done := make(chan struct{})
	if m.closed.Load() || len(pcm.Samples) == 0 {
		close(done)
		return done
	}
	m.play = pcm.Samples
	m.playDone = done
	m.bargedIn = false
	m.promptQueued, m.promptFirst = time.Now(), time.Time{}
	select {
	case m.kick <- struct{}{}:
	default:
	}
	m.clock.poke()
	return done
}

// startStream is startPrompt for a prompt whose audio comes in parts (a
// text synthesized clause by clause): the first part plays at once, add
// appends the next ones (false once the prompt was cut, by a barge-in or
// a hang-up: stop synthesizing), and end says no more are coming. Until
// end, a prompt that runs out of audio sends silence and goes on.
func (m *media) startStream(first audio.PCM) (done <-chan struct{}, add func(audio.PCM) bool, end func()) {
	ch := m.startPrompt(first)
	m.mu.Lock()
	if m.playDone == ch {
		m.playMore = true
	}
	m.mu.Unlock()
	add = func(p audio.PCM) bool {
		if p.Rate != audio.Rate {
			p = audio.Resample(p, audio.Rate)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.playDone != ch {
			return false
		}
		// Clip: the samples may be a cached prompt's, shared with other
		// calls; appending must not write past their end.
		m.play = append(slices.Clip(m.play), p.Samples...)
		return true
	}
	end = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.playDone != ch {
			return
		}
		m.playMore = false
		if len(m.play) == 0 {
			m.cutPrompt(false)
		}
	}
	return ch, add, end
}

// stopPrompt cuts the current prompt (the caller's context ended).
func (m *media) stopPrompt() {
	m.mu.Lock()
	m.cutPrompt(false)
	m.mu.Unlock()
}

// sendDigits queues the RFC 4733 packets of digits, each 100 ms with
// 60 ms (three silent ticks) between them.
func (m *media) sendDigits(digits string, d time.Duration) (<-chan struct{}, error) {
	var pkts []*pion.Packet
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range digits {
		ev, err := m.pk.EventPackets(m.dtmfPT, r, rtp.DefaultDTMFVolume, d)
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, ev...)
	}
	done := make(chan struct{})
	if len(pkts) == 0 || m.closed.Load() {
		close(done)
		return done, nil
	}
	m.events = append(m.events, pkts...)
	if m.evDone != nil {
		close(m.evDone)
	}
	m.evDone = done
	return done, nil
}

// subscribe starts delivering received frames and returns their channel.
func (m *media) subscribe() chan heard {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listen = make(chan heard, 256)
	// Digits pressed before this Listen are stale.
	for {
		select {
		case <-m.digits:
			continue
		default:
		}
		break
	}
	return m.listen
}

func (m *media) unsubscribe() {
	m.mu.Lock()
	m.listen = nil
	m.mu.Unlock()
}
