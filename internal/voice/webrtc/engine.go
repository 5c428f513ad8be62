package webrtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pionsdp "github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/parley-cc/parley"
)

// Defaults of Config.
const (
	DefaultMaxPeers       = 500
	DefaultConnectTimeout = 30 * time.Second
	// MaxOfferBytes bounds an offer's SDP: a browser's audio offer is 2-6
	// KiB with its candidates.
	MaxOfferBytes = 64 << 10
)

// Config is a node's WebRTC media settings, fixed when the Engine starts.
type Config struct {
	// PublicIP, if set, is the address browsers reach this node's media
	// at (a 1:1 NAT, e.g. a cloud VM's public IP): every ICE host
	// candidate carries it instead of the local address. Only candidates
	// of its IP family are gathered.
	PublicIP netip.Addr
	// UDPPort, if set, carries the media of every peer on this one UDP
	// port (ICE demultiplexes them), the simplest firewall rule. Unset,
	// each peer takes a port of PortMin-PortMax, or any port if those are
	// unset too.
	UDPPort          int
	PortMin, PortMax uint16
	// LocalIPs, if set, are the only local addresses gathered.
	LocalIPs []netip.Addr
	// Loopback gathers loopback candidates too: for tests and for a
	// browser on the same machine. Not with PublicIP.
	Loopback bool
	// MaxPeers bounds the peers open at once on this node (operators
	// talking plus supervisors listening); 0 means DefaultMaxPeers.
	MaxPeers int
	// ConnectTimeout closes a peer whose browser hasn't connected this
	// long after the answer; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	Log            *slog.Logger
}

// Engine creates the WebRTC peers of one node. Create it once with
// NewEngine; it is safe for concurrent use.
type Engine struct {
	cfg Config
	api *pion.API
	mux *ice.MultiUDPMuxDefault
	log *slog.Logger

	mu     sync.Mutex
	peers  map[*Peer]struct{}
	closed bool
}

// ErrClosed is the error of an Engine used after Close.
var ErrClosed = errors.New("webrtc: engine closed")

// NewEngine checks cfg and starts an engine (binding UDPPort, if set).
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("webrtc: UDP port %d", cfg.UDPPort)
	}
	if (cfg.PortMin == 0) != (cfg.PortMax == 0) || cfg.PortMin > cfg.PortMax {
		return nil, fmt.Errorf("webrtc: UDP port range %d-%d", cfg.PortMin, cfg.PortMax)
	}
	if cfg.UDPPort != 0 && cfg.PortMin != 0 {
		return nil, errors.New("webrtc: a UDP port or a port range, not both")
	}
	if cfg.PublicIP.IsValid() && cfg.Loopback {
		return nil, errors.New("webrtc: loopback candidates would carry the public IP too")
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{cfg: cfg, log: log, peers: map[*Peer]struct{}{}}

	var se pion.SettingEngine
	se.LoggerFactory = pionLogs{log}
	// Browsers send their host candidates as mDNS names when the page has
	// no microphone permission (a supervisor listening); resolving them
	// needs multicast, which servers rarely have. The browser is the
	// controlling agent and checks our candidates, so its own are not
	// needed: they come in as peer-reflexive ones.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := []pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeUDP6}
	iceNetworks := []ice.NetworkType{ice.NetworkTypeUDP4, ice.NetworkTypeUDP6}
	if ip := cfg.PublicIP.Unmap(); ip.IsValid() {
		networks, iceNetworks = []pion.NetworkType{pion.NetworkTypeUDP4}, []ice.NetworkType{ice.NetworkTypeUDP4}
		if ip.Is6() {
			networks, iceNetworks = []pion.NetworkType{pion.NetworkTypeUDP6}, []ice.NetworkType{ice.NetworkTypeUDP6}
		}
		err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{
			External: []string{ip.String()}, AsCandidateType: pion.ICECandidateTypeHost, Mode: pion.ICEAddressRewriteReplace,
		})
		if err != nil {
			return nil, fmt.Errorf("webrtc: public IP: %w", err)
		}
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	var ipFilter func(net.IP) bool
	if len(cfg.LocalIPs) > 0 {
		allowed := map[netip.Addr]bool{}
		for _, ip := range cfg.LocalIPs {
			allowed[ip.Unmap()] = true
		}
		ipFilter = func(ip net.IP) bool {
			a, ok := netip.AddrFromSlice(ip)
			return ok && allowed[a.Unmap()]
		}
		se.SetIPFilter(ipFilter)
	}
	switch {
	case cfg.UDPPort != 0:
		// One socket carries every peer: 50 packets a second each, which
		// a moment's descheduling of its reader must not overflow (Linux
		// caps the size at net.core.rmem_max / wmem_max).
		opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithNetworks(iceNetworks...),
			ice.UDPMuxFromPortWithLogger(pionLogs{log}.NewLogger("udpmux")),
			ice.UDPMuxFromPortWithReadBufferSize(muxBuffer), ice.UDPMuxFromPortWithWriteBufferSize(muxBuffer)}
		if cfg.Loopback {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback())
		}
		if ipFilter != nil {
			opts = append(opts, ice.UDPMuxFromPortWithIPFilter(ipFilter))
		}
		mux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...)
		if err != nil {
			return nil, fmt.Errorf("webrtc: UDP port %d: %w", cfg.UDPPort, err)
		}
		e.mux = mux
		se.SetICEUDPMux(mux)
	case cfg.PortMin != 0:
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("webrtc: UDP port range: %w", err)
		}
	}

	// PCMU only: the SIP side speaks G.711, so audio crosses the bridge
	// without transcoding (and the browser can't pick Opus).
	var me pion.MediaEngine
	if err := me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: pcmu, PayloadType: 0}, pion.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	// Sender and receiver reports only: no NACK (G.711 frames aren't
	// worth retransmitting at 20 ms), no congestion control (64 kb/s).
	var ir interceptor.Registry
	if err := pion.ConfigureRTCPReports(&ir); err != nil {
		return nil, err
	}
	e.api = pion.NewAPI(pion.WithSettingEngine(se), pion.WithMediaEngine(&me), pion.WithInterceptorRegistry(&ir))
	return e, nil
}

