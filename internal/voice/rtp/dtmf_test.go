package rtp

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	pion "github.com/pion/rtp"
)

// Payload bytes worked out by hand from RFC 4733 §2.3.
func TestEventBytes(t *testing.T) {
	cases := []struct {
		e    Event
		wire []byte
	}{
		{Event{Code: 1, Volume: 10, Duration: 160}, []byte{0x01, 0x0A, 0x00, 0xA0}},
		{Event{Code: 11, End: true, Volume: 10, Duration: 800}, []byte{0x0B, 0x8A, 0x03, 0x20}},
		{Event{Code: 15, End: true, Volume: 63, Duration: 0xFFFF}, []byte{0x0F, 0xBF, 0xFF, 0xFF}},
		{Event{Code: 10, Volume: 0, Duration: 0}, []byte{0x0A, 0x00, 0x00, 0x00}},
		{Event{Code: 0, End: true, Volume: 7, Duration: 1280}, []byte{0x00, 0x87, 0x05, 0x00}},
	}
	for _, c := range cases {
		if got := c.e.AppendTo(nil); !bytes.Equal(got, c.wire) {
			t.Errorf("%+v -> % x, want % x", c.e, got, c.wire)
		}
		if back, err := ParseEvent(c.wire); err != nil || back != c.e {
			t.Errorf("parse % x = %+v, %v", c.wire, back, err)
		}
	}
	// The reserved bit is ignored; a volume over 63 is cut to 6 bits.
	if e, _ := ParseEvent([]byte{5, 0x4A, 1, 0x40}); e != (Event{Code: 5, Volume: 10, Duration: 320}) {
		t.Errorf("reserved bit: %+v", e)
	}
	if got := (Event{Volume: 0xFF}).AppendTo(nil); got[1] != 0x3F {
		t.Errorf("volume overflow into flags: %#x", got[1])
	}
	if _, err := ParseEvent([]byte{1, 2, 3}); err != ErrShortEvent {
		t.Errorf("short payload: %v", err)
	}
}

func TestDigitCodes(t *testing.T) {
	for i, d := range "0123456789*#ABCD" {
		c, ok := DigitCode(d)
		back, ok2 := CodeDigit(c)
		if !ok || !ok2 || int(c) != i || back != d {
			t.Errorf("%q: code %d %v, back %q", d, c, ok, back)
		}
	}
	if c, ok := DigitCode('b'); !ok || c != 13 {
		t.Errorf("lower case b: %d %v", c, ok)
	}
	if _, ok := DigitCode('E'); ok {
		t.Error("E is no DTMF digit")
	}
	if _, ok := CodeDigit(16); ok {
		t.Error("event 16 (flash) is no digit")
	}
}

