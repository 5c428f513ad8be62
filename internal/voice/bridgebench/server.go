package bridgebench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/bridge"
	"github.com/parley-cc/parley/internal/voice/sip"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

// server is what the load side asks of the side under test. serverSide
// is the real one; the load process reaches it through loadClient
// (process.go).
type server interface {
	// dial places calls numbered 1000 … 1000+calls-1 to the phone on
	// port and returns once every one is answered.
	dial(ctx context.Context, port, calls int) error
	// relay starts n bare UDP relays forwarding to sink (the baseline)
	// and returns their ports.
	relay(ctx context.Context, sink, n int) ([]int, error)
	// answer answers call's operator offer and bridges the call to it.
	answer(ctx context.Context, call int, offer string) (string, error)
	// window marks the opening of the measured window.
	window(ctx context.Context) error
	// finish reports Parley's own counters and hangs every call up.
	finish(ctx context.Context) (ServerStats, error)
}

// serverSide is the code under test: Parley's SIP trunk, its WebRTC
// engine and a bridge per call, plus the baseline's bare relays, which
// run here so that they cross the same process boundary as the bridge.
type serverSide struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	tr     *sip.Trunk
	eng    *webrtc.Engine
	conns  []*sip.Conn
	peers  []*webrtc.Peer
	relays []io.Closer
	mark   *runtimeMark // at the window's opening
}

func (s *serverSide) window(context.Context) error {
	m := markRuntime()
	s.mu.Lock()
	s.mark = &m
	s.mu.Unlock()
	return nil
}

func newServer(cfg Config) (*serverSide, error) {
	s := &serverSide{cfg: cfg, log: cfg.Log, conns: make([]*sip.Conn, cfg.Calls), peers: make([]*webrtc.Peer, cfg.Calls)}
	lo := netip.MustParseAddr("127.0.0.1")
	rtcCfg := webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{lo}, MaxPeers: cfg.Calls + 1, Log: cfg.Log}
	if !cfg.Ports {
		var err error
		if rtcCfg.UDPPort, err = freeUDPPort(); err != nil {
			return nil, err
		}
	}
	eng, err := webrtc.NewEngine(rtcCfg)
	if err != nil {
		return nil, err
	}
	s.eng = eng
	return s, nil
}

func (s *serverSide) dial(ctx context.Context, port, calls int) error {
	if calls != len(s.conns) {
		return fmt.Errorf("dial %d calls, configured for %d", calls, len(s.conns))
	}
	tr, err := sip.New(sip.Config{Name: "bench", Host: "127.0.0.1", Port: port, LocalIP: netip.MustParseAddr("127.0.0.1"),
		Ring: 10 * time.Second})
	if err != nil {
		return err
	}
	tr.Synth, tr.NoBargeIn, tr.Log = audio.ToneSynth{}, true, s.log
	s.mu.Lock()
	s.tr = tr
	s.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Accepts)
	for i := range calls {
		g.Go(func() error {
			conn, result, err := tr.DialConn(gctx, dialer.CallRequest{MSISDN: fmt.Sprint(1000 + i)})
			if err != nil || result != dialer.ResultAnswered {
				return fmt.Errorf("dial call %d: %q %v", i, result, err)
			}
			s.mu.Lock()
			s.conns[i] = conn
			s.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

func (s *serverSide) answer(ctx context.Context, call int, offer string) (string, error) {
	if call < 0 || call >= len(s.conns) || s.conns[call] == nil {
		return "", fmt.Errorf("answer: no call %d", call)
	}
	peer, answer, err := s.eng.Answer(ctx, offer)
	if err != nil {
		return "", fmt.Errorf("call %d: answer: %w", call, err)
	}
	s.mu.Lock()
	s.peers[call] = peer
	conn := s.conns[call]
	s.mu.Unlock()
	bridge.New(conn, peer)
	return answer, nil
}

// relay starts n bare relays: a goroutine per stream reading a socket and
// writing on to sink, as Parley's SIP side reads RTP and writes it on,
// without SIP, SRTP or the bridge.
func (s *serverSide) relay(_ context.Context, sink, n int) ([]int, error) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	to := &net.UDPAddr{IP: lo.IP, Port: sink}
	var ports []int
	for range n {
		c, err := net.ListenUDP("udp", lo)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.relays = append(s.relays, c)
		s.mu.Unlock()
		ports = append(ports, c.LocalAddr().(*net.UDPAddr).Port)
		go func() {
			buf := make([]byte, 1500)
			for {
				k, _, err := c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				_, _ = c.WriteToUDP(buf[:k], to)
			}
		}()
	}
	return ports, nil
}

func (s *serverSide) finish(ctx context.Context) (ServerStats, error) {
	var st ServerStats
	var lead time.Duration
	var relayed uint64
	s.mu.Lock()
	conns, mark := s.conns, s.mark
	s.mu.Unlock()
	if mark != nil {
		st.Runtime = mark.since()
	}
	for i, c := range conns {
		if c == nil {
			continue
		}
		ms := c.Stats()
		st.SIPSent += ms.Sent
		st.SIPLate += ms.Late
		rs := c.RelayStats()
		s.log.Debug("bridged call", "call", i, "relay", fmt.Sprintf("%+v", rs), "media", fmt.Sprintf("%+v", ms))
		st.RelayDropped += rs.Dropped
		st.RelayTrimmed += rs.Trimmed
		lead += rs.Lead
		relayed += rs.Sent
		st.RelayLeadMax = max(st.RelayLeadMax, rs.MaxLead)
	}
	if relayed > 0 {
		st.RelayLeadMean = lead / time.Duration(relayed)
	}
	s.hangup(ctx)
	return st, nil
}

// hangup ends every call, its peer and the baseline's relays.
func (s *serverSide) hangup(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.conns {
		if p := s.peers[i]; p != nil {
			p.Close()
			s.peers[i] = nil
		}
		if c != nil {
			_, _ = c.Hangup(context.WithoutCancel(ctx))
			s.conns[i] = nil
		}
	}
	for _, c := range s.relays {
		c.Close()
	}
	s.relays = nil
}

func (s *serverSide) close() {
	s.hangup(context.Background())
	s.eng.Close()
	if s.tr != nil {
		s.tr.Close()
	}
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
