package webrtc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/voice/rtp"
)

// Errors a peer ends with (Err).
var (
	ErrConnectTimeout = errors.New("webrtc: the browser did not connect in time")
	ErrFailed         = errors.New("webrtc: connection failed")
)

// State is a peer's connection state.
type State int

const (
	Connecting State = iota // answered, ICE and DTLS under way
	Connected               // media flows
	Closed                  // ended: closed here, by the browser, or failed
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	}
	return "closed"
}

// Peer is one browser's WebRTC session: a bridge.Leg carrying 20 ms PCMU
// frames each way. Its methods are safe for concurrent use.
type Peer struct {
	e      *Engine
	listen bool
	pc     *pion.PeerConnection
	track  *pion.TrackLocalStaticRTP

	recv atomic.Pointer[func([]byte)]

	sendMu   sync.Mutex
	pk       *rtp.Packetizer
	lastSend time.Time

	state     atomic.Int32
	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}
	endOnce   sync.Once
	err       error // set before done closes

	st peerCounters
}

type peerCounters struct {
	received, sent, dropped atomic.Uint64
	firstRecv, firstSent    atomic.Int64 // unix nanoseconds; 0: not yet
}

// PeerStats counts a peer's audio.
type PeerStats struct {
	Received  uint64    // PCMU packets from the browser
	Sent      uint64    // packets sent to the browser
	Dropped   uint64    // frames not sent: not connected yet, or ended
	FirstRecv time.Time // when the first packet came; zero: none yet
	FirstSent time.Time // when the first packet went
}

func newPeer(e *Engine, listen bool) *Peer {
	return &Peer{e: e, listen: listen, pk: rtp.NewPacketizer(0),
		connected: make(chan struct{}), done: make(chan struct{})}
}

// negotiate answers offer and waits for our candidates.
func (p *Peer) negotiate(ctx context.Context, offer string) (string, error) {
	pc, err := p.e.api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return "", err
	}
	p.pc = pc
	p.track, err = pion.NewTrackLocalStaticRTP(pcmu, "audio", "parley")
	if err != nil {
		return "", err
	}
	dir := pion.RTPTransceiverDirectionSendrecv
	if p.listen {
		dir = pion.RTPTransceiverDirectionSendonly
	}
	tr, err := pc.AddTransceiverFromTrack(p.track, pion.RTPTransceiverInit{Direction: dir})
	if err != nil {
		return "", err
	}
	go drainRTCP(tr.Sender())
	pc.OnTrack(func(t *pion.TrackRemote, r *pion.RTPReceiver) {
		go p.readLoop(t, r)
	})
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		switch s {
		case pion.PeerConnectionStateConnected:
			p.connOnce.Do(func() {
				p.state.CompareAndSwap(int32(Connecting), int32(Connected))
				close(p.connected)
			})
		case pion.PeerConnectionStateFailed:
			go p.end(ErrFailed)
		case pion.PeerConnectionStateClosed:
			go p.end(nil)
		}
	})
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		p.e.log.Debug("webrtc offer refused", "error", err)
		return "", parley.FieldError("sdp", "is not an offer this server can answer")
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		p.e.log.Debug("webrtc offer refused", "error", err)
		return "", parley.FieldError("sdp", "is not an offer this server can answer")
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("webrtc: answer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	go p.watchConnect()
	return pc.LocalDescription().SDP, nil
}

func (p *Peer) watchConnect() {
	t := time.NewTimer(p.e.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-p.connected:
	case <-p.done:
	case <-t.C:
		p.end(ErrConnectTimeout)
	}
}

// drainRTCP reads the browser's reports so the interceptors see them.
func drainRTCP(s *pion.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// readLoop gives each PCMU packet of the browser's track to OnAudio.
func (p *Peer) readLoop(t *pion.TrackRemote, _ *pion.RTPReceiver) {
	buf := make([]byte, 1500)
	var pkt pionrtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if p.listen || pkt.Unmarshal(buf[:n]) != nil || pkt.PayloadType != 0 || len(pkt.Payload) == 0 {
			continue
		}
		if p.st.received.Add(1) == 1 {
			p.st.firstRecv.Store(time.Now().UnixNano())
		}
		if f := p.recv.Load(); f != nil {
			(*f)(pkt.Payload)
		}
	}
}

// OnAudio sets the function each frame of the browser's audio (PCMU, as
// the browser packetised it: 20 ms by default) is given to, on the
// peer's receiving goroutine (it must not block nor keep the slice); nil
// stops it.
func (p *Peer) OnAudio(f func(frame []byte)) {
	if f == nil {
		p.recv.Store(nil)
		return
	}
	p.recv.Store(&f)
}

// SendAudio sends a PCMU frame to the browser at once. The stream's
// timestamps follow the frames; a pause in them longer than three frames
// (the other side stopped sending) advances the timestamp by the pause
// and starts a new talkspurt, so the browser's jitter buffer sees the
// gap as one. Before the browser connects and after the end frames are
// dropped.
func (p *Peer) SendAudio(frame []byte) {
	if State(p.state.Load()) != Connected || len(frame) == 0 {
		p.st.dropped.Add(1)
		return
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	now := time.Now()
	if !p.lastSend.IsZero() {
		if gap := now.Sub(p.lastSend); gap > 3*rtp.FrameTime {
			p.pk.Pause(uint32(gap/rtp.FrameTime-1) * rtp.FrameSamples)
		}
	}
	p.lastSend = now
	if err := p.track.WriteRTP(p.pk.Audio(frame)); err != nil {
		p.st.dropped.Add(1)
		return
	}
	if p.st.sent.Add(1) == 1 {
		p.st.firstSent.Store(now.UnixNano())
	}
}

// Connected is closed once media can flow.
func (p *Peer) Connected() <-chan struct{} { return p.connected }

// Done is closed when the peer has ended.
func (p *Peer) Done() <-chan struct{} { return p.done }

// State is the peer's connection state.
func (p *Peer) State() State { return State(p.state.Load()) }

// Err is why the peer ended: nil for Close or the browser hanging up,
// ErrConnectTimeout, ErrFailed (ICE lost the browser).
func (p *Peer) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Close ends the peer.
func (p *Peer) Close() error {
	p.end(nil)
	return nil
}

func (p *Peer) end(err error) {
	p.endOnce.Do(func() {
		p.state.Store(int32(Closed))
		p.recv.Store(nil)
		if p.pc != nil {
			_ = p.pc.Close()
		}
		p.err = err
		close(p.done)
		p.e.forget(p)
	})
}

// Stats returns the peer's counters.
func (p *Peer) Stats() PeerStats {
	s := PeerStats{Received: p.st.received.Load(), Sent: p.st.sent.Load(), Dropped: p.st.dropped.Load()}
	if ns := p.st.firstRecv.Load(); ns != 0 {
		s.FirstRecv = time.Unix(0, ns)
	}
	if ns := p.st.firstSent.Load(); ns != 0 {
		s.FirstSent = time.Unix(0, ns)
	}
	return s
}