func TestEventPackets(t *testing.T) {
	p := NewPacketizerAt(0, 42, 65533, 1000)
	p.Audio(make([]byte, FrameSamples))
	pkts, err := p.EventPackets(101, '#', DefaultDTMFVolume, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 5+3 {
		t.Fatalf("%d packets, want 5 updates and 3 ends", len(pkts))
	}
	for i, pkt := range pkts {
		e, err := ParseEvent(pkt.Payload)
		wantDur := uint16(min(i+1, 5) * 160)
		if err != nil || e.Code != 11 || e.Volume != 10 || e.Duration != wantDur || e.End != (i >= 5) {
			t.Errorf("packet %d: %+v %v", i, e, err)
		}
		h := pkt.Header
		if h.PayloadType != 101 || h.Timestamp != 1160 || h.SSRC != 42 ||
			h.SequenceNumber != uint16(65534+i) || h.Marker != (i == 0) {
			t.Errorf("packet %d header %+v", i, h)
		}
	}
	next := p.Audio(make([]byte, FrameSamples))
	if next.Timestamp != 1160+8*160 || !next.Marker || next.SequenceNumber != 6 {
		t.Errorf("audio after the event: %+v", next.Header)
	}
	for _, bad := range []struct {
		d   rune
		vol uint8
		dur time.Duration
	}{{'x', 10, time.Second}, {'1', 64, time.Second}, {'1', 10, 0}, {'1', 10, 9 * time.Second}} {
		if _, err := p.EventPackets(101, bad.d, bad.vol, bad.dur); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if p.Timestamp() != next.Timestamp+160 {
		t.Error("a refused event moved the clock")
	}
}

// A stream of digits with audio between them goes through the wire form,
// local reordering, duplication and random loss: each digit with at least
// one surviving packet comes out once, in order.
func TestDTMFRoundTrip(t *testing.T) {
	const digits = "0123456789*#ABCD"
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))
		p := NewPacketizerAt(0, 7, uint16(rng.Uint32()), rng.Uint32())
		type sent struct {
			raw   []byte
			event int // index into digits, -1 for audio
		}
		var stream []sent
		add := func(pkt *pion.Packet, ev int) {
			raw, err := pkt.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			stream = append(stream, sent{raw, ev})
		}
		for i, d := range digits {
			for range 4 { // 80 ms of audio between digits
				add(p.Audio(make([]byte, FrameSamples)), -1)
			}
			pkts, err := p.EventPackets(101, d, 10, time.Duration(40+rng.IntN(120))*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, pkt := range pkts {
				add(pkt, i)
			}
		}
		// Network: move each packet by less than 3 places, copy 10%,
		// lose 40%. (Reordering past 80 ms of audio would be reordering
		// across events, which drops the older digit: see DTMFDecoder.)
		key := make(map[*byte]float64, len(stream))
		for i, s := range stream {
			key[&s.raw[0]] = float64(i) + 3*rng.Float64()
		}
		slices.SortStableFunc(stream, func(a, b sent) int { return cmp.Compare(key[&a.raw[0]], key[&b.raw[0]]) })
		survived := make([]bool, len(digits))
		var want []rune
		dec := NewDTMFDecoder(101)
		var got []rune
		var net []sent
		for _, s := range stream {
			if rng.Float64() < 0.4 {
				continue
			}
			net = append(net, s)
			if rng.Float64() < 0.1 {
				net = append(net, s)
			}
			if s.event >= 0 {
				survived[s.event] = true
			}
		}
		for i, d := range digits {
			if survived[i] {
				want = append(want, d)
			}
		}
		for _, s := range net {
			var pkt pion.Packet
			if err := pkt.Unmarshal(s.raw); err != nil {
				t.Fatal(err)
			}
			d, ok, err := dec.Decode(&pkt)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				got = append(got, d)
			}
		}
		if string(got) != string(want) {
			t.Fatalf("seed %d: got %q, want %q", seed, string(got), string(want))
		}
	}
}

// Only the end packets of an event arrive, the last one first: still one
// digit. A new SSRC starts over; flash (event 16) is no digit.
func TestDTMFDecoderEdges(t *testing.T) {
	p := NewPacketizerAt(0, 1, 0, 0)
	pkts, _ := p.EventPackets(101, '9', 10, 60*time.Millisecond)
	dec := NewDTMFDecoder(101)
	var n int
	for _, i := range []int{5, 3, 4, 5} {
		if d, ok, _ := dec.Decode(pkts[i]); ok {
			n++
			if d != '9' {
				t.Errorf("digit %q", d)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d digits from one event", n)
	}
	other := *pkts[0]
	other.SSRC = 2
	if _, ok, _ := dec.Decode(&other); !ok {
		t.Error("a new stream's event was ignored")
	}
	flash := *pkts[0]
	flash.Timestamp += 10000
	flash.Payload = Event{Code: 16}.AppendTo(nil)
	if _, ok, _ := dec.Decode(&flash); ok {
		t.Error("flash reported as a digit")
	}
	audio := &pion.Packet{Header: pion.Header{PayloadType: 0}, Payload: []byte{1}}
	if _, ok, err := dec.Decode(audio); ok || err != nil {
		t.Error("audio packet decoded")
	}
	short := *pkts[0]
	short.Payload = []byte{1}
	if _, _, err := dec.Decode(&short); err == nil {
		t.Error("short event accepted")
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte{0x0B, 0x8A, 0x03, 0x20})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			return
		}
		if got := e.AppendTo(nil); got[0] != b[0] || got[1] != b[1]&^0x40 || got[2] != b[2] || got[3] != b[3] {
			t.Fatalf("% x -> %+v -> % x", b[:4], e, got)
		}
	})
}
