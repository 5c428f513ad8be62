package voicetest

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pionrtp "github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/parley-cc/parley/internal/voice/rtp"
)

// Browser is an operator's browser in the test process: a pion peer that
// offers audio (PCMU, and Opus first as a real browser does), sends the
// frames the test gives it and hands over what it receives. It gathers
// loopback candidates only.
type Browser struct {
	pc    *pion.PeerConnection
	track *pion.TrackLocalStaticRTP

	sendMu sync.Mutex
	pk     *rtp.Packetizer

	onPacket  atomic.Pointer[func(*pionrtp.Packet, time.Time)]
	connected chan struct{}
	connOnce  sync.Once
}

var browserAPI = sync.OnceValues(func() (*pion.API, error) {
	var me pion.MediaEngine
	for _, c := range []pion.RTPCodecParameters{
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111},
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0},
	} {
		if err := me.RegisterCodec(c, pion.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&interceptor.Registry{})), nil
})

// NewBrowser makes a browser and its offer (gathering complete).
// listen makes it receive only, as a supervisor's page.
func NewBrowser(ctx context.Context, listen bool) (*Browser, string, error) {
	api, err := browserAPI()
	if err != nil {
		return nil, "", err
	}
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return nil, "", err
	}
	b := &Browser{pc: pc, pk: rtp.NewPacketizer(0), connected: make(chan struct{})}
	if listen {
		_, err = pc.AddTransceiverFromKind(pion.RTPCodecTypeAudio, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly})
	} else {
		b.track, err = pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "mic", "operator")
		if err == nil {
			_, err = pc.AddTrack(b.track)
		}
	}
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	pc.OnTrack(func(t *pion.TrackRemote, _ *pion.RTPReceiver) { go b.readLoop(t) })
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateConnected {
			b.connOnce.Do(func() { close(b.connected) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return nil, "", ctx.Err()
	}
	return b, pc.LocalDescription().SDP, nil
}

// Accept applies Parley's answer.
func (b *Browser) Accept(answer string) error {
	return b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: answer})
}

// Connected is closed once ICE and DTLS are up.
func (b *Browser) Connected() <-chan struct{} { return b.connected }

// Send sends one PCMU frame now (the test keeps the pace).
func (b *Browser) Send(frame []byte) error {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	return b.track.WriteRTP(b.pk.Audio(frame))
}

// OnPacket sets the function each received RTP packet is given to, with
// its arrival time, on the browser's reading goroutine.
func (b *Browser) OnPacket(f func(pkt *pionrtp.Packet, at time.Time)) {
	b.onPacket.Store(&f)
}

func (b *Browser) readLoop(t *pion.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		at := time.Now()
		var pkt pionrtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if f := b.onPacket.Load(); f != nil {
			(*f)(&pkt, at)
		}
	}
}

// Close hangs up.
func (b *Browser) Close() error { return b.pc.Close() }
