// Package bridgebench measures the voice bridge under load (issue 12's
// goals): N concurrent calls, each a SIP call from Parley's trunk to an
// in-process phone (RTP over loopback UDP) bridged to an in-process pion
// peer standing for the operator's browser (WebRTC over loopback), both
// parties talking all the time.
//
// Every frame either party sends carries its send time in its payload
// (PCMU crosses the bridge byte for byte), so the receiving end knows
// each frame's one-way delay through Parley exactly. Reported:
//
//   - late: the share of frames sent in the measured window that arrived
//     more than one frame (20 ms) after they were sent, or never;
//   - delay p50/p99: the one-way delay through Parley. It includes the
//     load generator's own send and receive path (a UDP write, or pion's
//     SRTP and write, and the reading goroutine on the other end), all in
//     the same process and on the same cores as Parley: an upper bound of
//     what Parley adds;
//   - accept to first audio, p99, each way: from the operator's accept
//     (the browser starts making its offer) to the first frame of the
//     other party heard, through signalling, ICE, DTLS and bridging;
//   - a baseline, to tell Parley's delay from the machine's: Baseline
//     streams of the same frames, sent by the same talker in the same
//     ticks, through a bare UDP relay in the same process (a goroutine
//     reading a socket and writing another, as Parley's SIP side does,
//     without SIP, SRTP or the bridge). On a machine shared with other
//     work, the baseline's delay is what scheduling alone costs.
//
// Run is what cmd/parley-bench calls; TestRun runs it small.
package bridgebench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	"golang.org/x/sync/errgroup"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/bridge"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/rtp"
	"github.com/parley-cc/parley/internal/voice/sip"
	"github.com/parley-cc/parley/internal/voice/voicetest"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

// Config is one run.
type Config struct {
	Calls    int           // concurrent bridged calls; 0 means 100
	Duration time.Duration // talk time measured once every call is bridged; 0 means 20 s
	// Accepts is how many operators accept at the same moment while the
	// calls are being bridged; 0 means 10.
	Accepts int
	// Ports gives each WebRTC peer its own UDP port instead of one port
	// for all (PARLEY_RTC_UDP_PORT, the default deployment here).
	Ports bool
	// Baseline is the number of bare-relay streams measured beside the
	// calls; 0 means 10, negative none.
	Baseline int
	Log      *slog.Logger
}

// Goals of issue 12.
const (
	GoalCalls       = 100
	GoalLate        = 0.01
	GoalDelayP99    = 20 * time.Millisecond
	GoalFirstAudio  = 500 * time.Millisecond
	lateAfter       = rtp.FrameTime
	drainAfterTalks = 500 * time.Millisecond
)

// Direction is one way of the calls' audio.
type Direction struct {
	Sent     int           // frames sent in the measured window
	Received int           // of those, received
	Late     int           // of those, later than one frame
	P50, P99 time.Duration // one-way delay of the received ones
	Max      time.Duration
}

// LateShare is the share of frames late or lost.
func (d Direction) LateShare() float64 {
	if d.Sent == 0 {
		return 0
	}
	return float64(d.Late+d.Sent-d.Received) / float64(d.Sent)
}

// Result is what a run measured.
type Result struct {
	Calls      int
	Window     time.Duration
	ToOperator Direction // callee -> Parley (SIP) -> operator (WebRTC)
	ToCallee   Direction // operator -> Parley (WebRTC) -> callee (SIP)
	Baseline   Direction // the bare UDP relay, same talker, same moments
	// Accept to the first frame of the other party, p50 and p99.
	FirstAudioToOperatorP50, FirstAudioToOperatorP99 time.Duration
	FirstAudioToCalleeP50, FirstAudioToCalleeP99     time.Duration
	// Parley's own counters: packets its SIP calls sent late (more than a
	// frame after their slot) of all they sent, over the whole run.
	SIPSent, SIPLate uint64
	RelayDropped     uint64 // operator frames the SIP side dropped
	RelayTrimmed     uint64 // of those, dropped to step back a lead over half a frame
	// How far ahead of their slot's time the SIP side sent the operator's
	// frames (sip.RelayStats.Lead): mean and max over all calls.
	RelayLeadMean, RelayLeadMax time.Duration
}

