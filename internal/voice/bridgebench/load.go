package bridgebench

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	"golang.org/x/sync/errgroup"

	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/rtp"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// The load side: the callees' phone, the operators' browsers, the talker
// and the receivers with their tallies. It drives the run and asks the
// server side (Parley) for what only Parley does: dialling, answering the
// operators' offers, the baseline's relays.

// leg is one bench call, as the load side sees it.
type leg struct {
	i        int
	phone    *voicetest.PhoneCall
	browser  *voicetest.Browser
	accepted time.Time
	talking  atomic.Bool // the operator's browser is connected and sending
}

// connectTimeout bounds one operator's ICE and DTLS once answered.
const connectTimeout = 30 * time.Second

// runLoad runs the load against srv and measures; srv's counters are
// added by srv.finish, which also hangs the calls up before the phone and
// the browsers go.
func runLoad(ctx context.Context, cfg Config, srv server) (*Result, error) {
	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		return nil, err
	}
	defer ph.Close()
	toOperator, toCallee := newTally(cfg.Calls), newTally(cfg.Calls)
	base, err := startBaseline(ctx, srv, max(cfg.Baseline, 0))
	if err != nil {
		return nil, err
	}
	defer base.close()
	legs := make([]*leg, cfg.Calls)
	defer func() {
		for _, l := range legs {
			if l != nil && l.browser != nil {
				l.browser.Close()
			}
		}
	}()

	// Parley dials every call; each phone starts talking at once (the
	// callee waits on hold audio in real life; here the bench's clock
	// starts). Calls are answered in order of their INVITEs: each phone
	// call is paired with its leg by the number dialled.
	answered := make(chan error, 1)
	go func() {
		for range cfg.Calls {
			pc, err := ph.Next(ctx)
			if err != nil {
				answered <- err
				return
			}
			var i int
			if _, err := fmt.Sscan(pc.User, &i); err != nil || i < 1000 || i >= 1000+cfg.Calls || legs[i-1000] != nil {
				answered <- fmt.Errorf("phone call for %q: not a bench number", pc.User)
				return
			}
			legs[i-1000] = &leg{i: i - 1000, phone: pc}
		}
		answered <- nil
	}()
	if err := srv.dial(ctx, ph.Port, cfg.Calls); err != nil {
		return nil, err
	}
	if err := <-answered; err != nil {
		return nil, err
	}
	for _, l := range legs {
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
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Accepts)
	for _, l := range legs {
		g.Go(func() error { return accept(gctx, srv, l, toOperator) })
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
	if err := srv.window(ctx); err != nil {
		return nil, err
	}
	mark, rcvbuf := markRuntime(), udpRcvbufErrors()
	from := time.Now()
	to := from.Add(cfg.Duration)
	toOperator.window(from, to)
	toCallee.window(from, to)
	base.tally.window(from, to)
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	load, rcvbufAfter := mark.since(), udpRcvbufErrors()
	select {
	case <-time.After(drainAfterTalks):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	stopTalk()
	<-talkDone

	res := &Result{Calls: cfg.Calls, Window: cfg.Duration, ToOperator: toOperator.direction(), ToCallee: toCallee.direction(),
		Baseline: base.tally.direction(), Load: load, UDPRcvbufErrors: -1}
	if rcvbuf >= 0 && rcvbufAfter >= 0 {
		res.UDPRcvbufErrors = rcvbufAfter - rcvbuf
	}
	var toOp, toCal []time.Duration
	for _, l := range legs {
		toOp = append(toOp, time.Unix(0, toOperator.first[l.i].Load()).Sub(l.accepted))
		toCal = append(toCal, time.Unix(0, toCallee.first[l.i].Load()).Sub(l.accepted))
	}
	slices.Sort(toOp)
	slices.Sort(toCal)
	res.FirstAudioToOperatorP50, res.FirstAudioToOperatorP99 = quantile(toOp, 0.5), quantile(toOp, 0.99)
	res.FirstAudioToCalleeP50, res.FirstAudioToCalleeP99 = quantile(toCal, 0.5), quantile(toCal, 0.99)
	if res.ServerStats, err = srv.finish(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

// accept is one operator taking a call: the browser's offer, Parley's
// answer and bridge; the browser talks once connected.
func accept(ctx context.Context, srv server, l *leg, toOperator *tally) error {
	l.accepted = time.Now()
	b, offer, err := voicetest.NewBrowser(ctx, false)
	if err != nil {
		return err
	}
	l.browser = b
	b.OnPacket(func(p *pionrtp.Packet, at time.Time) { toOperator.arrived(p.Payload, at) })
	answer, err := srv.answer(ctx, l.i, offer)
	if err != nil {
		return err
	}
	if err := b.Accept(answer); err != nil {
		return err
	}
	select {
	case <-b.Connected():
		l.talking.Store(true)
		return nil
	case <-time.After(connectTimeout):
		return fmt.Errorf("call %d: the operator's peer did not connect in %v", l.i, connectTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// baseline is n streams through bare UDP relays on the server side: the
// talker writes to the relays' sockets, each relay writes on to a
// receiving socket here, whose goroutine tallies the delays. The frames
// thus cross the same processes and runtimes as the bridged calls' do.
type baseline struct {
	tally *tally
	to    []*net.UDPAddr // the relays' sockets
	out   *net.UDPConn   // the talker's socket
	sink  *net.UDPConn
}

func startBaseline(ctx context.Context, srv server, n int) (*baseline, error) {
	b := &baseline{tally: newTally(max(n, 1))}
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	var err error
	if b.out, err = net.ListenUDP("udp", lo); err != nil {
		return nil, err
	}
	if b.sink, err = net.ListenUDP("udp", lo); err != nil {
		b.close()
		return nil, err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			k, _, err := b.sink.ReadFromUDP(buf)
			if err != nil {
				return
			}
			b.tally.arrived(buf[:k], time.Now())
		}
	}()
	if n == 0 {
		return b, nil
	}
	ports, err := srv.relay(ctx, b.sink.LocalAddr().(*net.UDPAddr).Port, n)
	if err != nil {
		b.close()
		return nil, err
	}
	for _, p := range ports {
		b.to = append(b.to, &net.UDPAddr{IP: lo.IP, Port: p})
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
	if b.out != nil {
		b.out.Close()
	}
	if b.sink != nil {
		b.sink.Close()
	}
}
