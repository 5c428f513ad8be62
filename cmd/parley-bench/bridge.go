package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/voice/bridgebench"
)

// benchBridge measures the voice bridge (issue 12's Performance) at a
// rising number of concurrent bridged calls: each step is one
// bridgebench.Run (SIP callee RTP over loopback UDP to Parley's trunk,
// bridged to a WebRTC peer whose far end is a pion peer standing for the
// operator; both talk; a bare UDP relay measured in the same ticks is the
// baseline). The load side (the callees' phone, the operators' peers, the
// talker and the receivers) runs as this binary again, a child process
// with its own Go runtime, unless --same-process. It reports every step and the largest N
// whose frames were less than 1% late or lost both ways. Steps stop
// after the first two steps over the goal: beyond them the machine only
// drowns. Then --http-accepts calls run through the whole server (HTTP
// API, dialer, script, handover) to time the operator's HTTP accept to
// first audio both ways (bridge_accept.go).
func benchBridge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	steps := fs.String("calls", "10,25,50,100,150,200", "comma-separated numbers of concurrent bridged calls, run in turn")
	duration := fs.Duration("duration", 20*time.Second, "talk time measured at each step, once every call is bridged")
	accepts := fs.Int("accepts", 10, "operators accepting at the same moment while the calls are bridged")
	baseline := fs.Int("baseline", 10, "bare UDP relay streams measured beside the calls (0: none)")
	ports := fs.Bool("ports", false, "a UDP port per WebRTC peer instead of one for all")
	httpAccepts := fs.Int("http-accepts", 10, "calls of the accept-over-HTTP measurement through the whole server (0: none)")
	sameProcess := fs.Bool("same-process", false, "run the load (phone, operators' peers, talker, receivers) in this process instead of a child")
	nice := fs.Int("media-nice", int(audio.DefaultMediaNice), "nice value of the SIP media clocks' threads (one per CPU, shared by the calls) in the server process, as PARLEY_VOICE_NICE (0: no thread of its own)")
	keepGoing := fs.Bool("all", false, "run every step even after two steps over the 1% goal")
	asJSON := fs.Bool("json", false, "one JSON report on stdout instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ns, err := parseSteps(*steps)
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("bench bridge: unexpected argument %q", fs.Arg(0))
	case err != nil:
		return fmt.Errorf("bench bridge: --calls: %w", err)
	case *nice < -20 || *nice > 19:
		return fmt.Errorf("bench bridge: --media-nice: want a nice value from -20 to 19, got %d", *nice)
	case *duration <= 0 || *accepts < 1 || *baseline < 0 || *httpAccepts < 0:
		return errors.New("bench bridge: --duration positive, --accepts at least 1, --baseline and --http-accepts not negative")
	}
	rep := bridgeReport{Machine: machineFacts(), Duration: duration.String(), Goal: bridgeGoal{
		Calls: bridgebench.GoalCalls, LateShare: bridgebench.GoalLate, DelayP99Ms: ms(bridgebench.GoalDelayP99),
		FirstAudioP99Ms: ms(bridgebench.GoalFirstAudio)}}
	m := rep.Machine
	text := stdout
	if *asJSON {
		text = io.Discard
	}
	fmt.Fprintf(text, "machine: %d CPUs (GOMAXPROCS %d), %s, %s, %s %s\n", m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.Memory, m.GoVersion, m.OSArch)
	audio.MediaNice.Store(int32(*nice))
	var load []string
	if !*sameProcess {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench bridge: the load process: %w", err)
		}
		load = []string{exe}
	}
	over := 0
	for _, n := range ns {
		base := *baseline
		if base == 0 {
			base = -1 // bridgebench: 0 means its default
		}
		res, err := bridgebench.Run(ctx, bridgebench.Config{Calls: n, Duration: *duration, Accepts: *accepts, Ports: *ports, Baseline: base,
			LoadCommand: load})
		if err != nil {
			return fmt.Errorf("bench bridge: %d calls: %w", n, err)
		}
		res.Report(text)
		step := bridgeStep(res)
		rep.Steps = append(rep.Steps, step)
		if step.LateShare < bridgebench.GoalLate {
			rep.MaxCallsUnder1Pct = max(rep.MaxCallsUnder1Pct, n)
		} else if over++; over >= 2 && !*keepGoing {
			break
		}
	}
	if *httpAccepts > 0 {
		acc, err := benchAccept(ctx, *httpAccepts)
		if err != nil {
			return fmt.Errorf("bench bridge: accept over HTTP: %w", err)
		}
		rep.AcceptHTTP = acc
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "\n%6s %10s %10s %12s %12s %14s %14s %16s\n", "calls", "late %", "base late%", "delay p50", "delay p99",
		"base p50/p99", "delay p99/base", "first audio p99")
	for _, s := range rep.Steps {
		fmt.Fprintf(stdout, "%6d %10.3f %10.3f %10.2fms %10.2fms %6.2f/%5.2fms %14s %8.0f/%4.0fms\n", s.Calls, 100*s.LateShare,
			100*s.BaselineLateShare, s.DelayP50Ms, s.DelayP99Ms, s.BaselineP50Ms, s.BaselineP99Ms, ratio(s.DelayP99Ms, s.BaselineP99Ms),
			s.FirstAudioToOperatorP99Ms, s.FirstAudioToCalleeP99Ms)
	}
	fmt.Fprintf(stdout, "largest N with < %.0f%% late or lost: %d (goal >= %d)\n", 100*bridgebench.GoalLate, rep.MaxCallsUnder1Pct, bridgebench.GoalCalls)
	if a := rep.AcceptHTTP; a != nil {
		fmt.Fprintf(stdout, "accept over HTTP, whole server, %d operators accepting at once: POST accept p50 %.0f ms p99 %.0f ms; "+
			"accept to first audio to the operator p50 %.0f ms p99 %.0f ms, to the callee p50 %.0f ms p99 %.0f ms "+
			"(both ways p99 %.0f ms, goal < %.0f ms)\n", a.Calls, a.AcceptHTTPP50Ms, a.AcceptHTTPP99Ms,
			a.FirstAudioToOperatorP50Ms, a.FirstAudioToOperatorP99Ms, a.FirstAudioToCalleeP50Ms, a.FirstAudioToCalleeP99Ms,
			a.FirstAudioBothWaysP99Ms, ms(bridgebench.GoalFirstAudio))
	}
	return nil
}

