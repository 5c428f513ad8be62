package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	pionrtp "github.com/pion/rtp"
	"golang.org/x/sync/errgroup"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/trunk"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/voicetest"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

// The operator's accept over HTTP to first audio, through the whole
// server: a fresh database, a SIP trunk to an in-process phone
// (voicetest.Phone, RTP over loopback), an agent whose script transfers
// at once, and one operator per call, online, with an in-process pion
// peer (voicetest.Browser) as its browser. Each operator waits for the
// call offered to it (GET /v1/call-transfers?state=live), makes its
// offer, and the clock starts as it sends POST /v1/call-transfers/{id}/
// accept; first audio is the first frame of the other party each side
// receives (the frames carry a marker: the callee hears hold audio
// before). The accepts run concurrently, as operators answer a burst.

// acceptMark starts every frame the bench's parties send (PCMU crosses
// the bridge byte for byte); hold audio never carries it.
const acceptMark = 0x50524c41 // "PRLA"

// acceptResult is the HTTP accept measurement.
type acceptResult struct {
	Calls                      int     `json:"calls"`
	AcceptHTTPP50Ms            float64 `json:"accept_http_p50_ms"`
	AcceptHTTPP99Ms            float64 `json:"accept_http_p99_ms"`
	FirstAudioToOperatorP50Ms  float64 `json:"first_audio_to_operator_p50_ms"`
	FirstAudioToOperatorP99Ms  float64 `json:"first_audio_to_operator_p99_ms"`
	FirstAudioToCalleeP50Ms    float64 `json:"first_audio_to_callee_p50_ms"`
	FirstAudioToCalleeP99Ms    float64 `json:"first_audio_to_callee_p99_ms"`
	FirstAudioBothWaysP99Ms    float64 `json:"first_audio_both_ways_p99_ms"`
	OfferedToAcceptSentP50Ms   float64 `json:"offered_to_accept_sent_p50_ms"`
	acceptHTTP, toOp, toCallee []time.Duration
}

