package bridge_test

import (
	"bytes"
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/bridge"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/rtp"
	"github.com/parley-cc/parley/internal/voice/sip"
	"github.com/parley-cc/parley/internal/voice/voicetest"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// source is a party's voice: a tone whose pitch the test changes.
type source struct {
	mu   sync.Mutex
	tone voicetest.Tone
}

func (s *source) set(hz float64) {
	s.mu.Lock()
	s.tone = voicetest.Tone{Hz: hz, Law: s.tone.Law}
	s.mu.Unlock()
}

func (s *source) frame() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tone.Frame()
}

// call is a SIP call from Parley to an in-process phone, the phone's end
// of it, and what the phone heard.
type call struct {
	conn  *sip.Conn
	phone *voicetest.PhoneCall
	heard voicetest.Heard // audio the phone got
	pkts  atomic.Int64    // audio packets the phone got
	dtmf  chan uint8      // telephone-event codes the phone got
	voice source          // what the phone says
}

func dialPhone(t *testing.T, ctx context.Context, law g711.Law) *call {
	t.Helper()
	ph, err := voicetest.StartPhone(law)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ph.Close)
	tr, err := sip.New(sip.Config{Name: "test", Host: "127.0.0.1", Port: ph.Port, LocalIP: netip.MustParseAddr("127.0.0.1"),
		Ring: 5 * time.Second, NoResponse: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr.Synth, tr.NoBargeIn = audio.ToneSynth{}, true
	t.Cleanup(func() { tr.Close() })
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: "100"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	t.Cleanup(func() { conn.Hangup(context.Background()) })
	pc, err := ph.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &call{conn: conn, phone: pc, dtmf: make(chan uint8, 64)}
	c.voice.tone.Law = law
	pc.OnPacket(func(pkt *pionrtp.Packet, _ time.Time) {
		switch pkt.PayloadType {
		case law.PayloadType():
			c.heard.Add(pkt.Payload, law)
			c.pkts.Add(1)
		case 101:
			if ev, err := rtp.ParseEvent(pkt.Payload); err == nil {
				select {
				case c.dtmf <- ev.Code:
				default:
				}
			}
		}
	})
	return c
}

// operator is a browser connected to Parley's engine, and what it heard.
type operator struct {
	browser *voicetest.Browser
	peer    *webrtc.Peer
	heard   voicetest.Heard
	pkts    atomic.Int64
	voice   source
}

func connectOperator(t *testing.T, ctx context.Context, e *webrtc.Engine, listen bool) *operator {
	t.Helper()
	b, offer, err := voicetest.NewBrowser(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	answer := e.Answer
	if listen {
		answer = e.AnswerListener
	}
	p, sdp, err := answer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := b.Accept(sdp); err != nil {
		t.Fatal(err)
	}
	op := &operator{browser: b, peer: p}
	b.OnPacket(func(pkt *pionrtp.Packet, _ time.Time) {
		if pkt.PayloadType == 0 {
			op.heard.Add(pkt.Payload, g711.ULaw)
			op.pkts.Add(1)
		}
	})
	for _, c := range []<-chan struct{}{p.Connected(), b.Connected()} {
		select {
		case <-c:
		case <-ctx.Done():
			t.Fatal("operator not connected")
		}
	}
	return op
}

// waitFor polls cond until it holds; the context's deadline fails it.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting: %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

const (
	heardShare  = 0.2  // Goertzel share of a tone that is there
	absentShare = 0.05 // and of one that isn't
	evidence    = 50   // packets (1 s) of audio to judge an absence on
)

// TestBridgeOperatorAndCallee drives a bridge between a SIP call (the far
// end an in-process phone) and a WebRTC operator (an in-process pion
// browser): each hears the other; mute, hold, resume, DTMF and unbridge
// do what they say; a supervisor's listener hears both; the recording
// holds the virtual agent, the callee and the operator. Each party's
// tone changes pitch at every step, so "not heard" is judged on audio
// made after the step, and only once enough of it went through Parley.
func TestBridgeOperatorAndCallee(t *testing.T) {
	for _, law := range []g711.Law{g711.ULaw, g711.ALaw} {
		t.Run(law.String(), func(t *testing.T) { testBridge(t, law) })
	}
}

func testBridge(t *testing.T, law g711.Law) {
	ctx := ctxT(t, 90*time.Second)
	c := dialPhone(t, ctx, law)
	e, err := webrtc.NewEngine(webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })

	// The virtual agent speaks first (the recording's agent leg).
	if err := c.conn.Say(ctx, "Connecting you to a person"); err != nil {
		t.Fatal(err)
	}
	op := connectOperator(t, ctx, e, false)
	c.voice.set(400)
	op.voice.set(1500)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // both parties talk, 20 ms a frame
		defer wg.Done()
		tick := time.NewTicker(rtp.FrameTime)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = c.phone.Send(c.voice.frame())
				_ = op.browser.Send(op.voice.frame())
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })

	b := bridge.New(c.conn, op.peer)

	// Bridged: each hears the other.
	waitFor(t, ctx, "the callee hears the operator", func() bool { return c.heard.Tone(0, 1500) > heardShare })
	waitFor(t, ctx, "the operator hears the callee", func() bool { return op.heard.Tone(0, 400) > heardShare })

	// A supervisor listening hears both sides, once the relay has settled
	// (past its first lead trims).
	waitFor(t, ctx, "the relay settles", func() bool { return c.conn.RelayStats().Sent >= 80 })
	sup := connectOperator(t, ctx, e, true)
	untap := c.conn.Tap(sup.peer.SendAudio)
	waitFor(t, ctx, "the supervisor hears the callee and the operator", func() bool {
		return sup.heard.Tone(0, 400) > heardShare/2 && sup.heard.Tone(0, 1500) > heardShare/2
	})
	untap()

	// absentAfter: once evidence packets of new audio passed Parley after
	// a step, tone hz was not in what heard got since mark.
	absentAfter := func(what string, heard *voicetest.Heard, mark int, hz float64, passed func() int64) {
		t.Helper()
		from := passed()
		waitFor(t, ctx, what+": enough audio", func() bool { return passed() >= from+evidence })
		if share := heard.Tone(mark, hz); share > absentShare {
			t.Errorf("%s: %.0f Hz heard (share %.2f)", what, hz, share)
		}
	}
	fromOperator := func() int64 { return int64(op.peer.Stats().Received) }
	fromCallee := func() int64 { return int64(c.conn.Stats().Received) }

	// Muted: the callee stops hearing the operator, the operator still
	// hears the callee.
	b.Mute(true)
	markC, markO := c.heard.Mark(), op.heard.Mark()
	op.voice.set(1700)
	c.voice.set(450)
	waitFor(t, ctx, "muted: the operator still hears the callee", func() bool { return op.heard.Tone(markO, 450) > heardShare })
	absentAfter("muted: the callee hears the operator", &c.heard, markC, 1700, fromOperator)
	b.Mute(false)
	op.voice.set(1900)
	waitFor(t, ctx, "unmuted: the callee hears the operator again", func() bool { return c.heard.Tone(markC, 1900) > heardShare })

	// On hold: the callee hears the hold music and not the operator; the
	// operator doesn't hear the callee.
	b.Hold(bridge.HoldAudio(audio.PCM{}))
	markC, markO = c.heard.Mark(), op.heard.Mark()
	op.voice.set(2100)
	c.voice.set(500)
	for _, hz := range bridge.HoldNotes()[:3] {
		waitFor(t, ctx, "on hold: the callee hears the hold music", func() bool { return c.heard.Tone(markC, hz) > heardShare })
	}
	absentAfter("on hold: the callee hears the operator", &c.heard, markC, 2100, fromOperator)
	absentAfter("on hold: the operator hears the callee", &op.heard, markO, 500, fromCallee)
	b.Resume()
	op.voice.set(2300)
	c.voice.set(550)
	waitFor(t, ctx, "resumed: the callee hears the operator", func() bool { return c.heard.Tone(markC, 2300) > heardShare })
	waitFor(t, ctx, "resumed: the operator hears the callee", func() bool { return op.heard.Tone(markO, 550) > heardShare })

	// DTMF from the operator's keypad reaches the callee as RFC 4733.
	if err := b.SendDTMF(ctx, "5"); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-c.dtmf:
		if code != 5 {
			t.Errorf("DTMF event %d", code)
		}
	case <-ctx.Done():
		t.Fatal("no DTMF")
	}

	// Unbridged: nothing more goes either way; both legs stay up.
	b.Unbridge()
	select {
	case <-b.Done():
	default:
		t.Error("Done still open after Unbridge")
	}
	markC, markO = c.heard.Mark(), op.heard.Mark()
	op.voice.set(2500)
	c.voice.set(600)
	absentAfter("unbridged: the callee hears the operator", &c.heard, markC, 2500, fromOperator)
	absentAfter("unbridged: the operator hears the callee", &op.heard, markO, 600, fromCallee)
	if st := b.Stats(); st.ToLine == 0 || st.ToOther == 0 {
		t.Errorf("bridge stats %+v", st)
	}
	rs := c.conn.RelayStats()
	t.Logf("relay %+v, media %+v, bridge %+v, operator peer %+v", rs, c.conn.Stats(), b.Stats(), op.peer.Stats())

	// The recording: the agent leg holds the virtual agent's prompt, the
	// operator's tones and the hold music; the callee leg the callee.
	wav, err := c.conn.Hangup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, legs, err := audio.DecodeWAV(bytes.NewReader(wav))
	if err != nil || len(legs) != 2 {
		t.Fatalf("recording: %d legs, %v", len(legs), err)
	}
	var agentLeg, calleeLeg voicetest.Heard
	agentLeg.Add(law.AppendEncode(nil, legs[0]), law)
	calleeLeg.Add(law.AppendEncode(nil, legs[1]), law)
	for _, hz := range []float64{1500, 1900, 2300, bridge.HoldNotes()[0]} {
		if share := agentLeg.Tone(0, hz); share < heardShare {
			t.Errorf("recording's agent leg lacks %.0f Hz (share %.2f)", hz, share)
		}
	}
	if share := agentLeg.Tone(0, 1700); share > absentShare {
		t.Errorf("recording's agent leg holds the muted operator (share %.2f)", share)
	}
	prompt, _ := audio.ToneSynth{}.Synthesize(ctx, "Connecting", "")
	if voicetest.RMS(legs[0][:len(prompt.Samples)]) < 1000 {
		t.Errorf("recording's agent leg lacks the virtual agent's prompt")
	}
	// The callee leg is recorded from the jitter buffer, which on a
	// starved machine may play some steps' audio as late and conceal it:
	// the callee's voice must be there, not every step of it.
	best := 0.0
	for _, hz := range []float64{400, 450, 500, 550} {
		share := calleeLeg.Tone(0, hz)
		t.Logf("recording's callee leg: %.0f Hz share %.2f", hz, share)
		best = max(best, share)
	}
	if best < heardShare {
		t.Errorf("recording's callee leg lacks the callee")
	}
}
