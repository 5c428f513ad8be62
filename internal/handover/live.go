package handover

import (
	"context"
	"sort"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
)

// LiveCall is an answered call of the caller's company on this node.
type LiveCall struct {
	DialogID, CallID, AgentID int64
	AgentName, Phone          string
	State                     string             // "agent" or "transfer"
	Transfer                  *chat.CallTransfer `json:"-"`
	StartedAt                 time.Time
	CallUUID                  string
}

// localCalls lists company cid's answered calls on this node.
func (s *Service) localCalls(cid int64) []LiveCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var calls []LiveCall
	for uuid, lc := range s.calls {
		if lc.companyID == cid {
			calls = append(calls, LiveCall{DialogID: lc.dialogID, CallID: lc.callID, AgentID: lc.agentID, Phone: lc.c.Attempt.MSISDN,
				State: "agent", StartedAt: lc.started, CallUUID: uuid})
		}
	}
	return calls
}

// remoteCalls asks the other nodes calling company cid's dialogs for
// their answered calls. A node that does not answer (it died: its
// dialogs are recovered soon) is left out.
func (s *Service) remoteCalls(ctx context.Context, cid int64) []LiveCall {
	nodes, err := s.Dialogs.CallingNodes(ctx, cid)
	if err != nil {
		s.log().Warn("live calls: nodes not read", "error", err)
		return nil
	}
	var out []LiveCall
	for _, node := range nodes {
		if node == s.Node {
			continue
		}
		rep, err := s.relayReply(ctx, s.RelaySubject(node), relayRequest{Op: opLive})
		if err != nil {
			continue
		}
		out = append(out, rep.Calls...)
	}
	return out
}

// AgentLoad is an agent's calls in transfer against its limit.
type AgentLoad struct {
	AgentID             int64
	AgentName           string
	InTransfer          int
	RoutingChannelLimit int
}

// LiveCalls lists the company's answered calls on every node (the other
// nodes' through the relay) and its agents' transfers (admin and api
// users only).
func (s *Service) LiveCalls(ctx context.Context) ([]LiveCall, []AgentLoad, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, nil, err
	}
	trs, err := s.Chats.LiveTransfers(ctx) // refuses operators
	if err != nil {
		return nil, nil, err
	}
	byCall := map[string]*chat.CallTransfer{}
	loads := map[int64]*AgentLoad{}
	for _, t := range trs {
		byCall[t.CallUUID] = t
		l := loads[t.AgentID]
		if l == nil {
			l = &AgentLoad{AgentID: t.AgentID, AgentName: t.AgentName}
			loads[t.AgentID] = l
		}
		l.InTransfer++
	}
	calls := s.localCalls(cid)
	if s.Relay != nil && !relayed(ctx) {
		calls = append(calls, s.remoteCalls(ctx, cid)...)
	}
	for i := range calls {
		if t := byCall[calls[i].CallUUID]; t != nil {
			calls[i].State, calls[i].Transfer, calls[i].AgentName = "transfer", t, t.AgentName
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].CallID < calls[j].CallID })
	out := make([]AgentLoad, 0, len(loads))
	for _, l := range loads {
		if _, limit, err := s.Agents.TransferOf(ctx, l.AgentID); err == nil {
			l.RoutingChannelLimit = limit
		}
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AgentID < out[j].AgentID })
	for i := range calls {
		if calls[i].AgentName == "" {
			calls[i].AgentName = s.agentName(ctx, calls[i].AgentID)
		}
	}
	return calls, out, nil
}

func (s *Service) agentName(ctx context.Context, id int64) string {
	n, err := s.Agents.NameOf(ctx, id)
	if err != nil {
		return ""
	}
	return n
}

// tapper is a call whose both sides can be heard (package sip's Conn).
type tapper interface {
	Tap(f func(mix []byte)) (untap func())
}

// Listen answers a supervisor's receive-only offer for call callID of the
// caller's company on this node: the peer hears the callee and whoever
// talks to them (agent, hold audio, operator) until the call or the peer
// ends.
func (s *Service) Listen(ctx context.Context, callID int64, offer string) (string, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return "", err
	}
	// Another company's call is 404 before the caller's role is 403.
	lc := s.liveByCallID(cid, callID)
	if lc == nil {
		node, err := s.Dialogs.CallNode(ctx, cid, callID)
		if err != nil {
			return "", err
		}
		if !s.canRelay(ctx, node) {
			return "", parley.Errorf(parley.ENOTFOUND, "No live call %d on this node.", callID)
		}
		if err := s.Chats.StaffOnly(ctx); err != nil {
			return "", err
		}
		return s.relay(ctx, s.RelaySubject(node), relayRequest{Op: opListen, ID: callID, SDP: offer})
	}
	if err := s.Chats.StaffOnly(ctx); err != nil {
		return "", err
	}
	t, ok := lc.c.Conn.(tapper)
	if !ok {
		return "", parley.Errorf(parley.ECONFLICT, "Call %d cannot be listened to (its trunk has no audio tap).", callID)
	}
	done, _ := lc.c.Conn.(interface{ Done() <-chan struct{} })
	peer, answer, err := s.RTC.AnswerListener(ctx, offer)
	if err != nil {
		return "", err
	}
	untap := t.Tap(peer.SendAudio)
	go func() {
		var callDone <-chan struct{}
		if done != nil {
			callDone = done.Done()
		}
		select {
		case <-peer.Done():
		case <-callDone:
		}
		untap()
		_ = peer.Close()
	}()
	return answer, nil
}

// liveByCallID finds call callID of company cid on this node.
func (s *Service) liveByCallID(cid, callID int64) *liveCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.companyID == cid && c.callID == callID {
			return c
		}
	}
	return nil
}
