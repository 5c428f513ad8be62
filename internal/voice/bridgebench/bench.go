// Package bridgebench measures the voice bridge under load (issue 12's
// goals): N concurrent calls, each a SIP call from Parley's trunk to a
// phone (RTP over loopback UDP) bridged to a pion peer standing for the
// operator's browser (WebRTC over loopback), both parties talking all the
// time. With Config.LoadCommand the load side (the phone, the operators'
// peers, the talker and the receivers) runs in a child process with its
// own Go runtime (process.go), so that only Parley's side runs in this
// one; without, all runs in this process.
//
// Every frame either party sends carries its send time in its payload
// (PCMU crosses the bridge byte for byte), so the receiving end knows
// each frame's one-way delay through Parley exactly. Reported:
//
//   - late: the share of frames sent in the measured window that arrived
//     more than one frame (20 ms) after they were sent, or never;
//   - delay p50/p99: the one-way delay through Parley. It includes the
//     load generator's own send and receive path (a UDP write, or pion's
//     SRTP and write, and the reading goroutine on the other end), on the
//     same cores as Parley: an upper bound of what Parley adds;
//   - accept to first audio, p99, each way: from the operator's accept
//     (the browser starts making its offer) to the first frame of the
//     other party heard, through signalling, ICE, DTLS and bridging;
//   - a baseline, to tell Parley's delay from the machine's: Baseline
//     streams of the same frames, sent by the same talker in the same
//     ticks, through bare UDP relays on the server side (a goroutine
//     reading a socket and writing another, as Parley's SIP side does,
//     without SIP, SRTP or the bridge) back to the load side. On a
//     machine shared with other work, the baseline's delay is what
//     scheduling alone costs;
//   - each process's runtime over the window (CPU, scheduling latency,
//     GC, allocation) and the machine's UDP receive-buffer drops.
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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-cc/parley/internal/voice/rtp"
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
	// LoadCommand, when set, runs the load side (the callees' phone, the
	// operators' pion peers, the talker and the receivers) as this
	// command, a child process that calls ServeLoadIfChild first (the
	// same binary: os.Executable()), so that only Parley's side and the
	// baseline's relays run in this process. Empty: all in this process.
	LoadCommand []string     `json:"-"`
	Log         *slog.Logger `json:"-"`
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
	// Parley's own counters, from the server side.
	ServerStats
	// Load is the load process's runtime over the measured window (the
	// same process as the server's when SameProcess).
	Load        Runtime
	SameProcess bool
	// UDPRcvbufErrors is how many UDP datagrams the machine dropped for a
	// full receive buffer during the window (any process's), -1 unknown.
	UDPRcvbufErrors int64
}

// ServerStats are Parley's own counters: packets its SIP calls sent late
// (more than a frame after their slot) of all they sent, over the whole
// run, and what its SIP side did with the operator's frames.
type ServerStats struct {
	SIPSent, SIPLate uint64
	RelayDropped     uint64 // operator frames the SIP side dropped
	RelayTrimmed     uint64 // of those, dropped to step back a lead over half a frame
	// How far ahead of their slot's time the SIP side sent the operator's
	// frames (sip.RelayStats.Lead): mean and max over all calls.
	RelayLeadMean, RelayLeadMax time.Duration
	// Runtime is the server process's over the measured window.
	Runtime Runtime
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
	frames := uint64(max(r.ToOperator.Sent+r.ToCallee.Sent+r.Baseline.Sent, 1))
	for _, p := range []struct {
		name string
		rt   Runtime
	}{{"server process", r.Runtime}, {"load process", r.Load}} {
		if r.SameProcess && p.name == "load process" {
			continue
		}
		name := p.name
		if r.SameProcess {
			name = "the one process"
		}
		fmt.Fprintf(w, "  %s: CPU %v (%.2f cores), goroutine scheduling latency p99 %v max %v, GC %d cycles pause max %v, "+
			"allocated %d B and %d objects a frame\n", name, p.rt.CPU.Round(time.Millisecond),
			p.rt.CPU.Seconds()/max(r.Window.Seconds(), 1e-9), p.rt.SchedP99.Round(10*time.Microsecond),
			p.rt.SchedMax.Round(10*time.Microsecond), p.rt.GCCycles, p.rt.GCPauseMax.Round(10*time.Microsecond),
			p.rt.AllocBytes/frames, p.rt.AllocObjects/frames)
	}
	if r.UDPRcvbufErrors >= 0 {
		fmt.Fprintf(w, "  UDP datagrams the machine dropped for a full receive buffer during the window: %d\n", r.UDPRcvbufErrors)
	}
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
	if cfg.Baseline == 0 {
		cfg.Baseline = 10
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	if len(cfg.LoadCommand) == 0 {
		res, err := runLoad(ctx, cfg, srv)
		if res != nil {
			res.SameProcess = true
		}
		return res, err
	}
	return runChild(ctx, cfg, srv)
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