// muxBuffer is the UDP mux socket's buffer size each way: 4 MiB, about
// 20,000 packets, a second of 400 peers.
const muxBuffer = 4 << 20

var pcmu = pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}

// Close closes every peer and releases the UDP port.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	peers := make([]*Peer, 0, len(e.peers))
	for p := range e.peers {
		peers = append(peers, p)
	}
	e.mu.Unlock()
	for _, p := range peers {
		p.Close()
	}
	if e.mux != nil {
		return e.mux.Close()
	}
	return nil
}

// Peers is the number of peers open.
func (e *Engine) Peers() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.peers)
}

// Answer creates a two-way peer (an operator talking) from a browser's
// offer and returns it with the answer. ICE is not trickled: the offer
// must carry the browser's candidates (send it once gathering is
// complete), and the answer carries all of ours, so signalling is one
// request and its response. The offer must offer PCMU audio.
func (e *Engine) Answer(ctx context.Context, offer string) (*Peer, string, error) {
	return e.answer(ctx, offer, false)
}

// AnswerListener is Answer for a supervisor listening: the peer only
// sends (the call's mix, see sip.Conn.Tap) and ignores anything the
// browser sends.
func (e *Engine) AnswerListener(ctx context.Context, offer string) (*Peer, string, error) {
	return e.answer(ctx, offer, true)
}

func (e *Engine) answer(ctx context.Context, offer string, listen bool) (*Peer, string, error) {
	if len(offer) > MaxOfferBytes {
		return nil, "", parley.FieldError("sdp", "must be at most %d bytes", MaxOfferBytes)
	}
	if err := offerHasPCMU(offer); err != nil {
		return nil, "", err
	}
	p, err := e.newPeer(listen)
	if err != nil {
		return nil, "", err
	}
	answer, err := p.negotiate(ctx, offer)
	if err != nil {
		p.end(err)
		return nil, "", err
	}
	return p, answer, nil
}

// offerHasPCMU refuses an offer that isn't SDP or has no audio section
// offering PCMU, with an error the API can show.
func offerHasPCMU(offer string) error {
	var s pionsdp.SessionDescription
	if err := s.UnmarshalString(offer); err != nil {
		return parley.FieldError("sdp", "is not a session description")
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToUpper(a.Value), " PCMU/8000") {
				return nil
			}
		}
		for _, f := range m.MediaName.Formats {
			if f == "0" { // static payload type, rtpmap optional
				return nil
			}
		}
	}
	return parley.FieldError("sdp", "must offer audio in PCMU")
}

func (e *Engine) newPeer(listen bool) (*Peer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if len(e.peers) >= e.cfg.MaxPeers {
		return nil, parley.Errorf(parley.ECONFLICT, "This node has its maximum of %d media sessions open.", e.cfg.MaxPeers)
	}
	p := newPeer(e, listen)
	e.peers[p] = struct{}{}
	return p, nil
}

func (e *Engine) forget(p *Peer) {
	e.mu.Lock()
	delete(e.peers, p)
	e.mu.Unlock()
}
