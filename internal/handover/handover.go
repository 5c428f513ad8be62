// Package handover hands live calls from the virtual agent to humans
// (issue 12): it runs s.transfer() for the dialer, keeps the callee on
// hold while the offer rings for operators, bridges the call to the
// operator's WebRTC peer when they accept, and carries the operator's
// controls (mute, hold, DTMF, hang-up) to the call. It holds no SQL: the
// transfer's state machine and the operators' capacity are the chat
// domain's (chat.Service: StartTransfer, OfferTransfer, AcceptTransfer...),
// the call's statistics outbound's. What it holds is the node's live
// calls in memory: the SIP (or simulated) line and, once accepted, the
// bridge and the peer. An operator's accept (a supervisor's listen, the
// in-call controls) that reaches another node is relayed to the node
// holding the call over NATS (relay.go; docs/compatibility.md).
package handover

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/voice/bridge"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

// Defaults of Service.
const (
	DefaultLease = 30 * time.Second
	DefaultPoll  = 200 * time.Millisecond
)

// Service is one node's handover. Create it with its fields set; Run
// renews its transfers' leases and sweeps the ones of dead nodes.
type Service struct {
	Chats   *chat.Service
	Agents  *agent.Service
	Dialogs *outbound.Service
	RTC     *webrtc.Engine
	// Synth speaks the agent's hold prompt; nil plays hold music alone.
	Synth audio.Synthesizer
	Log   *slog.Logger
	// Node names this process in the transfers it holds (their lease).
	Node  string
	Lease time.Duration
	// Relay carries requests for calls other nodes hold to them (NATS);
	// nil on a single node, where such a request is refused with 409.
	Relay Relay
	// RelayPrefix is the prefix of the relay's subjects (RelayPrefix of
	// the cluster's events subject).
	RelayPrefix string
	// Poll is how often a waiting call looks at its transfer's state
	// (a decline or an operator going offline on any node).
	Poll time.Duration

	mu    sync.Mutex
	calls map[string]*liveCall // by call UUID

	// expiring, when set (tests), runs as a transfer's timeout fires,
	// before the row decides between it and an accept.
	expiring func(transferID int64)
}

// liveCall is an answered call on this node.
type liveCall struct {
	c         *dialer.HandoverCall
	companyID int64
	agentID   int64
	callID    int64
	dialogID  int64
	started   time.Time
	sess      *session // set while in transfer
}

// session is a call in transfer on this node.
type session struct {
	id, cid int64
	line    bridge.Line
	wake    chan struct{}
	accept  chan *webrtc.Peer
	hangup  chan struct{}
	ended   chan struct{} // closed once the transfer has ended

	mu     sync.Mutex
	bridge *bridge.Bridge
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

// Live registers an answered call (see dialer.Handover).
func (s *Service) Live(c *dialer.HandoverCall) func() {
	lc := &liveCall{c: c, companyID: c.Attempt.Agent.CompanyID, agentID: c.Attempt.Agent.ID, started: c.Answered}
	lc.callID, lc.dialogID, _ = s.Dialogs.CallIDs(context.Background(), c.Attempt.CallUUID)
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]*liveCall{}
	}
	s.calls[c.Attempt.CallUUID] = lc
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.calls, c.Attempt.CallUUID)
		s.mu.Unlock()
	}
}