// LateShare is the share of frames late or lost, both ways.
func (r *Result) LateShare() float64 {
	sent := r.ToOperator.Sent + r.ToCallee.Sent
	if sent == 0 {
		return 0
	}
	bad := r.ToOperator.Late + r.ToOperator.Sent - r.ToOperator.Received + r.ToCallee.Late + r.ToCallee.Sent - r.ToCallee.Received
	return float64(bad) / float64(sent)
}

// Report writes the result with the goals.
func (r *Result) Report(w io.Writer) {
	fmt.Fprintf(w, "bridged calls: %d, measured %v\n", r.Calls, r.Window.Round(time.Millisecond))
	for _, d := range []struct {
		name string
		d    Direction
	}{{"callee -> operator", r.ToOperator}, {"operator -> callee", r.ToCallee}} {
		fmt.Fprintf(w, "  %-19s frames %d, received %d, late or lost %.3f%%, delay p50 %v p99 %v max %v\n", d.name, d.d.Sent,
			d.d.Received, 100*d.d.LateShare(), d.d.P50.Round(10*time.Microsecond), d.d.P99.Round(10*time.Microsecond),
			d.d.Max.Round(10*time.Microsecond))
	}
	if r.Baseline.Sent > 0 {
		fmt.Fprintf(w, "  %-19s frames %d, received %d, late or lost %.3f%%, delay p50 %v p99 %v max %v\n", "baseline (bare relay)",
			r.Baseline.Sent, r.Baseline.Received, 100*r.Baseline.LateShare(), r.Baseline.P50.Round(10*time.Microsecond),
			r.Baseline.P99.Round(10*time.Microsecond), r.Baseline.Max.Round(10*time.Microsecond))
	}
	fmt.Fprintf(w, "  late or lost, both ways: %.3f%% (goal < %.0f%%)\n", 100*r.LateShare(), 100*GoalLate)
	fmt.Fprintf(w, "  delay p99: %v (goal < %v)\n", max(r.ToOperator.P99, r.ToCallee.P99).Round(10*time.Microsecond), GoalDelayP99)
	fmt.Fprintf(w, "  accept to first audio: to the operator p50 %v p99 %v, to the callee p50 %v p99 %v (goal p99 < %v)\n",
		r.FirstAudioToOperatorP50.Round(time.Millisecond), r.FirstAudioToOperatorP99.Round(time.Millisecond),
		r.FirstAudioToCalleeP50.Round(time.Millisecond), r.FirstAudioToCalleeP99.Round(time.Millisecond), GoalFirstAudio)
	fmt.Fprintf(w, "  Parley's SIP side: %d packets sent, %d late (%.3f%%), %d relayed frames dropped (%d trimmed), "+
		"relayed frames sent ahead of their slot by %v on average, %v at most\n", r.SIPSent, r.SIPLate,
		100*float64(r.SIPLate)/float64(max(r.SIPSent, 1)), r.RelayDropped, r.RelayTrimmed, r.RelayLeadMean.Round(10*time.Microsecond),
		r.RelayLeadMax.Round(10*time.Microsecond))
}

// frame is a stamped 20 ms PCMU payload: a magic, the call, the send
// time; the rest μ-law silence.
const magic = 0x50524c59 // "PRLY"

func stamp(buf []byte, call int, at time.Time) []byte {
	buf = buf[:rtp.FrameSamples]
	for i := range buf {
		buf[i] = 0xFF
	}
	binary.BigEndian.PutUint32(buf[0:], magic)
	binary.BigEndian.PutUint32(buf[4:], uint32(call))
	binary.BigEndian.PutUint64(buf[8:], uint64(at.UnixNano()))
	return buf
}

func unstamp(p []byte) (call int, at time.Time, ok bool) {
	if len(p) < 16 || binary.BigEndian.Uint32(p) != magic {
		return 0, time.Time{}, false
	}
	return int(binary.BigEndian.Uint32(p[4:])), time.Unix(0, int64(binary.BigEndian.Uint64(p[8:]))), true
}

