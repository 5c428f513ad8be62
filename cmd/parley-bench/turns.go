package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/sip"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// benchTurns measures the voice turn latency as the caller hears it: an
// in-process SIP callee (voicetest.Phone, pion/rtp) answers the agent's
// prompts with recorded answers (espeak-ng audio), and the latency of a
// turn is taken from packet times on the wire: from the last voiced packet
// of the callee's answer (its send time) to the first voiced packet of the
// agent's reply (its arrival time). Turns alternate a closed grammar
// (listen(expect=["yes","no"])) and an open listen; every fifth prompt
// the callee talks over the agent (barge-in: from the callee's first
// voiced packet to the agent's audio stopping). The agent is the real SIP
// trunk with the server's recognizer and synthesizer (pocketsphinx,
// espeak-ng). --beside dialer runs `parley-bench dialer` as a child
// process for the length of the run, for the figure under load.
//
// It uses only the trunk's public API, so the same file measures an
// older commit for the before/after in docs/benchmarks.md.
func benchTurns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench turns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	calls := fs.Int("calls", 2, "concurrent calls")
	turns := fs.Int("turns", 50, "turns per call (half closed grammar, half open)")
	beside := fs.String("beside", "", `"dialer" runs the dialer benchmark beside this one`)
	stable := fs.String("stable-silence", "", `the open listens' stable-hypothesis rule: a duration (default the trunk's, 200ms) or "off" (the end silence alone, the rule before it)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *calls < 1 || *turns < 2 {
		return errors.New("bench turns: --calls at least 1, --turns at least 2")
	}
	var stableSilence time.Duration
	switch *stable {
	case "":
	case "off":
		stableSilence = -1
	default:
		d, err := time.ParseDuration(*stable)
		if err != nil || d <= 0 {
			return fmt.Errorf("bench turns: --stable-silence %q (a duration or off)", *stable)
		}
		stableSilence = d
	}
	m := machineFacts()
	fmt.Fprintf(stdout, "machine: %d CPUs (GOMAXPROCS %d), %s, %s, %s %s\n", m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.Memory, m.GoVersion, m.OSArch)
	es, ok := audio.LookupEspeak()
	if !ok {
		return errors.New("bench turns: espeak-ng not installed")
	}
	ps, err := speech.LookupPocketsphinx()
	if err != nil {
		return err
	}
	if w, ok := any(ps).(interface{ Warm() (bool, error) }); ok {
		lib, err := w.Warm()
		fmt.Fprintf(stdout, "recognizer: resident decoders %v (%v)\n", lib, err)
	} else {
		fmt.Fprintln(stdout, "recognizer: pocketsphinx_batch per utterance")
	}
	answers := map[string]audio.PCM{}
	for _, text := range []string{"yes", "no", "I want to pay my bill", "yes yes yes yes yes"} {
		pcm, err := es.Synthesize(ctx, text, "en-us")
		if err != nil {
			return err
		}
		answers[text] = pcm
	}

	if *beside == "dialer" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// Long enough for the turns; an hour's upload is past the API's
		// body limit, and a child that exits early loads nothing.
		child := exec.CommandContext(cctx, self, "dialer", "--duration", "3m")
		var childErr bytes.Buffer
		child.Stderr = &childErr
		childOut, err := child.StdoutPipe()
		if err != nil {
			return err
		}
		if err := child.Start(); err != nil {
			return err
		}
		// The turns start once the dialer dials: its upload (3 starts a
		// channel-second for the run) is done.
		uploaded := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(childOut)
			for sc.Scan() {
				if os.Getenv("PARLEY_BENCH_DEBUG") != "" {
					fmt.Fprintln(stdout, "dialer beside:", sc.Text())
				}
				if strings.HasPrefix(sc.Text(), "upload done") {
					close(uploaded)
					break
				}
			}
			_, _ = io.Copy(io.Discard, childOut)
		}()
		exited := make(chan error, 1)
		go func() { exited <- child.Wait() }()
		defer func() {
			select {
			case err := <-exited:
				fmt.Fprintf(stdout, "WARNING: the dialer beside exited before the turns ended (%v): %s\n", err, strings.TrimSpace(childErr.String()))
			default:
				cancel()
				<-exited
			}
		}()
		select {
		case <-uploaded:
			time.Sleep(2 * time.Second) // its channels filling
		case err := <-exited:
			exited <- err // for the deferred report
			return fmt.Errorf("bench turns: the dialer beside exited before dialing (%v): %s", err, strings.TrimSpace(childErr.String()))
		case <-time.After(5 * time.Minute):
			return errors.New("bench turns: the dialer beside did not finish its upload in 5 minutes")
		}
		fmt.Fprintln(stdout, "beside: parley-bench dialer (child process)")
	} else if *beside != "" {
		return fmt.Errorf("bench turns: --beside %q (dialer)", *beside)
	}

	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		return err
	}
	defer ph.Close()
	tr, err := sip.New(sip.Config{Name: "bench", Host: "127.0.0.1", Port: ph.Port, LocalIP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		return err
	}
	defer tr.Close()
	tr.Synth, tr.Recognizer = wrapSynth(es), sip.SpeechRecognizer{Recognizer: ps}
	tr.VAD.StableSilence = stableSilence
	fmt.Fprintf(stdout, "open listens: stable-hypothesis rule %s\n", cmp.Or(*stable, "default"))

	var (
		mu  sync.Mutex
		res turnResults
		wg  sync.WaitGroup
	)
	errs := make(chan error, *calls)
	start := time.Now()
	for i := range *calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 700 * time.Millisecond)
			r, err := turnCall(ctx, tr, ph, answers, *turns)
			mu.Lock()
			res.add(r)
			mu.Unlock()
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(stdout, "call error:", err)
	}
	fmt.Fprintf(stdout, "%d calls x %d turns in %v\n", *calls, *turns, time.Since(start).Round(time.Second))
	res.report(stdout)
	return nil
}

// wrapSynth gives the trunk's synthesizer what the server gives it (the
// prompt cache, where the code has one).
var wrapSynth = func(s audio.Synthesizer) audio.Synthesizer { return s }

type turnResults struct {
	closed, open, barge []time.Duration
	heard, misheard     int
	stages              *stageTimes
}

// stageTimes gathers the stages the agent's calls measure themselves (the
// transcript's latency_ms), where the code under test has them.
type stageTimes struct {
	mu sync.Mutex
	ms map[string][]time.Duration
}

func (s *stageTimes) note(conn any) {
	lc, ok := conn.(interface{ LastLatency() map[string]any })
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ms == nil {
		s.ms = map[string][]time.Duration{}
	}
	for k, v := range lc.LastLatency() {
		if f, ok := v.(float64); ok {
			s.ms[k] = append(s.ms[k], time.Duration(f*float64(time.Millisecond)))
		}
	}
}

func (r *turnResults) add(o turnResults) {
	r.closed = append(r.closed, o.closed...)
	r.open = append(r.open, o.open...)
	r.barge = append(r.barge, o.barge...)
	r.heard += o.heard
	r.misheard += o.misheard
	if o.stages == nil {
		return
	}
	if r.stages == nil {
		r.stages = &stageTimes{ms: map[string][]time.Duration{}}
	}
	o.stages.mu.Lock()
	for k, v := range o.stages.ms {
		r.stages.ms[k] = append(r.stages.ms[k], v...)
	}
	o.stages.mu.Unlock()
}

func (r *turnResults) report(w io.Writer) {
	line := func(name string, d []time.Duration) {
		if len(d) == 0 {
			fmt.Fprintf(w, "%-14s no samples\n", name)
			return
		}
		slices.Sort(d)
		q := func(p float64) time.Duration { return d[min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1)] }
		fmt.Fprintf(w, "%-14s n=%3d  p50 %4d ms  p90 %4d ms  max %4d ms\n", name, len(d),
			q(0.5).Milliseconds(), q(0.9).Milliseconds(), d[len(d)-1].Milliseconds())
	}
	line("closed grammar", r.closed)
	line("open listen", r.open)
	line("all turns", append(slices.Clone(r.closed), r.open...))
	line("barge-in", r.barge)
	fmt.Fprintf(w, "closed-grammar answers recognized right: %d of %d\n", r.heard, r.heard+r.misheard)
	for _, k := range []string{"endpoint_ms", "recognition_ms", "script_ms", "synthesis_ms", "first_packet_ms", "turn_ms"} {
		if r.stages == nil {
			break
		}
		if d := r.stages.ms[k]; len(d) > 0 {
			line("stage "+strings.TrimSuffix(k, "_ms"), d)
		}
	}
}

// calleeEar follows the agent's audio as the phone receives it.
type calleeEar struct {
	mu        sync.Mutex
	lastVoice time.Time // arrival of the agent's last voiced packet
	firstSent time.Time // since when a voiced packet is awaited
	waiting   chan time.Time
	stopAfter time.Time // barge-in: awaiting the agent's audio to stop
	stopped   chan time.Time
}

func (e *calleeEar) onPacket(pkt *pionrtp.Packet, at time.Time) {
	var sum float64
	pcm := g711.ULaw.AppendDecode(nil, pkt.Payload)
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	voiced := len(pcm) > 0 && math.Sqrt(sum/float64(len(pcm))) > 300
	e.mu.Lock()
	defer e.mu.Unlock()
	if voiced {
		e.lastVoice = at
		if e.waiting != nil {
			e.waiting <- at
			e.waiting = nil
		}
	} else if e.stopped != nil && at.After(e.stopAfter) {
		e.stopped <- at
		e.stopped = nil
	}
}

// awaitVoice returns the arrival of the next voiced packet.
func (e *calleeEar) awaitVoice(ctx context.Context) (time.Time, error) {
	return e.wait(ctx, e.expectVoice())
}

// expectVoice starts watching for the next voiced packet.
func (e *calleeEar) expectVoice() chan time.Time {
	ch := make(chan time.Time, 1)
	e.mu.Lock()
	e.waiting = ch
	e.mu.Unlock()
	return ch
}

func (e *calleeEar) wait(ctx context.Context, ch chan time.Time) (time.Time, error) {
	select {
	case at := <-ch:
		return at, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	case <-time.After(30 * time.Second):
		return time.Time{}, errors.New("no reply within 30 s")
	}
}

// awaitQuiet waits until the agent has been silent for d.
func (e *calleeEar) awaitQuiet(ctx context.Context, d time.Duration) error {
	for {
		e.mu.Lock()
		last := e.lastVoice
		e.mu.Unlock()
		if !last.IsZero() && time.Since(last) >= d {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// speak sends pcm at the 20 ms pace and returns the send times of its
// first and last voiced frames.
func speak(ctx context.Context, call *voicetest.PhoneCall, pcm audio.PCM, onFirst func(time.Time)) (time.Time, time.Time, error) {
	var first, last time.Time
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(pcm.Samples); i += 160 {
		frame := make([]int16, 160)
		copy(frame, pcm.Samples[i:])
		var sum float64
		for _, s := range frame {
			sum += float64(s) * float64(s)
		}
		now := time.Now()
		if err := call.Send(g711.ULaw.AppendEncode(nil, frame)); err != nil {
			return first, last, err
		}
		if math.Sqrt(sum/160) > 300 {
			if first.IsZero() {
				first = now
				if onFirst != nil {
					onFirst(now)
				}
			}
			last = now
		}
		select {
		case <-ctx.Done():
			return first, last, ctx.Err()
		case <-tick.C:
		}
	}
	// Line silence after the answer, until the caller stops sending.
	return first, last, nil
}

// turnCall runs one call of turns turns: the agent side (Say, Listen) on
// the trunk and the callee side on the phone, and returns their timings.
func turnCall(ctx context.Context, tr *sip.Trunk, ph *voicetest.Phone, answers map[string]audio.PCM, turns int) (turnResults, error) {
	var res turnResults
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: "100"})
	if err != nil || result != dialer.ResultAnswered {
		return res, fmt.Errorf("dial: %s %v", result, err)
	}
	defer conn.Hangup(context.WithoutCancel(ctx))
	call, err := ph.Next(ctx)
	if err != nil {
		return res, err
	}
	ear := &calleeEar{}
	call.OnPacket(ear.onPacket)
	// The callee sends line silence whenever it isn't answering, as a
	// phone does.
	var sendMu sync.Mutex
	silenceCtx, stopSilence := context.WithCancel(ctx)
	defer stopSilence()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := g711.ULaw.AppendEncode(nil, make([]int16, 160))
		for {
			select {
			case <-silenceCtx.Done():
				return
			case <-tick.C:
			}
			if sendMu.TryLock() {
				_ = call.Send(frame)
				sendMu.Unlock()
			}
		}
	}()

	stages := &stageTimes{}
	res.stages = stages
	prompts := []string{"Shall we go on?", "Thank you. Next question.", "Did you get our letter?", "Very good."}
	agentErr := make(chan error, 1)
	heard := make(chan string, turns)
	go func() {
		defer close(heard)
		for i := range turns {
			if err := conn.Say(ctx, prompts[i%len(prompts)]); err != nil {
				agentErr <- err
				return
			}
			stages.note(conn)
			var expect []string
			if i%2 == 0 {
				expect = []string{"yes", "no"}
			}
			text, _, err := conn.Listen(ctx, 8*time.Second, expect)
			if err != nil {
				agentErr <- err
				return
			}
			if lc, ok := any(conn).(interface{ LastLatency() map[string]any }); ok && os.Getenv("PARLEY_BENCH_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "turn %d %q: %v\n", i, text, lc.LastLatency())
			}
			stages.note(conn)
			heard <- text
		}
		_ = conn.Say(ctx, "Goodbye.")
		agentErr <- nil
	}()

	for i := range turns {
		closed := i%2 == 0
		answer := "I want to pay my bill"
		if closed {
			answer = []string{"yes", "no"}[i/2%2]
		}
		bargeTurn := i%5 == 4
		if bargeTurn {
			// Talk over the prompt 300 ms into it.
			if _, err := ear.awaitVoice(ctx); err != nil {
				return res, fmt.Errorf("turn %d: prompt: %w", i, err)
			}
			time.Sleep(300 * time.Millisecond)
			stopped := make(chan time.Time, 1)
			sendMu.Lock()
			var bargeAt time.Time
			_, last, err := speak(ctx, call, answers["yes yes yes yes yes"], func(at time.Time) {
				ear.mu.Lock()
				ear.stopAfter, ear.stopped, bargeAt = at, stopped, at
				ear.mu.Unlock()
			})
			sendMu.Unlock()
			if err != nil {
				return res, err
			}
			select {
			case at := <-stopped:
				res.barge = append(res.barge, at.Sub(bargeAt))
			default:
			}
			if _, err := waitReply(ctx, ear, last); err != nil {
				return res, fmt.Errorf("turn %d: %w", i, err)
			}
			<-heard
			continue
		}
		if err := ear.awaitQuiet(ctx, 300*time.Millisecond); err != nil {
			return res, err
		}
		time.Sleep(200 * time.Millisecond)
		reply := ear.expectVoice() // the agent is quiet: its next voice is the reply
		sendMu.Lock()
		_, last, err := speak(ctx, call, answers[answer], nil)
		sendMu.Unlock()
		if err != nil {
			return res, err
		}
		at, err := ear.wait(ctx, reply)
		if err != nil {
			return res, fmt.Errorf("turn %d: %w", i, err)
		}
		lat := at.Sub(last)
		if closed {
			res.closed = append(res.closed, lat)
		} else {
			res.open = append(res.open, lat)
		}
		got := <-heard
		if closed {
			if got == answer {
				res.heard++
			} else {
				res.misheard++
			}
		}
	}
	return res, <-agentErr
}

// waitReply returns the time from the callee's last voiced packet to the
// agent's next voiced packet.
func waitReply(ctx context.Context, ear *calleeEar, last time.Time) (time.Duration, error) {
	for {
		at, err := ear.awaitVoice(ctx)
		if err != nil {
			return 0, err
		}
		if at.After(last) {
			return at.Sub(last), nil
		}
	}
}
