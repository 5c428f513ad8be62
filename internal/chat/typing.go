package chat

import (
	"context"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
)

// EventTyping is an ephemeral chat event: someone is typing in a chat. It is
// published on the bus only, never logged: it has no seq, is not replayed
// to a resuming client and is not delivered to webhooks.
const EventTyping = "typing"

// Typing publishes a typing event of a live chat of the caller's company.
// An operator-role caller types as its own operator (sender_type operator
// with sender_id); other callers name the sender type (end_user for the
// widget, operator for integrations).
func (s *Service) Typing(ctx context.Context, chatID int64, senderType string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	q := s.DB.Reader()
	g, err := sightOf(ctx, q, cid, s.now())
	if err != nil {
		return err
	}
	c, err := g.chat(ctx, q, chatID)
	if err != nil {
		return err
	}
	if Final(c.Status) {
		return parley.Errorf(parley.ECONFLICT, "Chat %d has ended.", chatID)
	}
	data := map[string]any{"chat_id": c.ID, "chat_uuid": c.UUID, "sender_type": senderType}
	if !g.Staff() {
		data["sender_type"] = SenderOperator
		data["sender_id"] = g.Operator
	} else if senderType != SenderEndUser && senderType != SenderOperator {
		return parley.FieldError("sender_type", "must be end_user or operator")
	}
	if s.Bus != nil {
		s.Bus.Publish(events.Event{Type: EventTyping, CompanyID: cid, Subject: c.UUID, Data: data, ChatID: c.ID})
	}
	return nil
}
