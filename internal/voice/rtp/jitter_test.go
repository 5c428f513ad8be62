package rtp

import (
	"testing"
	"time"

	pion "github.com/pion/rtp"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func tick(n int) time.Time { return t0.Add(time.Duration(n) * FrameTime) }

// stream makes n audio packets whose payload bytes all equal the frame's
// index (mod 256), starting at sequence number seq and timestamp ts.
func stream(n int, seq uint16, ts uint32) []*pion.Packet {
	p := NewPacketizerAt(0, 99, seq, ts)
	out := make([]*pion.Packet, n)
	for i := range out {
		f := make([]byte, FrameSamples)
		for j := range f {
			f[j] = byte(i)
		}
		out[i] = p.Audio(f)
	}
	return out
}

func newJB() *JitterBuffer { return NewJitterBuffer(JitterConfig{PayloadType: 0, Silence: 0xFF}) }

type arrival struct {
	at  int // tick
	pkt *pion.Packet
}

// run pushes the arrivals (in order of the slice, each at its tick) and
// pops once per tick after the pushes of that tick, for ticks 0..until.
func run(b *JitterBuffer, arrivals []arrival, until int) []Frame {
	var out []Frame
	k := 0
	for n := 0; n <= until; n++ {
		for k < len(arrivals) && arrivals[k].at <= n {
			b.Push(arrivals[k].pkt, tick(arrivals[k].at))
			k++
		}
		if f, ok := b.Pop(tick(n)); ok {
			out = append(out, f)
		}
	}
	return out
}

func inOrder(pkts []*pion.Packet) []arrival {
	a := make([]arrival, len(pkts))
	for i, p := range pkts {
		a[i] = arrival{i, p}
	}
	return a
}

// frameIDs is each frame's first byte, -1 for silence, -2-x for a repeat
// of frame x.
func frameIDs(fs []Frame) []int {
	ids := make([]int, len(fs))
	for i, f := range fs {
		switch {
		case !f.Concealed:
			ids[i] = int(f.Payload[0])
		case f.Payload[0] == 0xFF && f.Payload[1] == 0xFF:
			ids[i] = -1
		default:
			ids[i] = -2 - int(f.Payload[0])
		}
	}
	return ids
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestJitterInOrder(t *testing.T) {
	b := newJB()
	pkts := stream(20, 1000, 5000)
	out := run(b, inOrder(pkts), 22)
	// Playout starts 60 ms (3 ticks) after the first packet.
	if got := frameIDs(out); !equalInts(got[:20], seq(0, 19)) {
		t.Fatalf("frames %v", got)
	}
	for i, f := range out {
		if f.Timestamp != 5000+uint32(i)*160 {
			t.Errorf("frame %d timestamp %d", i, f.Timestamp)
		}
	}
	st := b.Stats()
	if st.Received != 20 || st.Lost != 0 || st.Played != 20 || st.Late+st.Duplicate+st.Reordered != 0 ||
		st.Delay != 60*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
	if _, ok := newJB().Pop(t0); ok {
		t.Error("an empty buffer played")
	}
}

func TestJitterReorderAndDuplicates(t *testing.T) {
	b := newJB()
	pkts := stream(20, 1000, 5000)
	var a []arrival
	for i := 0; i < 20; i += 2 { // pairs swapped, both at the later tick
		a = append(a, arrival{i + 1, pkts[i+1]}, arrival{i + 1, pkts[i]})
		if i%4 == 0 {
			a = append(a, arrival{i + 1, pkts[i]}, arrival{i + 1, pkts[i+1]})
		}
	}
	out := run(b, a, 23) // first arrival at tick 1: frames at ticks 4..23
	if got := frameIDs(out); !equalInts(got[:20], seq(0, 19)) {
		t.Fatalf("frames %v", got)
	}
	st := b.Stats()
	if st.Received != 20 || st.Reordered != 10 || st.Duplicate != 10 || st.Lost != 0 || st.Concealed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestJitterLossConcealment(t *testing.T) {
	b := newJB()
	pkts := stream(16, 1000, 5000)
	var a []arrival
	for i, p := range pkts {
		if i != 5 && i != 9 && i != 10 && i != 11 {
			a = append(a, arrival{i, p})
		}
	}
	out := run(b, a, 18)
	want := []int{0, 1, 2, 3, 4, -2 - 4, 6, 7, 8, -2 - 8, -1, -1, 12, 13, 14, 15}
	if got := frameIDs(out); !equalInts(got[:16], want) {
		t.Fatalf("frames %v, want %v", got[:16], want)
	}
	for i, f := range out[:16] {
		if f.Timestamp != 5000+uint32(i)*160 || len(f.Payload) != FrameSamples {
			t.Errorf("frame %d: ts %d, %d bytes", i, f.Timestamp, len(f.Payload))
		}
	}
	if st := b.Stats(); st.Lost != 4 || st.Concealed != 4 || st.Played != 12 {
		t.Errorf("stats %+v", st)
	}
}

func TestJitterLatePacketGrowsDelay(t *testing.T) {
	b := newJB()
	pkts := stream(30, 1000, 5000)
	var a []arrival
	for i, p := range pkts {
		switch {
		case i == 6: // due at tick 9, arrives at tick 11
		case i == 7:
			a = append(a, arrival{i, p}, arrival{11, pkts[6]})
		default:
			a = append(a, arrival{i, p})
		}
	}
	out := run(b, a, 34)
	ids := frameIDs(out)
	// Frame 6 is concealed; the late packet adds a frame of delay (one
	// more made-up frame, at the next tick), then everything plays in
	// order.
	want := append(append(seq(0, 5), -2-5, 7, -2-7), seq(8, 29)...)
	if !equalInts(ids[:len(want)], want) {
		t.Fatalf("frames %v\nwant   %v", ids, want)
	}
	st := b.Stats()
	if st.Late != 1 || st.Lost != 0 || st.Received != 30 || st.Delay != 80*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
}

func TestJitterDelayBounded(t *testing.T) {
	b := newJB()
	pkts := stream(200, 0, 0)
	var a []arrival
	for i, p := range pkts {
		at := i
		if i%10 == 3 { // every tenth packet 240 ms late
			at += 12
		}
		a = append(a, arrival{at, p})
	}
	// The buffer only sees arrivals in time order.
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].at < a[j-1].at; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	run(b, a, 230)
	if st := b.Stats(); st.Delay != DefaultMaxDelay || st.Late == 0 {
		t.Errorf("stats %+v", st)
	}
	// Ten quiet seconds later the delay has come down a frame.
	p := NewPacketizerAt(0, 99, 200, 200*160)
	var more []arrival
	for i := range 600 {
		more = append(more, arrival{231 + i, p.Audio(make([]byte, FrameSamples))})
	}
	for n, k := 231, 0; n < 831; n++ {
		for ; k < len(more) && more[k].at <= n; k++ {
			b.Push(more[k].pkt, tick(more[k].at))
		}
		b.Pop(tick(n))
	}
	if st := b.Stats(); st.Delay != DefaultMaxDelay-FrameTime {
		t.Errorf("after quiet: %+v", st)
	}
}

func TestJitterWraparound(t *testing.T) {
	b := newJB()
	pkts := stream(20, 65530, 0xFFFFFFFF-799)
	a := inOrder(pkts)
	a[8], a[9] = arrival{8, pkts[9]}, arrival{9, pkts[8]} // reorder across 65535 -> 0
	out := run(b, a, 22)
	if got := frameIDs(out); !equalInts(got[:20], seq(0, 19)) {
		t.Fatalf("frames %v", got)
	}
	for i := 1; i < 20; i++ {
		if out[i].Timestamp-out[i-1].Timestamp != 160 {
			t.Errorf("timestamp step at %d: %d -> %d", i, out[i-1].Timestamp, out[i].Timestamp)
		}
	}
	if st := b.Stats(); st.Lost != 0 || st.Received != 20 || st.Reordered != 1 {
		t.Errorf("stats %+v", st)
	}
}

// DTMF packets share the sequence numbers: they are no loss, and the
// audio they replace plays as silence. After the event the talkspurt's
// timestamps continue on the same grid.
func TestJitterWithDTMF(t *testing.T) {
	b := newJB()
	p := NewPacketizerAt(0, 5, 65533, 0)
	var a []arrival
	n := 0
	for range 5 {
		a = append(a, arrival{n, p.Audio(make([]byte, FrameSamples))})
		n++
	}
	ev, _ := p.EventPackets(101, '1', 10, 60*time.Millisecond)
	for _, e := range ev {
		a = append(a, arrival{n, e})
		n++
	}
	for range 5 {
		a = append(a, arrival{n, p.Audio(make([]byte, FrameSamples))})
		n++
	}
	out := run(b, a, n+3)
	if len(out) < 16 {
		t.Fatalf("%d frames", len(out))
	}
	for i, f := range out[:16] {
		if f.Timestamp != uint32(i*160) || f.Concealed != (i >= 5 && i < 11) {
			t.Errorf("frame %d: ts %d concealed %v", i, f.Timestamp, f.Concealed)
		}
	}
	if st := b.Stats(); st.Lost != 0 || st.Received != 16 || st.Played != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestJitterNewStream(t *testing.T) {
	b := newJB()
	a := inOrder(stream(10, 100, 1000))
	other := NewPacketizerAt(0, 1234, 5, 777)
	for i := range 10 {
		a = append(a, arrival{10 + i, other.Audio(make([]byte, FrameSamples))})
	}
	out := run(b, a, 25)
	if st := b.Stats(); st.Received != 20 || st.Lost != 0 || st.Late != 0 {
		t.Errorf("stats %+v", st)
	}
	// Playout restarts 60 ms after the new stream's first packet.
	if last := out[len(out)-4]; last.Concealed || last.Timestamp != 777+9*160 {
		t.Errorf("not following the new SSRC: %+v", last)
	}
	// The same SSRC jumping its timestamps back restarts playout too.
	c := newJB()
	a = inOrder(stream(10, 100, 100000))
	back := NewPacketizerAt(0, 99, 110, 1000)
	for i := range 10 {
		a = append(a, arrival{10 + i, back.Audio(make([]byte, FrameSamples))})
	}
	out = run(c, a, 25)
	// Three packets far behind playout restart it; those three are late.
	if last := out[len(out)-4]; last.Concealed || last.Timestamp != 1000+9*160 {
		t.Errorf("not following the jump: %+v, %+v", last, c.Stats())
	}
}

// A sender whose clock runs fast fills the buffer; frames are dropped to
// keep the delay near the target.
func TestJitterOverrun(t *testing.T) {
	b := newJB()
	pkts := stream(300, 0, 0)
	var a []arrival
	for i, p := range pkts {
		a = append(a, arrival{i * 95 / 100, p}) // 5% fast
	}
	run(b, a, 290)
	st := b.Stats()
	if st.Dropped == 0 || st.Late != 0 {
		t.Errorf("stats %+v", st)
	}
}

func FuzzJitterPush(f *testing.F) {
	raw, _ := stream(1, 65535, 1)[0].Marshal()
	f.Add(raw, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		b := newJB()
		dec := NewDTMFDecoder(101)
		now := t0
		for len(data) > 0 {
			n := min(len(data), 12+int(step))
			var pkt pion.Packet
			if pkt.Unmarshal(data[:n]) == nil {
				b.Push(&pkt, now)
				_, _, _ = dec.Decode(&pkt)
			}
			data = data[n:]
			now = now.Add(time.Duration(step) * time.Millisecond)
			if f, ok := b.Pop(now); ok && len(f.Payload) == 0 {
				t.Fatal("empty frame")
			}
		}
		_ = b.Stats()
	})
}