// bridgeReport is `parley-bench bridge --json`.
type bridgeReport struct {
	Machine           machineInfo  `json:"machine"`
	Duration          string       `json:"duration"`
	Goal              bridgeGoal   `json:"goal"`
	Steps             []bridgeStat `json:"steps"`
	MaxCallsUnder1Pct int          `json:"max_calls_under_1pct_late"`
	// AcceptHTTP is the operator's accept over HTTP to first audio
	// through the whole server (bridge_accept.go).
	AcceptHTTP *acceptResult `json:"accept_http,omitempty"`
}

type bridgeGoal struct {
	Calls           int     `json:"calls"`
	LateShare       float64 `json:"late_share"`
	DelayP99Ms      float64 `json:"delay_p99_ms"`
	FirstAudioP99Ms float64 `json:"first_audio_p99_ms"`
}

// bridgeStat is one step. Delays are the worse of the two ways.
type bridgeStat struct {
	Calls                     int                   `json:"calls"`
	LateShare                 float64               `json:"late_share"`
	BaselineLateShare         float64               `json:"baseline_late_share"`
	DelayP50Ms                float64               `json:"delay_p50_ms"`
	DelayP99Ms                float64               `json:"delay_p99_ms"`
	BaselineP50Ms             float64               `json:"baseline_p50_ms"`
	BaselineP99Ms             float64               `json:"baseline_p99_ms"`
	FirstAudioToOperatorP99Ms float64               `json:"first_audio_to_operator_p99_ms"`
	FirstAudioToCalleeP99Ms   float64               `json:"first_audio_to_callee_p99_ms"`
	ToOperator                bridgebench.Direction `json:"to_operator"`
	ToCallee                  bridgebench.Direction `json:"to_callee"`
	Baseline                  bridgebench.Direction `json:"baseline"`
	// Parley's SIP side: packets sent, late (over a frame after their
	// slot), operator frames dropped.
	SIPSent        uint64  `json:"sip_sent"`
	SIPLate        uint64  `json:"sip_late"`
	RelayDropped   uint64  `json:"relay_dropped"`
	RelayTrimmed   uint64  `json:"relay_trimmed"`
	RelayLeadMaxMs float64 `json:"relay_lead_max_ms"`
	// The processes' runtimes over the window (one process when
	// same_process) and the machine's UDP receive-buffer drops.
	ServerRuntime   bridgebench.Runtime `json:"server_runtime"`
	LoadRuntime     bridgebench.Runtime `json:"load_runtime"`
	SameProcess     bool                `json:"same_process"`
	UDPRcvbufErrors int64               `json:"udp_rcvbuf_errors"`
}

func bridgeStep(r *bridgebench.Result) bridgeStat {
	return bridgeStat{
		Calls: r.Calls, LateShare: r.LateShare(), BaselineLateShare: r.Baseline.LateShare(),
		DelayP50Ms: ms(max(r.ToOperator.P50, r.ToCallee.P50)), DelayP99Ms: ms(max(r.ToOperator.P99, r.ToCallee.P99)),
		BaselineP50Ms: ms(r.Baseline.P50), BaselineP99Ms: ms(r.Baseline.P99),
		FirstAudioToOperatorP99Ms: ms(r.FirstAudioToOperatorP99), FirstAudioToCalleeP99Ms: ms(r.FirstAudioToCalleeP99),
		ToOperator: r.ToOperator, ToCallee: r.ToCallee, Baseline: r.Baseline,
		SIPSent: r.SIPSent, SIPLate: r.SIPLate, RelayDropped: r.RelayDropped, RelayTrimmed: r.RelayTrimmed, RelayLeadMaxMs: ms(r.RelayLeadMax),
		ServerRuntime: r.Runtime, LoadRuntime: r.Load, SameProcess: r.SameProcess, UDPRcvbufErrors: r.UDPRcvbufErrors,
	}
}

func parseSteps(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number of calls", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", a/b)
}
