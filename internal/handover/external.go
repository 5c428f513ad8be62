package handover

import (
	"context"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/voice/bridge"
)

// ExternalLine is a call that can reach a third party over its own trunk
// (package sip's Conn): a bridged second call, or a blind REFER where the
// trunk allows it.
type ExternalLine interface {
	bridge.Line
	// DialExternal calls target (a number or a SIP URI) over the call's
	// trunk; the leg ends when that party hangs up; hangup ends it.
	DialExternal(ctx context.Context, target string) (leg bridge.Leg, hangup func(), err error)
	// ReferAllowed reports whether the trunk has the refer option: then
	// Refer hands the callee over and Parley leaves the call.
	ReferAllowed() bool
	Refer(ctx context.Context, target string) error
}

// external hands call c to target over its trunk. It counts against the
// agent's routing_channel_limit like an operator transfer, without an
// operator (no capacity is taken).
func (s *Service) external(ctx context.Context, c *dialer.HandoverCall, to string, limit int, req script.TransferRequest,
	turn func(string, map[string]any), turns func() []outbound.NewTurn) (bool, *outbound.TransferStats, []outbound.NewTurn, error) {
	line, ok := c.Conn.(ExternalLine)
	if !ok {
		turn("transfer_result", map[string]any{"result": chat.TransferFailed, "message": "the call's trunk cannot reach an external party"})
		return false, nil, turns(), nil
	}
	a := c.Attempt.Agent
	lc := s.live(c.Attempt.CallUUID)
	var callID, dialogID int64
	if lc != nil {
		callID, dialogID = lc.callID, lc.dialogID
	}
	tr, err := s.Chats.StartTransfer(ctx, chat.NewTransfer{CompanyID: a.CompanyID, AgentID: a.ID, DialogID: dialogID, CallID: callID,
		CallUUID: c.Attempt.CallUUID, Phone: c.Attempt.MSISDN, Reason: req.Reason, To: to, Limit: limit,
		Initial: c.Entities, Outputs: req.Outputs, Transcript: transcript(*c.Turns), Node: s.Node, Lease: s.lease()})
	if err == chat.ErrTransferLimit {
		turn("transfer_result", map[string]any{"result": chat.TransferLimit})
		return false, nil, turns(), nil
	} else if err != nil {
		return false, nil, turns(), err
	}
	end := func(result string) {
		_, _ = s.Chats.EndTransfer(context.WithoutCancel(ctx), a.CompanyID, tr.ID, result)
	}
	if line.ReferAllowed() {
		if err := line.Refer(ctx, to); err != nil {
			end(chat.TransferFailed)
			turn("transfer_result", map[string]any{"result": chat.TransferFailed, "message": err.Error(), "to": to, "refer": true})
			return false, nil, turns(), nil
		}
		end(chat.TransferOperatorHangup)
		turn("handover", map[string]any{"to": to, "refer": true, "text": "Transferred to " + to + " by REFER.", "speaker": "operator"})
		return true, &outbound.TransferStats{OperatorName: to, Wait: time.Since(tr.CreatedAt)}, turns(), nil
	}
	line.Hold(bridge.HoldMusic())
	started := time.Now()
	leg, hangup, err := line.DialExternal(ctx, to)
	line.Hold(audio.PCM{})
	if err != nil {
		end(chat.TransferFailed)
		turn("transfer_result", map[string]any{"result": chat.TransferFailed, "message": err.Error(), "to": to})
		return false, nil, turns(), nil
	}
	wait := time.Since(started)
	turn("handover", map[string]any{"to": to, "text": "Handed over to " + to + ".", "speaker": "operator"})
	b := bridge.New(line, leg)
	talk := time.Now()
	select {
	case <-b.Done():
	case <-ctx.Done():
	}
	b.Unbridge()
	hangup()
	end(chat.TransferCalleeHangup)
	st := &outbound.TransferStats{OperatorName: to, Wait: wait, Talk: time.Since(talk)}
	turn("transfer_end", map[string]any{"to": to, "wait_seconds": st.Wait.Seconds(), "talk_seconds": st.Talk.Seconds()})
	return true, st, turns(), nil
}
