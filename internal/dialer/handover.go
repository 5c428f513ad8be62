package dialer

import (
	"context"
	"time"

	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/script"
)

// Handover hands answered calls to humans (internal/handover implements
// it; the server wires it). Nil: s.transfer() ends the call as it always
// did, with a "transfer" turn.
type Handover interface {
	// Transfer runs s.transfer() on call c: the callee waits on hold while
	// the offer rings for operators; when one accepts, the call is bridged
	// to them until either side hangs up. took ends the script (a human
	// took the call, stats then set; or the callee hung up meanwhile);
	// turns are the transcript turns it added.
	Transfer(ctx context.Context, c *HandoverCall, req script.TransferRequest) (took bool, stats *outbound.TransferStats, turns []outbound.NewTurn, err error)
	// Live registers an answered call for the supervisor's live view and
	// listening, until done is called.
	Live(c *HandoverCall) (done func())
}

// HandoverCall is an answered call as the handover sees it.
type HandoverCall struct {
	Attempt  *outbound.Attempt
	Conn     Conn
	Entities map[string]string
	Answered time.Time
	// Turns is the call's transcript so far (read it only from the call's
	// goroutine: Transfer runs there).
	Turns *[]outbound.NewTurn
}

// handoverHost is the script's view of a call that can be handed over.
type handoverHost struct {
	*transcriptHost
	h    Handover
	call *HandoverCall
	// stats is set once a human took the call.
	stats *outbound.TransferStats
}

func (h *handoverHost) Transfer(ctx context.Context, req script.TransferRequest) (bool, error) {
	h.add("transfer", map[string]any{"reason": req.Reason, "to": req.To})
	took, st, turns, err := h.h.Transfer(ctx, h.call, req)
	*h.turns = append(*h.turns, turns...)
	if err != nil {
		return false, err
	}
	h.stats = st
	return took, nil
}
