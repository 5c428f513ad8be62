package webrtc_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/voicetest"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newEngine(t testing.TB, mod func(*webrtc.Config)) *webrtc.Engine {
	t.Helper()
	cfg := webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
	if mod != nil {
		mod(&cfg)
	}
	e, err := webrtc.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// connect makes a browser, has the engine answer it and waits for both
// ends to connect.
func connect(t testing.TB, ctx context.Context, e *webrtc.Engine, listen bool) (*voicetest.Browser, *webrtc.Peer) {
	t.Helper()
	b, offer, err := voicetest.NewBrowser(ctx, listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	answerer := e.Answer
	if listen {
		answerer = e.AnswerListener
	}
	p, answer, err := answerer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := b.Accept(answer); err != nil {
		t.Fatal(err)
	}
	for _, c := range []<-chan struct{}{p.Connected(), b.Connected()} {
		select {
		case <-c:
		case <-ctx.Done():
			t.Fatal("not connected")
		}
	}
	return b, p
}

// TestPeerAudioBothWays: a browser's PCMU frames come out of OnAudio
// byte for byte, and frames given to SendAudio reach the browser.
func TestPeerAudioBothWays(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	for _, mux := range []bool{false, true} {
		name := "ephemeral ports"
		if mux {
			name = "one UDP port"
		}
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, func(c *webrtc.Config) {
				if mux {
					c.UDPPort = voicetest.FreeUDPPort(t)
				}
			})
			b, p := connect(t, ctx, e, false)
			if p.State() != webrtc.Connected {
				t.Errorf("state %v", p.State())
			}
			got := make(chan []byte, 100)
			p.OnAudio(func(f []byte) {
				select {
				case got <- append([]byte(nil), f...):
				default:
				}
			})
			var heard voicetest.Heard
			b.OnPacket(func(pkt *pionrtp.Packet, _ time.Time) {
				if pkt.PayloadType == 0 {
					heard.Add(pkt.Payload, g711.ULaw)
				}
			})
			op := voicetest.Tone{Hz: 1000}
			to := voicetest.Tone{Hz: 700}
			want := op.Frame()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			var sawOp bool
			for !sawOp || heard.Tone(0, 700) < 0.3 {
				select {
				case <-ctx.Done():
					t.Fatalf("browser->peer %v, peer->browser tone %.2f", sawOp, heard.Tone(0, 700))
				case f := <-got:
					if string(f) == string(want) {
						sawOp = true
					}
				case <-tick.C:
					if err := b.Send(want); err != nil {
						t.Fatal(err)
					}
					p.SendAudio(to.Frame())
				}
			}
			st := p.Stats()
			if st.Received == 0 || st.Sent == 0 || st.FirstRecv.IsZero() || st.FirstSent.IsZero() {
				t.Errorf("stats %+v", st)
			}
			if e.Peers() != 1 {
				t.Errorf("%d peers", e.Peers())
			}
			p.Close()
			<-p.Done()
			if p.Err() != nil || p.State() != webrtc.Closed || e.Peers() != 0 {
				t.Errorf("closed: %v %v %d peers", p.Err(), p.State(), e.Peers())
			}
		})
	}
}

// TestPeerEndsWithBrowser: the browser closing ends the peer.
func TestPeerEndsWithBrowser(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	e := newEngine(t, nil)
	b, p := connect(t, ctx, e, false)
	b.Close()
	select {
	case <-p.Done():
	case <-ctx.Done():
		t.Fatal("peer outlived its browser")
	}
	if p.State() != webrtc.Closed {
		t.Errorf("state %v", p.State())
	}
}

// TestAnswerRefuses: an offer that isn't SDP, or has no PCMU, is
// invalid; past MaxPeers the engine refuses; a browser that never
// connects is dropped after ConnectTimeout; a closed engine refuses.
func TestAnswerRefuses(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	e := newEngine(t, func(c *webrtc.Config) { c.MaxPeers = 1; c.ConnectTimeout = 300 * time.Millisecond })
	_, offer, err := voicetest.NewBrowser(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	noPCMU := strings.NewReplacer("m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"a=rtpmap:0 PCMU/8000/1\r\n", "").Replace(offer)
	if noPCMU == offer {
		t.Fatalf("test offer has an unexpected shape:\n%s", offer)
	}
	for name, bad := range map[string]string{"not SDP": "hello", "no PCMU": noPCMU, "too large": offer + strings.Repeat("a=x\r\n", 20000)} {
		if _, _, err := e.Answer(ctx, bad); parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	if e.Peers() != 0 {
		t.Errorf("refused offers left %d peers", e.Peers())
	}
	p, _, err := e.Answer(ctx, offer) // never applied by the browser
	if err != nil {
		t.Fatal(err)
	}
	_, offer2, err := voicetest.NewBrowser(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Answer(ctx, offer2); parley.ErrorCode(err) != parley.ECONFLICT {
		t.Errorf("past MaxPeers: %v", err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		t.Fatal("unconnected peer not dropped")
	}
	if !errors.Is(p.Err(), webrtc.ErrConnectTimeout) {
		t.Errorf("err %v", p.Err())
	}
	if _, _, err := e.Answer(ctx, offer2); err != nil {
		t.Errorf("the timed-out peer still counts: %v", err)
	}
	e.Close()
	if _, _, err := e.Answer(ctx, offer2); !errors.Is(err, webrtc.ErrClosed) {
		t.Errorf("closed engine: %v", err)
	}
}