// tally collects one direction's arrivals.
type tally struct {
	mu       sync.Mutex
	from, to time.Time // the measured window of send times
	delays   []time.Duration
	sent     atomic.Int64 // frames sent in the window
	first    []atomic.Int64
}

func newTally(calls int) *tally { return &tally{first: make([]atomic.Int64, calls)} }

func (t *tally) arrived(p []byte, at time.Time) {
	call, sent, ok := unstamp(p)
	if !ok || call < 0 || call >= len(t.first) {
		return
	}
	t.first[call].CompareAndSwap(0, at.UnixNano())
	t.mu.Lock()
	if !t.from.IsZero() && !sent.Before(t.from) && (t.to.IsZero() || sent.Before(t.to)) {
		t.delays = append(t.delays, at.Sub(sent))
	}
	t.mu.Unlock()
}

func (t *tally) window(from, to time.Time) {
	t.mu.Lock()
	t.from, t.to = from, to
	t.mu.Unlock()
}

func (t *tally) inWindow(sent time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.from.IsZero() && !sent.Before(t.from) && (t.to.IsZero() || sent.Before(t.to))
}

func (t *tally) direction() Direction {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := Direction{Sent: int(t.sent.Load()), Received: len(t.delays)}
	if len(t.delays) == 0 {
		return d
	}
	s := slices.Clone(t.delays)
	slices.Sort(s)
	for _, v := range s {
		if v > lateAfter {
			d.Late++
		}
	}
	d.P50, d.P99, d.Max = quantile(s, 0.50), quantile(s, 0.99), s[len(s)-1]
	return d
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// leg is one bench call.
type leg struct {
	i        int
	conn     *sip.Conn
	phone    *voicetest.PhoneCall
	browser  *voicetest.Browser
	peer     *webrtc.Peer
	accepted time.Time
	talking  atomic.Bool // the operator's browser is connected and sending
}

// Run runs one benchmark.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Calls <= 0 {
		cfg.Calls = GoalCalls
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Accepts <= 0 {
		cfg.Accepts = 10
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		return nil, err
	}
	defer ph.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	tr, err := sip.New(sip.Config{Name: "bench", Host: "127.0.0.1", Port: ph.Port, LocalIP: lo, Ring: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	tr.Synth, tr.NoBargeIn, tr.Log = audio.ToneSynth{}, true, log
	defer tr.Close()
	rtcCfg := webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{lo}, MaxPeers: cfg.Calls + 1, Log: log}
	if !cfg.Ports {
		if rtcCfg.UDPPort, err = freeUDPPort(); err != nil {
			return nil, err
		}
	}
	eng, err := webrtc.NewEngine(rtcCfg)
	if err != nil {
		return nil, err
	}
	defer eng.Close()

	toOperator, toCallee := newTally(cfg.Calls), newTally(cfg.Calls)
	if cfg.Baseline == 0 {
		cfg.Baseline = 10
	}
	base, err := startBaseline(max(cfg.Baseline, 0))
	if err != nil {
		return nil, err
	}
	defer base.close()
	legs := make([]*leg, cfg.Calls)
	defer func() {
		for _, l := range legs {
			if l == nil {
				continue
			}
			if l.browser != nil {
				l.browser.Close()
			}
			if l.peer != nil {
				l.peer.Close()
			}
			_, _ = l.conn.Hangup(context.WithoutCancel(ctx))
		}
	}()

	// Dial every call; each phone starts talking at once (the callee
	// waits on hold audio in real life; here the bench's clock starts).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Accepts)
	for i := range legs {
		g.Go(func() error {
			conn, result, err := tr.DialConn(gctx, dialer.CallRequest{MSISDN: fmt.Sprint(1000 + i)})
			if err != nil || result != dialer.ResultAnswered {
				return fmt.Errorf("dial call %d: %q %v", i, result, err)
			}
			pc, err := ph.Next(gctx)
			if err != nil {
				conn.Hangup(context.WithoutCancel(ctx))
				return err
			}
			// Calls are answered in order of their INVITEs, not of i: the
			// phone's call is paired with this conn by the number.
			legs[i] = &leg{i: i, conn: conn, phone: pc}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Pair each conn with its phone call by the number dialled.
	byNumber := map[string]*voicetest.PhoneCall{}
	for _, l := range legs {
		byNumber[l.phone.User] = l.phone
	}
	for _, l := range legs {
		l.phone = byNumber[fmt.Sprint(1000+l.i)]
		if l.phone == nil {
			return nil, fmt.Errorf("call %d: no phone call for its number", l.i)
		}
		l.phone.OnPacket(func(p *pionrtp.Packet, at time.Time) { toCallee.arrived(p.Payload, at) })
	}

	// The talkers: one goroutine sends every party's frame each 20 ms.
	talk, stopTalk := context.WithCancel(ctx)
	defer stopTalk()
	talkDone := make(chan struct{})
	go func() {
		defer close(talkDone)
		start := time.Now()
		buf := make([]byte, rtp.FrameSamples)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for n := 0; ; n++ {
			if d := time.Until(start.Add(time.Duration(n) * rtp.FrameTime)); d > 0 {
				timer.Reset(d)
				select {
				case <-talk.Done():
					return
				case <-timer.C:
				}
			} else if talk.Err() != nil {
				return
			}
			for _, l := range legs {
				now := time.Now()
				if l.phone.Send(stamp(buf, l.i, now)) == nil && toOperator.inWindow(now) {
					toOperator.sent.Add(1)
				}
				if l.talking.Load() {
					now = time.Now()
					if l.browser.Send(stamp(buf, l.i, now)) == nil && toCallee.inWindow(now) {
						toCallee.sent.Add(1)
					}
				}
			}
			base.send(buf)
		}
	}()

	// The operators accept, Accepts at a time.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(cfg.Accepts)
	for _, l := range legs {
		g.Go(func() error { return accept(gctx, eng, l, toOperator) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Every call has audio both ways before the window opens.
	for _, l := range legs {
		for toOperator.first[l.i].Load() == 0 || toCallee.first[l.i].Load() == 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("call %d: no audio both ways: %w", l.i, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	from := time.Now()
	to := from.Add(cfg.Duration)
	toOperator.window(from, to)
	toCallee.window(from, to)
	base.tally.window(from, to)
	select {
	case <-time.After(cfg.Duration + drainAfterTalks):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	stopTalk()
	<-talkDone

	res := &Result{Calls: cfg.Calls, Window: cfg.Duration, ToOperator: toOperator.direction(), ToCallee: toCallee.direction(),
		Baseline: base.tally.direction()}
	var toOp, toCal []time.Duration
	var lead time.Duration
	var relayed uint64
	for _, l := range legs {
		toOp = append(toOp, time.Unix(0, toOperator.first[l.i].Load()).Sub(l.accepted))
		toCal = append(toCal, time.Unix(0, toCallee.first[l.i].Load()).Sub(l.accepted))
		st := l.conn.Stats()
		res.SIPSent += st.Sent
		res.SIPLate += st.Late
		rs := l.conn.RelayStats()
		log.Debug("bridged call", "call", l.i, "relay", fmt.Sprintf("%+v", rs), "media", fmt.Sprintf("%+v", st))
		res.RelayDropped += rs.Dropped
		res.RelayTrimmed += rs.Trimmed
		lead += rs.Lead
		relayed += rs.Sent
		res.RelayLeadMax = max(res.RelayLeadMax, rs.MaxLead)
	}
	if relayed > 0 {
		res.RelayLeadMean = lead / time.Duration(relayed)
	}
	slices.Sort(toOp)
	slices.Sort(toCal)
	res.FirstAudioToOperatorP50, res.FirstAudioToOperatorP99 = quantile(toOp, 0.5), quantile(toOp, 0.99)
	res.FirstAudioToCalleeP50, res.FirstAudioToCalleeP99 = quantile(toCal, 0.5), quantile(toCal, 0.99)
	return res, nil
}

// accept is one operator taking a call: the browser's offer, Parley's
// answer, the bridge; the browser talks once connected.
func accept(ctx context.Context, eng *webrtc.Engine, l *leg, toOperator *tally) error {
	l.accepted = time.Now()
	b, offer, err := voicetest.NewBrowser(ctx, false)
	if err != nil {
		return err
	}
	l.browser = b
	b.OnPacket(func(p *pionrtp.Packet, at time.Time) { toOperator.arrived(p.Payload, at) })
	peer, answer, err := eng.Answer(ctx, offer)
	if err != nil {
		return fmt.Errorf("call %d: answer: %w", l.i, err)
	}
	l.peer = peer
	if err := b.Accept(answer); err != nil {
		return err
	}
	bridge.New(l.conn, peer)
	select {
	case <-b.Connected():
		l.talking.Store(true)
		return nil
	case <-peer.Done():
		return fmt.Errorf("call %d: peer ended: %v", l.i, peer.Err())
	case <-ctx.Done():
		return ctx.Err()
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

// Met reports whether r meets issue 12's goals, and if not, why.
func (r *Result) Met() error {
	var errs []error
	if r.Calls < GoalCalls {
		errs = append(errs, fmt.Errorf("%d calls, goal %d", r.Calls, GoalCalls))
	}
	if s := r.LateShare(); s >= GoalLate {
		errs = append(errs, fmt.Errorf("%.2f%% late or lost, goal < %.0f%%", 100*s, 100*GoalLate))
	}
	if d := max(r.ToOperator.P99, r.ToCallee.P99); d >= GoalDelayP99 {
		errs = append(errs, fmt.Errorf("delay p99 %v, goal < %v", d, GoalDelayP99))
	}
	if d := max(r.FirstAudioToOperatorP99, r.FirstAudioToCalleeP99); d >= GoalFirstAudio {
		errs = append(errs, fmt.Errorf("accept to first audio p99 %v, goal < %v", d, GoalFirstAudio))
	}
	return errors.Join(errs...)
}

// baseline is n streams through a bare UDP relay: the talker writes to
// the relay's sockets, one goroutine per stream reads and writes on to a
// receiving socket, whose goroutine tallies the delays.
type baseline struct {
	tally  *tally
	to     []*net.UDPAddr // the relay's sockets
	out    *net.UDPConn   // the talker's socket
	closes []io.Closer
}

func startBaseline(n int) (*baseline, error) {
	b := &baseline{tally: newTally(max(n, 1))}
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	listen := func() (*net.UDPConn, error) {
		c, err := net.ListenUDP("udp", lo)
		if err == nil {
			b.closes = append(b.closes, c)
		}
		return c, err
	}
	var err error
	if b.out, err = listen(); err != nil {
		b.close()
		return nil, err
	}
	sink, err := listen()
	if err != nil {
		b.close()
		return nil, err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			k, _, err := sink.ReadFromUDP(buf)
			if err != nil {
				return
			}
			b.tally.arrived(buf[:k], time.Now())
		}
	}()
	for range n {
		relay, err := listen()
		if err != nil {
			b.close()
			return nil, err
		}
		b.to = append(b.to, relay.LocalAddr().(*net.UDPAddr))
		go func() {
			buf := make([]byte, 1500)
			for {
				k, _, err := relay.ReadFromUDP(buf)
				if err != nil {
					return
				}
				_, _ = relay.WriteToUDP(buf[:k], sink.LocalAddr().(*net.UDPAddr))
			}
		}()
	}
	return b, nil
}

// send sends each stream's frame of this tick.
func (b *baseline) send(buf []byte) {
	for i, to := range b.to {
		now := time.Now()
		if _, err := b.out.WriteToUDP(stamp(buf, i, now), to); err == nil && b.tally.inWindow(now) {
			b.tally.sent.Add(1)
		}
	}
}

func (b *baseline) close() {
	for _, c := range b.closes {
		c.Close()
	}
}
