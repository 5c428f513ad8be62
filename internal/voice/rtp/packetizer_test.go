package rtp

import (
	"testing"

	pion "github.com/pion/rtp"
)

func TestPacketizerNumbering(t *testing.T) {
	p := NewPacketizerAt(8, 0xCAFEBABE, 65534, 0xFFFFFF60)
	frame := make([]byte, FrameSamples)
	var got []*pion.Packet
	for range 3 {
		got = append(got, p.Audio(frame))
	}
	p.Pause(2 * FrameSamples)
	got = append(got, p.Audio(frame), p.Audio(frame))
	want := []struct {
		seq    uint16
		ts     uint32
		marker bool
	}{
		{65534, 0xFFFFFF60, true}, {65535, 0, false}, {0, 160, false},
		{1, 640, true}, {2, 800, false}, // after a 40 ms pause: a new talkspurt
	}
	for i, w := range want {
		h := got[i].Header
		if h.SequenceNumber != w.seq || h.Timestamp != w.ts || h.Marker != w.marker ||
			h.SSRC != 0xCAFEBABE || h.PayloadType != 8 || h.Version != 2 {
			t.Errorf("packet %d: %+v, want seq %d ts %d marker %v", i, h, w.seq, w.ts, w.marker)
		}
	}
	// What goes on the wire parses back the same.
	raw, err := got[3].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 12+FrameSamples || raw[1] != 0x80|8 {
		t.Fatalf("wire form: %d bytes, byte 1 %#x", len(raw), raw[1])
	}
	var back pion.Packet
	if err := back.Unmarshal(raw); err != nil || back.SequenceNumber != 1 || back.Timestamp != 640 || !back.Marker {
		t.Fatalf("unmarshal: %v %+v", err, back.Header)
	}
	if p.Timestamp() != 960 || p.SSRC() != 0xCAFEBABE {
		t.Errorf("next timestamp %d", p.Timestamp())
	}
}

func TestNewPacketizerRandom(t *testing.T) {
	a, b := NewPacketizer(0), NewPacketizer(0)
	pa, pb := a.Audio([]byte{0xFF}), b.Audio([]byte{0xFF})
	if pa.SSRC == pb.SSRC && pa.SequenceNumber == pb.SequenceNumber && pa.Timestamp == pb.Timestamp {
		t.Error("two streams started identically")
	}
	if !pa.Marker || pa.PayloadType != 0 {
		t.Errorf("first packet %+v", pa.Header)
	}
}