// Run renews the leases of this node's transfers and ends the ones whose
// node died, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.lease() / 3)
	defer t.Stop()
	for {
		if err := s.Chats.RenewTransfers(ctx, s.Node, s.lease()); err != nil && ctx.Err() == nil {
			s.log().Error("transfer lease renewal", "error", err)
		}
		if n, err := s.Chats.SweepTransfers(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("transfer sweep", "error", err)
		} else if n > 0 {
			s.log().Warn("transfers of a dead node ended as interrupted", "transfers", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Transfer runs s.transfer() on call c (see dialer.Handover).
func (s *Service) Transfer(ctx context.Context, c *dialer.HandoverCall, req script.TransferRequest) (bool, *outbound.TransferStats, []outbound.NewTurn, error) {
	var turns []outbound.NewTurn
	at := func() time.Time { return c.Answered.Add(c.Conn.Elapsed()) }
	turn := func(action string, data map[string]any) {
		turns = append(turns, outbound.NewTurn{Action: action, Data: data, At: at()})
	}
	refuse := func(result, msg string) (bool, *outbound.TransferStats, []outbound.NewTurn, error) {
		turn("transfer_result", map[string]any{"result": result, "message": msg})
		return false, nil, turns, nil
	}
	a := c.Attempt.Agent
	settings, limit, err := s.Agents.TransferOf(ctx, a.ID)
	if err != nil {
		return false, nil, turns, err
	}
	to := strings.TrimSpace(req.To)
	if to == "" {
		to = settings.ExternalTo
	}
	menu := settings.MenuID
	switch {
	case to == "" || to == "operators":
		to = "operators"
	case strings.HasPrefix(to, "menu:"):
		id, err := strconv.ParseInt(strings.TrimPrefix(to, "menu:"), 10, 64)
		if err != nil || id <= 0 {
			return refuse(chat.TransferFailed, "to "+parley.Clip(to)+" names no menu")
		}
		menu = &id
	default:
		return s.external(ctx, c, to, limit, req, turn, func() []outbound.NewTurn { return turns })
	}
	line, ok := c.Conn.(bridge.Line)
	if !ok {
		return refuse(chat.TransferFailed, "the call's trunk cannot bridge audio")
	}
	lc := s.live(c.Attempt.CallUUID)
	if lc == nil {
		return refuse(chat.TransferFailed, "the call is not registered")
	}
	tr, err := s.Chats.StartTransfer(ctx, chat.NewTransfer{CompanyID: a.CompanyID, AgentID: a.ID, DialogID: lc.dialogID, CallID: lc.callID,
		CallUUID: c.Attempt.CallUUID, Phone: c.Attempt.MSISDN, Reason: req.Reason, To: to, MenuID: menu, Limit: limit,
		Initial: c.Entities, Outputs: req.Outputs, Transcript: transcript(*c.Turns), Node: s.Node, Lease: s.lease()})
	if errors.Is(err, chat.ErrTransferLimit) {
		return refuse(chat.TransferLimit, "the agent's routing_channel_limit is reached")
	} else if err != nil {
		return false, nil, turns, err
	}
	sess := &session{id: tr.ID, cid: a.CompanyID, line: line, wake: make(chan struct{}, 1), accept: make(chan *webrtc.Peer, 1),
		hangup: make(chan struct{}, 1), ended: make(chan struct{})}
	s.mu.Lock()
	lc.sess = sess
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		lc.sess = nil
		s.mu.Unlock()
		// A peer an accept handed in after the call stopped waiting
		// (the callee hung up meanwhile) talks to nobody; sess.mu keeps
		// another from coming in after this look (see Accept).
		sess.mu.Lock()
		close(sess.ended)
		select {
		case p := <-sess.accept:
			_ = p.Close()
		default:
		}
		sess.mu.Unlock()
	}()
	line.Hold(bridge.HoldAudio(s.prompt(ctx, settings.HoldPrompt, c.Attempt.Agent.TTS)))
	turn("hold", map[string]any{"transfer_id": tr.ID, "prompt": settings.HoldPrompt})

	peer, result, err := s.wait(ctx, sess, line, settings)
	if err != nil || peer == nil {
		line.Hold(audio.PCM{})
		ended, endErr := s.Chats.EndTransfer(context.WithoutCancel(ctx), a.CompanyID, tr.ID, result)
		if err == nil {
			err = endErr
		}
		if ended != nil {
			turn("transfer_result", map[string]any{"transfer_id": tr.ID, "result": ended.Result, "wait_seconds": ended.Wait().Seconds()})
		}
		// The callee hung up: the run ends with the call, nobody took it.
		return result == chat.TransferCalleeHangup, nil, turns, err
	}
	// Talking: bridged until either side hangs up.
	line.Hold(audio.PCM{})
	b := bridge.New(line, peer)
	sess.mu.Lock()
	sess.bridge = b
	sess.mu.Unlock()
	cur, err := s.Chats.Transfer(ctx, a.CompanyID, tr.ID)
	if err != nil {
		cur = tr
	}
	name := ""
	var opID int64
	if cur.OperatorName != nil {
		name = *cur.OperatorName
	}
	if cur.OperatorID != nil {
		opID = *cur.OperatorID
	}
	turn("handover", map[string]any{"transfer_id": tr.ID, "operator_id": opID, "operator_name": name,
		"text": "Handed over to operator " + name + ".", "speaker": "operator"})
	result = chat.TransferCalleeHangup
	select {
	case <-line.Done():
	case <-peer.Done():
		result = chat.TransferOperatorHangup
	case <-sess.hangup:
		result = chat.TransferOperatorHangup
	case <-ctx.Done():
		result = chat.TransferInterrupted
	}
	b.Unbridge()
	_ = peer.Close()
	ended, err := s.Chats.EndTransfer(context.WithoutCancel(ctx), a.CompanyID, tr.ID, result)
	if err != nil {
		return true, nil, turns, err
	}
	st := &outbound.TransferStats{OperatorID: opID, OperatorName: name, Wait: ended.Wait(), Talk: ended.Talk()}
	turn("transfer_end", map[string]any{"transfer_id": tr.ID, "ended_by": result, "wait_seconds": st.Wait.Seconds(), "talk_seconds": st.Talk.Seconds()})
	return true, st, turns, nil
}

// wait rings operators until one accepts (the peer), the callee hangs up,
// or the agent's transfer timeout passes (result says which).
func (s *Service) wait(ctx context.Context, sess *session, line bridge.Line, set *agent.TransferSettings) (*webrtc.Peer, string, error) {
	poll := s.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	timeout := time.NewTimer(time.Duration(set.Timeout) * time.Second)
	defer timeout.Stop()
	ring := time.Duration(set.RingTimeout) * time.Second
	for {
		tr, err := s.Chats.Transfer(ctx, sess.cid, sess.id)
		if err != nil {
			return nil, chat.TransferFailed, err
		}
		switch tr.State {
		case chat.TransferWaiting:
			if _, err := s.Chats.OfferTransfer(ctx, sess.cid, sess.id); err != nil {
				return nil, chat.TransferFailed, err
			}
		case chat.TransferRinging:
			if tr.OfferedAt != nil && time.Since(*tr.OfferedAt) >= ring && tr.OperatorID != nil {
				if _, err := s.Chats.RingTimeout(ctx, sess.cid, sess.id, *tr.OperatorID); err != nil {
					return nil, chat.TransferFailed, err
				}
				continue
			}
		case chat.TransferEnded:
			return nil, tr.Result, nil
		}
		select {
		case p := <-sess.accept:
			return p, chat.TransferAccepted, nil
		case <-line.Done():
			return nil, chat.TransferCalleeHangup, nil
		case <-timeout.C:
			// The row decides between the timeout and an accept arriving
			// with it: ended here, the accept is refused (409); taken,
			// the accepting request brings its peer at once.
			if s.expiring != nil {
				s.expiring(sess.id)
			}
			tr, err := s.Chats.ExpireTransfer(context.WithoutCancel(ctx), sess.cid, sess.id, chat.TransferTimeout)
			if err != nil {
				return nil, chat.TransferFailed, err
			}
			if tr.State != chat.TransferTalking {
				return nil, tr.Result, nil
			}
			select {
			case p := <-sess.accept:
				return p, chat.TransferAccepted, nil
			case <-line.Done():
				return nil, chat.TransferCalleeHangup, nil
			case <-ctx.Done():
				return nil, chat.TransferInterrupted, ctx.Err()
			}
		case <-ctx.Done():
			return nil, chat.TransferInterrupted, ctx.Err()
		case <-sess.wake:
		case <-tick.C:
		}
	}
}

// prompt synthesises the hold prompt in the agent's voice; none on
// failure (the hold music still plays).
func (s *Service) prompt(ctx context.Context, text, tts string) audio.PCM {
	if text == "" {
		return audio.PCM{}
	}
	synth := s.Synth
	if synth == nil {
		synth = audio.DefaultSynthesizer()
	}
	voice := "en"
	if v, platform, ok := strings.Cut(tts, "@"); ok && platform == "espeak" {
		voice = v
	}
	pcm, err := synth.Synthesize(ctx, text, voice)
	if err != nil {
		s.log().Warn("hold prompt synthesis failed", "error", err)
		return audio.PCM{}
	}
	return pcm
}

// transcript is the call's transcript so far as the operator sees it.
func transcript(turns []outbound.NewTurn) []chat.TransferTurn {
	var out []chat.TransferTurn
	for _, t := range turns {
		d, ok := t.Data.(map[string]any)
		if !ok {
			continue
		}
		text, _ := d["text"].(string)
		if text == "" || (t.Action != "say" && t.Action != "listen") {
			continue
		}
		who := "agent"
		if t.Action == "listen" {
			who = "callee"
		}
		out = append(out, chat.TransferTurn{Who: who, Text: text, At: t.At.UTC()})
	}
	return out
}

func (s *Service) live(callUUID string) *liveCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[callUUID]
}

// sessionOf finds the session of transfer id on this node.
func (s *Service) sessionOf(cid, id int64) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lc := range s.calls {
		if lc.sess != nil && lc.sess.id == id && lc.sess.cid == cid {
			return lc.sess
		}
	}
	return nil
}
