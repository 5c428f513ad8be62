package rtp

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	pion "github.com/pion/rtp"
)

// Audio stream constants for G.711 (RFC 3551 §4.5.14).
const (
	ClockRate    = 8000                  // Hz: the RTP clock of PCMU, PCMA and telephone-event
	FrameSamples = 160                   // samples (and G.711 bytes) in one packet
	FrameTime    = 20 * time.Millisecond // playing time of one packet, the tick
)

// Packetizer builds the packets of one outgoing RTP stream. Each call of
// Audio, Pause or EventPackets stands for one or more 20 ms ticks; the
// caller sends what they return on its clock. Not safe for concurrent use.
type Packetizer struct {
	ssrc      uint32
	pt        uint8
	seq       uint16
	ts        uint32 // timestamp of the next tick
	talkspurt bool   // the previous tick carried audio
}

// NewPacketizer starts a stream of payload type pt (0 PCMU, 8 PCMA) with a
// random SSRC, first sequence number and first timestamp.
func NewPacketizer(pt uint8) *Packetizer {
	var b [10]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return NewPacketizerAt(pt, binary.BigEndian.Uint32(b[0:]),
		binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint32(b[6:]))
}

// NewPacketizerAt starts a stream with the given SSRC, first sequence
// number and first timestamp: for tests, and for resuming a stream.
func NewPacketizerAt(pt uint8, ssrc uint32, seq uint16, ts uint32) *Packetizer {
	return &Packetizer{ssrc: ssrc, pt: pt & 0x7F, seq: seq, ts: ts}
}

// SSRC is the stream's synchronisation source, for SDP and RTCP.
func (p *Packetizer) SSRC() uint32 { return p.ssrc }

// Timestamp is the RTP timestamp the next tick will carry.
func (p *Packetizer) Timestamp() uint32 { return p.ts }

// Audio returns the packet of one frame of encoded audio (normally
// FrameSamples bytes of G.711) and advances the stream by its length. The
// payload is referenced, not copied. The first packet after the start, a
// Pause or a DTMF event has the marker bit set.
func (p *Packetizer) Audio(payload []byte) *pion.Packet {
	pkt := p.next(p.pt, !p.talkspurt, p.ts, payload)
	p.ts += uint32(len(payload))
	p.talkspurt = true
	return pkt
}

// Pause advances the stream's clock by samples without sending anything
// (silence suppression, or a hold): the next audio packet starts a new
// talkspurt, whose timestamp shows the receiver how long the gap was.
func (p *Packetizer) Pause(samples uint32) {
	p.ts += samples
	p.talkspurt = false
}

func (p *Packetizer) next(pt uint8, marker bool, ts uint32, payload []byte) *pion.Packet {
	pkt := &pion.Packet{
		Header: pion.Header{
			Version:        2,
			Marker:         marker,
			PayloadType:    pt,
			SequenceNumber: p.seq,
			Timestamp:      ts,
			SSRC:           p.ssrc,
		},
		Payload: payload,
	}
	p.seq++
	return pkt
}