// benchAccept runs n calls through the server and measures the accepts.
func benchAccept(ctx context.Context, n int) (*acceptResult, error) {
	ph, err := voicetest.StartPhone(g711.ULaw)
	if err != nil {
		return nil, err
	}
	defer ph.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	b, err := openDialogBench(ctx, "", freshDB, func(c *server.Config) {
		c.WebRTC = webrtc.Config{Loopback: true, LocalIPs: []netip.Addr{lo}, MaxPeers: n + 10}
		c.TrunkAllowPrivate = true
	})
	if err != nil {
		return nil, err
	}
	defer b.close()
	if _, err := b.srv.Trunks.Create(b.admin, trunk.NewTrunk{Name: "bench", Host: "127.0.0.1", Port: ph.Port, RingTimeout: 10}); err != nil {
		return nil, err
	}
	a, err := b.srv.Agents.Create(b.admin, agent.NewAgent{Name: "Bench transfers", TrunkName: "bench", Language: "en-US"})
	if err != nil {
		return nil, err
	}
	ext, q := "/api/v2/ext", "?agent_uuid="+a.UUID
	for _, c := range []struct {
		path string
		body any
	}{
		{"/agent-settings/general", map[string]any{"total_channel_limit": n, "routing_channel_limit": n}},
		{"/agent-settings/transfer", map[string]any{"menu_id": nil, "hold_prompt": "", "ring_timeout_seconds": 120, "transfer_timeout_seconds": 300}},
		{"/agent-settings/script", map[string]any{"name": "main", "source": "def main(s):\n    if s.transfer(\"bench\"):\n        return\n    s.hangup()\n"}},
	} {
		if err := b.do(ctx, "PUT", ext+c.path+q, c.body, nil); err != nil {
			return nil, err
		}
	}

	// One operator a call, online.
	caller, _ := parley.CallerFrom(b.admin)
	company := caller.CompanyID
	ops := make([]*benchOperator, n)
	for i := range ops {
		login, password := fmt.Sprintf("op%d-%s", i, uuid.NewString()[:8]), uuid.NewString()
		if _, err := b.srv.Users.CreateUser(ctx, company, login, password, parley.RoleOperator); err != nil {
			return nil, err
		}
		tok, err := benchLogin(ctx, b.client, b.base, login, password)
		if err != nil {
			return nil, err
		}
		op := &benchOperator{b: b, token: tok}
		var me struct {
			ID int64 `json:"operator_id"`
		}
		if err := op.do(ctx, "GET", "/v1/operators/me", nil, &me); err != nil {
			return nil, err
		}
		op.id = me.ID
		if err := op.do(ctx, "PATCH", fmt.Sprintf("/v1/operators/%d", me.ID), map[string]any{"status": "online"}, nil); err != nil {
			return nil, err
		}
		ops[i] = op
	}

	// The callees: every answered call talks (marked frames) from the
	// start and notes the first marked frame it hears.
	var mu sync.Mutex
	heardAt := map[uint32]time.Time{} // by the operator's index in the frame
	talk, stop := context.WithCancel(ctx)
	var talkers sync.WaitGroup
	defer func() { stop(); talkers.Wait() }() // on every return: the talkers end with talk
	talkers.Add(1)                            // the answering loop too, so that its Adds never race Wait
	go func() {
		defer talkers.Done()
		for i := 0; ; i++ {
			pc, err := ph.Next(talk)
			if err != nil {
				return
			}
			pc.OnPacket(func(pkt *pionrtp.Packet, at time.Time) {
				if len(pkt.Payload) >= 8 && binary.BigEndian.Uint32(pkt.Payload) == acceptMark {
					op := binary.BigEndian.Uint32(pkt.Payload[4:])
					mu.Lock()
					if _, ok := heardAt[op]; !ok {
						heardAt[op] = at
					}
					mu.Unlock()
				}
			})
			talkers.Add(1)
			go func() {
				defer talkers.Done()
				sendMarked(talk, pc.Send, 1<<31|uint32(i))
			}()
		}
	}()
	for i := range n {
		if err := b.do(ctx, "POST", ext+"/dialog/dialog-initial"+q, map[string]any{"msisdn": fmt.Sprint(5550000 + i)}, nil); err != nil {
			return nil, err
		}
	}

	// The operators: wait for the offer, accept over HTTP, hear the
	// callee, talk.
	res := &acceptResult{Calls: n}
	var resMu sync.Mutex
	var offeredToSent []time.Duration
	g, gctx := errgroup.WithContext(ctx)
	for i, op := range ops {
		g.Go(func() error {
			id, offered, err := op.waitOffer(gctx)
			if err != nil {
				return fmt.Errorf("operator %d: %w", i, err)
			}
			br, offer, err := voicetest.NewBrowser(gctx, false)
			if err != nil {
				return err
			}
			defer br.Close()
			var opHeard atomic.Int64
			br.OnPacket(func(pkt *pionrtp.Packet, at time.Time) {
				if len(pkt.Payload) >= 8 && binary.BigEndian.Uint32(pkt.Payload) == acceptMark {
					opHeard.CompareAndSwap(0, at.UnixNano())
				}
			})
			sent := time.Now()
			var acc struct {
				SDP string `json:"sdp"`
			}
			if err := op.do(gctx, "POST", fmt.Sprintf("/v1/call-transfers/%d/accept", id), map[string]any{"sdp": offer}, &acc); err != nil {
				return fmt.Errorf("operator %d: %w", i, err)
			}
			answered := time.Now()
			if err := br.Accept(acc.SDP); err != nil {
				return err
			}
			go sendMarked(gctx, br.Send, uint32(i))
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				calleeAt, ok := heardAt[uint32(i)]
				mu.Unlock()
				if ok && opHeard.Load() != 0 {
					resMu.Lock()
					res.acceptHTTP = append(res.acceptHTTP, answered.Sub(sent))
					res.toOp = append(res.toOp, time.Unix(0, opHeard.Load()).Sub(sent))
					res.toCallee = append(res.toCallee, calleeAt.Sub(sent))
					offeredToSent = append(offeredToSent, sent.Sub(offered))
					resMu.Unlock()
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("operator %d: no audio both ways 30 s after the accept (callee heard: %v, operator heard: %v)",
						i, ok, opHeard.Load() != 0)
				}
				select {
				case <-gctx.Done():
					return gctx.Err()
				case <-time.After(2 * time.Millisecond):
				}
			}
		})
	}
	err = g.Wait()
	stop()
	if err != nil {
		return nil, err
	}
	q50 := func(d []time.Duration) float64 { slices.Sort(d); return ms(quantileOf(d, 0.50)) }
	q99 := func(d []time.Duration) float64 { slices.Sort(d); return ms(quantileOf(d, 0.99)) }
	res.AcceptHTTPP50Ms, res.AcceptHTTPP99Ms = q50(res.acceptHTTP), q99(res.acceptHTTP)
	res.FirstAudioToOperatorP50Ms, res.FirstAudioToOperatorP99Ms = q50(res.toOp), q99(res.toOp)
	res.FirstAudioToCalleeP50Ms, res.FirstAudioToCalleeP99Ms = q50(res.toCallee), q99(res.toCallee)
	res.FirstAudioBothWaysP99Ms = max(res.FirstAudioToOperatorP99Ms, res.FirstAudioToCalleeP99Ms)
	res.OfferedToAcceptSentP50Ms = q50(offeredToSent)
	return res, nil
}

func quantileOf(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// sendMarked sends a marked 20 ms PCMU frame (mark, who, then μ-law
// silence) every 20 ms until ctx ends.
func sendMarked(ctx context.Context, send func([]byte) error, who uint32) {
	frame := make([]byte, 160)
	for i := range frame {
		frame[i] = 0xFF
	}
	binary.BigEndian.PutUint32(frame, acceptMark)
	binary.BigEndian.PutUint32(frame[4:], who)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		_ = send(frame)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// benchOperator is one operator's HTTP side.
type benchOperator struct {
	b     *dialogBench
	token string
	id    int64
}

func (o *benchOperator) do(ctx context.Context, method, path string, body, out any) error {
	c := *o.b // the same server and client, this operator's token
	c.token = o.token
	return c.do(ctx, method, path, body, out)
}

// waitOffer polls the live transfers until one rings for this operator;
// it returns its id and when it was first seen ringing.
func (o *benchOperator) waitOffer(ctx context.Context) (int64, time.Time, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var list struct {
			Items []struct {
				ID         int64  `json:"id"`
				State      string `json:"state"`
				OperatorID *int64 `json:"operator_id"`
			} `json:"items"`
		}
		if err := o.do(ctx, "GET", "/v1/call-transfers?state=live", nil, &list); err != nil {
			return 0, time.Time{}, err
		}
		for _, it := range list.Items {
			if it.State == "ringing" && it.OperatorID != nil && *it.OperatorID == o.id {
				return it.ID, time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, time.Time{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return 0, time.Time{}, errors.New("no call offered within 60 s")
}
