package handover

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/voice/bridge"
)

// What an operator does to a transfer over the API. Each asks the chat
// domain first (who may, in which state: a refused request changes
// nothing), then acts on the call when this node holds it.

// Accept answers the operator's WebRTC offer (non-trickle SDP) and takes
// transfer id that rings for them: the call is bridged to the peer. 409
// when it does not ring for them. When another node holds the call the
// accept is relayed there (relay.go): that node answers the offer.
func (s *Service) Accept(ctx context.Context, id int64, offer string) (string, *chat.CallTransfer, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return "", nil, err
	}
	// Company-scoped, not the operator's sight: an operator accepting a
	// colleague's offer is told it does not ring for them (409).
	tr, err := s.Chats.Transfer(ctx, cid, id)
	if err != nil {
		return "", nil, err
	}
	me, ok, err := s.Chats.CallerOperatorID(ctx)
	if err != nil {
		return "", nil, err
	} else if !ok {
		return "", nil, parley.Errorf(parley.EFORBIDDEN, "Only an operator accepts a call.")
	}
	if tr.State != chat.TransferRinging || tr.OperatorID == nil || *tr.OperatorID != me {
		return "", nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is not ringing for you (state %s).", id, tr.State)
	}
	sess := s.sessionOf(tr.CompanyID, id)
	if sess == nil {
		if !s.canRelay(ctx, tr.Node) {
			// Mostly the call stopped waiting between the two reads (the
			// transfer timeout won): say so as the row does.
			if cur, err := s.Chats.Transfer(ctx, cid, id); err == nil && cur.State != chat.TransferRinging {
				return "", nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is not ringing for you (state %s).", id, cur.State)
			}
			return "", nil, notHere(id)
		}
		answer, err := s.relay(ctx, s.RelaySubject(tr.Node), relayRequest{Op: opAccept, ID: id, SDP: offer})
		if err != nil {
			return "", nil, err
		}
		tr, err = s.Chats.Transfer(ctx, cid, id)
		return answer, tr, err
	}
	peer, answer, err := s.RTC.Answer(ctx, offer)
	if err != nil {
		return "", nil, err
	}
	tr, err = s.Chats.AcceptTransfer(ctx, id)
	if err != nil {
		_ = peer.Close()
		return "", nil, err
	}
	// One accept can take the row, and the buffer holds its peer: the
	// send never blocks. Under sess.mu it cannot land after the call's
	// end has looked for it.
	sess.mu.Lock()
	handed := false
	select {
	case <-sess.ended:
	default:
		select {
		case sess.accept <- peer:
			handed = true
		default:
		}
	}
	sess.mu.Unlock()
	if !handed {
		_ = peer.Close()
		return "", nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d ended meanwhile.", id)
	}
	return answer, tr, nil
}

// Decline hands the offer to the next operator.
func (s *Service) Decline(ctx context.Context, id int64) (*chat.CallTransfer, error) {
	tr, err := s.Chats.DeclineTransfer(ctx, id)
	if err != nil {
		return nil, err
	}
	if sess := s.sessionOf(tr.CompanyID, id); sess != nil {
		select {
		case sess.wake <- struct{}{}:
		default:
		}
	}
	return tr, nil
}

