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
// when it does not ring for them, or when another node holds the call.
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
		return "", nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is held by another node; accept it there.", id)
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
	select {
	case sess.accept <- peer:
	case <-sess.ended:
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
		return nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is held by another node.", id)
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

// talking finds the bridge of talking transfer id on this node.
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
		return nil, nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is held by another node.", id)
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
	_, b, err := s.talking(ctx, id)
	if err != nil {
		return nil, err
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
	_, b, err := s.talking(ctx, id)
	if err != nil {
		return nil, err
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
