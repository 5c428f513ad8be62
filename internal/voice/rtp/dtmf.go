package rtp

import (
	"errors"
	"fmt"
	"time"

	pion "github.com/pion/rtp"
)

// DefaultDTMFPayloadType is the dynamic payload type most SIP peers
// (Asterisk, FreeSWITCH, baresip) offer for telephone-event/8000. The
// actual one comes from the SDP answer.
const DefaultDTMFPayloadType = 101

// DefaultDTMFVolume is the power of the tone the events stand for, in −dBm0
// (RFC 4733 §2.3.4): 10 is what Asterisk and FreeSWITCH send.
const DefaultDTMFVolume = 10

// Event is the 4-byte payload of an RFC 4733 named-event packet:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Event struct {
	Code     uint8  // 0-9, 10 '*', 11 '#', 12-15 'A'-'D' (DTMF); others exist
	End      bool   // the E bit: this packet reports the end of the event
	Volume   uint8  // 0-63, −dBm0
	Duration uint16 // in timestamp units (samples at 8 kHz) since the event's start
}

// ErrShortEvent is the error of a telephone-event payload under 4 bytes.
var ErrShortEvent = errors.New("rtp: telephone-event payload shorter than 4 bytes")

// AppendTo appends e's wire form to b. The reserved bit is sent as 0.
func (e Event) AppendTo(b []byte) []byte {
	flags := e.Volume & 0x3F
	if e.End {
		flags |= 0x80
	}
	return append(b, e.Code, flags, byte(e.Duration>>8), byte(e.Duration))
}

// ParseEvent reads the first event of a payload (a redundant RFC 2198
// payload is not expected: it is not offered). The reserved bit is ignored.
func ParseEvent(b []byte) (Event, error) {
	if len(b) < 4 {
		return Event{}, ErrShortEvent
	}
	return Event{
		Code:     b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3F,
		Duration: uint16(b[2])<<8 | uint16(b[3]),
	}, nil
}

const dtmfDigits = "0123456789*#ABCD"

// DigitCode is the event code of a DTMF digit: 0-9, *, #, A-D (a-d too).
func DigitCode(digit rune) (uint8, bool) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i, d := range dtmfDigits {
		if d == digit {
			return uint8(i), true
		}
	}
	return 0, false
}

// CodeDigit is the DTMF digit of an event code 0-15.
func CodeDigit(code uint8) (rune, bool) {
	if int(code) >= len(dtmfDigits) {
		return 0, false
	}
	return rune(dtmfDigits[code]), true
}

// maxEventTicks keeps an event's duration within the 16-bit field.
const maxEventTicks = 0xFFFF / FrameSamples

// EventPackets returns the packets of one DTMF digit of length d, payload
// type pt, one to send per 20 ms tick in place of audio: ceil(d/20 ms)
// packets whose durations grow by 160 (the first with the marker bit),
// then the final duration three times with the E bit (RFC 4733 §2.5.1.4:
// the end is repeated because it alone tells the receiver the length).
// All carry the timestamp of the event's start and their own sequence
// numbers. The stream's clock advances by all the ticks, and the next
// audio packet starts a new talkspurt.
func (p *Packetizer) EventPackets(pt uint8, digit rune, volume uint8, d time.Duration) ([]*pion.Packet, error) {
	code, ok := DigitCode(digit)
	if !ok {
		return nil, fmt.Errorf("rtp: %q is not a DTMF digit", digit)
	}
	if volume > 63 {
		return nil, fmt.Errorf("rtp: DTMF volume %d out of 0..63", volume)
	}
	ticks := int((d + FrameTime - 1) / FrameTime)
	if ticks < 1 || ticks > maxEventTicks {
		return nil, fmt.Errorf("rtp: DTMF duration %v out of 20ms..%v", d, maxEventTicks*FrameTime)
	}
	start := p.ts
	pkts := make([]*pion.Packet, 0, ticks+3)
	for i := 1; i <= ticks+3; i++ {
		e := Event{Code: code, Volume: volume, Duration: uint16(min(i, ticks) * FrameSamples)}
		e.End = i > ticks
		pkts = append(pkts, p.next(pt&0x7F, i == 1, start, e.AppendTo(nil)))
	}
	p.ts += uint32(len(pkts) * FrameSamples)
	p.talkspurt = false
	return pkts, nil
}

// DTMFDecoder turns received telephone-event packets into digits, each
// digit once. An event is known by its timestamp (its start): the first
// packet of a newer event yields the digit at once, and every other packet
// of it (updates, the three end packets, late copies) is ignored, so any
// single packet of an event suffices. A packet older than the newest event
// is ignored too: reordering across two whole events, or an event whose
// packets are all lost, drops that digit. Not safe for concurrent use.
type DTMFDecoder struct {
	PayloadType uint8 // the negotiated telephone-event payload type

	seen   bool
	ssrc   uint32
	latest uint32 // timestamp of the newest event
}

// NewDTMFDecoder returns a decoder for payload type pt.
func NewDTMFDecoder(pt uint8) *DTMFDecoder { return &DTMFDecoder{PayloadType: pt} }

// Decode looks at one received packet. It returns the digit if pkt starts
// a new DTMF event, ok false for anything else (other payload types,
// events already reported, non-DTMF events such as flash). The error is
// for a telephone-event packet too short to hold an event.
func (d *DTMFDecoder) Decode(pkt *pion.Packet) (digit rune, ok bool, err error) {
	if pkt.PayloadType != d.PayloadType {
		return 0, false, nil
	}
	e, err := ParseEvent(pkt.Payload)
	if err != nil {
		return 0, false, err
	}
	if d.seen && pkt.SSRC == d.ssrc && int32(pkt.Timestamp-d.latest) <= 0 {
		return 0, false, nil
	}
	digit, ok = CodeDigit(e.Code)
	if !ok {
		return 0, false, nil
	}
	d.seen, d.ssrc, d.latest = true, pkt.SSRC, pkt.Timestamp
	return digit, true, nil
}