// Hangup ends the operator's side of a talking transfer; the callee is
// hung up by the dialer (the script has ended with the call).
func (s *Service) Hangup(ctx context.Context, id int64) (*chat.CallTransfer, error) {
	tr, err := s.Chats.GetTransfer(ctx, id)
	if err != nil {
		return nil, err
	}
	if tr.State != chat.TransferTalking {
		return nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is not talking (state %s).", id, tr.State)
	}
	sess := s.sessionOf(tr.CompanyID, id)
	if sess == nil {
		if !s.canRelay(ctx, tr.Node) {
			return nil, notHere(id)
		}
		return s.relayControl(ctx, relayRequest{Op: opHangup, ID: id, node: tr.Node})
	}
	select {
	case sess.hangup <- struct{}{}:
	default:
	}
	select {
	case <-sess.ended:
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	return s.Chats.GetTransfer(ctx, id)
}

// notHere is the refusal of a request for a call no node can be asked
// about: a single node (no relay) that does not hold it, or a relayed
// request that reached a node which no longer does.
func notHere(id int64) error {
	return parley.Errorf(parley.ECONFLICT, "Call transfer %d is not held by a live node (it has ended or its node is gone).", id)
}

// relayControl relays an in-call control to the node holding the call and
// reads the transfer it left.
func (s *Service) relayControl(ctx context.Context, req relayRequest) (*chat.CallTransfer, error) {
	if _, err := s.relay(ctx, s.RelaySubject(req.node), req); err != nil {
		return nil, err
	}
	return s.Chats.GetTransfer(ctx, req.ID)
}

// talking finds the bridge of talking transfer id on this node. A nil
// bridge without an error: another node holds the call, relay to it.
func (s *Service) talking(ctx context.Context, id int64) (*chat.CallTransfer, *bridge.Bridge, error) {
	tr, err := s.Chats.GetTransfer(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if tr.State != chat.TransferTalking {
		return nil, nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is not talking (state %s).", id, tr.State)
	}
	sess := s.sessionOf(tr.CompanyID, id)
	if sess == nil {
		if !s.canRelay(ctx, tr.Node) {
			return nil, nil, notHere(id)
		}
		return tr, nil, nil
	}
	sess.mu.Lock()
	b := sess.bridge
	sess.mu.Unlock()
	if b == nil {
		return nil, nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is connecting; retry.", id)
	}
	return tr, b, nil
}

// Mute stops (or restarts) sending the operator's voice to the callee.
func (s *Service) Mute(ctx context.Context, id int64, muted bool) (*chat.CallTransfer, error) {
	cur, b, err := s.talking(ctx, id)
	if err != nil {
		return nil, err
	} else if b == nil {
		return s.relayControl(ctx, relayRequest{Op: opMute, ID: id, Flag: muted, node: cur.Node})
	}
	tr, err := s.Chats.ControlTransfer(ctx, id, chat.TransferControl{Muted: &muted})
	if err != nil {
		return nil, err
	}
	b.Mute(muted)
	return tr, nil
}

// Hold puts the callee on hold (they hear hold music) or takes them off.
func (s *Service) Hold(ctx context.Context, id int64, held bool) (*chat.CallTransfer, error) {
	cur, b, err := s.talking(ctx, id)
	if err != nil {
		return nil, err
	} else if b == nil {
		return s.relayControl(ctx, relayRequest{Op: opHold, ID: id, Flag: held, node: cur.Node})
	}
	tr, err := s.Chats.ControlTransfer(ctx, id, chat.TransferControl{Held: &held})
	if err != nil {
		return nil, err
	}
	if held {
		b.Hold(bridge.HoldMusic())
	} else {
		b.Resume()
	}
	return tr, nil
}

// MaxDTMF bounds the digits of one DTMF request.
const MaxDTMF = 32

// DTMF sends digits to the callee.
func (s *Service) DTMF(ctx context.Context, id int64, digits string) (*chat.CallTransfer, error) {
	if digits == "" || len(digits) > MaxDTMF || strings.Trim(strings.ToUpper(digits), "0123456789*#ABCD") != "" {
		return nil, parley.FieldError("digits", "must be 1-%d of 0-9, *, #, A-D", MaxDTMF)
	}
	tr, b, err := s.talking(ctx, id)
	if err != nil {
		return nil, err
	} else if b == nil {
		return s.relayControl(ctx, relayRequest{Op: opDTMF, ID: id, Digits: digits, node: tr.Node})
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.SendDTMF(dctx, digits); err != nil {
		return nil, err
	}
	return tr, nil
}

// Disposition stores the operator's disposition on the transfer and in
// the call's statistics.
func (s *Service) Disposition(ctx context.Context, id int64, d chat.Disposition) (*chat.CallTransfer, error) {
	tr, err := s.Chats.SetDisposition(ctx, id, d)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(tr.Disposition)
	if err := s.Dialogs.SetTransferDisposition(ctx, tr.CompanyID, tr.CallUUID, string(b)); err != nil {
		return nil, err
	}
	return tr, nil
}
