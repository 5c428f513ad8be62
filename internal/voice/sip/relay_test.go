package sip

import (
	"sync"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// TestRelayReframes: frames handed to SendAudio in pieces that aren't
// 20 ms (here 10 ms) reach the callee whole, one 160-byte packet a slot,
// in order: each packet is one slot of the stream (the tick may fill a
// slot with silence, or give it up, when a frame is late). The callee's
// packets come out of OnAudio as they arrive.
func TestRelayReframes(t *testing.T) {
	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ph.Close)
	ctx := ctxT(t, 20*time.Second)
	conn, result, err := newTestTrunk(t, ph.Port, nil).DialConn(ctx, dialer.CallRequest{MSISDN: "100"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	defer conn.Hangup(ctx)
	call, err := ph.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*pionrtp.Packet
	call.OnPacket(func(p *pionrtp.Packet, _ time.Time) {
		if p.Payload[0] >= 1 && p.Payload[0] <= 20 { // the test's frames, not the tick's silence
			mu.Lock()
			got = append(got, p.Clone())
			mu.Unlock()
		}
	})
	heard := make(chan byte, 100)
	conn.OnAudio(func(f []byte) {
		select {
		case heard <- f[0]:
		default:
		}
	})

	// Twenty frames, each sent as two 10 ms halves, 20 ms apart.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 1; i <= 20; i++ {
		<-tick.C
		frame := make([]byte, 160)
		for j := range frame {
			frame[j] = byte(i)
		}
		conn.SendAudio(frame[:80])
		conn.SendAudio(frame[80:])
		if err := call.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 20 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("callee got %d frames; relay %+v", n, conn.RelayStats())
		case <-time.After(10 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	st := conn.RelayStats()
	if len(got) != 20 || st.Received != 40 || st.Sent != 20 || st.Dropped != 0 {
		t.Fatalf("callee got %d frames; relay %+v", len(got), st)
	}
	for i, p := range got {
		if len(p.Payload) != 160 || p.Payload[0] != byte(i+1) || p.Payload[159] != byte(i+1) {
			t.Errorf("frame %d: %d bytes of %d..%d", i, len(p.Payload), p.Payload[0], p.Payload[len(p.Payload)-1])
		}
		if i == 0 {
			continue
		}
		// One packet a slot: a sequence number more per packet between,
		// and a frame of timestamp per slot, given-up slots included.
		seqs, slots := p.SequenceNumber-got[i-1].SequenceNumber, (p.Timestamp-got[i-1].Timestamp)/160
		if seqs < 1 || seqs > 10 || slots < uint32(seqs) || slots > 10 || (p.Timestamp-got[i-1].Timestamp)%160 != 0 {
			t.Errorf("frame %d: seq %d ts %d after seq %d ts %d", i, p.SequenceNumber, p.Timestamp, got[i-1].SequenceNumber, got[i-1].Timestamp)
		}
	}
	for i := 1; i <= 20; i++ {
		select {
		case b := <-heard:
			if b != byte(i) {
				t.Errorf("OnAudio frame %d: %d", i, b)
			}
		case <-ctx.Done():
			t.Fatalf("OnAudio got %d frames", i-1)
		}
	}
}
