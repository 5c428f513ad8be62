package realtime

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/events"
)

// Call transfers on the stream (issue 12): a staff or operator connection
// that sent {"type":"subscribe","calls":true} gets {"type":"call_transfer",
// "transfer":{...}} (the v1 CallTransfer) on every change of a transfer it
// may see: staff the company's, an operator the ones that ring for them or
// they talk, and the change that took an offer away from them (moved on,
// taken, ended), so that their console drops it.

// sCallTransfer is the frame type of a transfer's change.
const sCallTransfer = "call_transfer"

type callTransferFrame struct {
	Type     string `json:"type"`
	Transfer any    `json:"transfer"`
}

// indexCalls adds c to its company's call watchers.
func (h *Hub) indexCalls(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.callSubs == nil {
		h.callSubs = map[int64]map[*conn]struct{}{}
	}
	m := h.callSubs[c.p.company]
	if m == nil {
		m = map[*conn]struct{}{}
		h.callSubs[c.p.company] = m
	}
	m[c] = struct{}{}
}

// unindexCalls drops c from the call watchers; h.mu is held.
func (h *Hub) unindexCalls(c *conn) {
	if m := h.callSubs[c.p.company]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(h.callSubs, c.p.company)
		}
	}
}

// dispatchTransfer sends a transfer's change to the connections that
// watch calls and may see it.
func (h *Hub) dispatchTransfer(ev events.Event) {
	var targets []*conn
	h.mu.RLock()
	for c := range h.callSubs[ev.CompanyID] {
		targets = append(targets, c)
	}
	h.mu.RUnlock()
	if len(targets) == 0 {
		return
	}
	id, err := strconv.ParseInt(ev.Subject, 10, 64)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	tr, err := h.Chats.Transfer(ctx, ev.CompanyID, id)
	if err != nil {
		if h.Log != nil {
			h.Log.Warn("realtime: call transfer not read", "transfer_id", id, "error", err)
		}
		return
	}
	op, prev := dataID(ev.Data["operator_id"]), dataID(ev.Data["previous_operator_id"])
	if tr.OperatorID != nil {
		op = *tr.OperatorID
	}
	frame := encode(callTransferFrame{Type: sCallTransfer, Transfer: v1.ToTransfer(tr)})
	for _, c := range targets {
		p := c.p
		if p.company != ev.CompanyID {
			continue
		}
		if p.kind == kindOperator && p.operator != op && p.operator != prev {
			continue
		}
		c.send(frame)
	}
}

// isTransferChange tells the loop which events are transfers' changes.
func isTransferChange(ev events.Event) bool {
	return ev.Type == chat.EventTransferChanged && ev.CompanyID != 0
}

// dataID reads an id of an event's data: an int64 on the node that
// published it, a json.Number when it came from another node through NATS
// (events decodes with UseNumber), a float64 from plain JSON.
func dataID(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case json.Number:
		n, _ := x.Int64()
		return n
	case float64:
		return int64(x)
	}
	return 0
}
