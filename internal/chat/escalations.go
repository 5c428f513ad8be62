package chat

import (
	"context"
	"errors"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Escalation is a request to hand a chat from its virtual agent to a human.
type Escalation struct {
	ID                int64
	ChatID            int64
	Reason            string
	Force             bool
	Status            string // queued: waiting for an operator; assigned; ended
	DeflectionChannel string
	CreatedAt         time.Time
}

// EscalationInput is the input of Escalate.
type EscalationInput struct {
	Reason string
	Force  bool
}

// MaxReason bounds an escalation reason or a deflection channel.
const MaxReason = 200

// Escalate hands a chat to the operators of its menu: a chat in va_assigned
// goes to the queue. A chat already queued or assigned is escalated only
// with Force, which puts it back in the queue for another operator.
func (s *Service) Escalate(ctx context.Context, chatID int64, in EscalationInput) (*Escalation, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if in.Reason == "" {
		in.Reason = "unspecified"
	}
	if in.Reason, err = parley.ValidName("reason", in.Reason, MaxReason); err != nil {
		return nil, err
	}
	var id int64
	err = s.retry(ctx, func() error {
		return s.write(ctx, cid, func(t *tx) error {
			c, _, err := t.seenChat(ctx, chatID)
			if err != nil {
				return err
			}
			id, err = t.escalate(ctx, c, in)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return s.getEscalation(ctx, s.DB.Reader(), cid, chatID, id)
}

func (t *tx) escalate(ctx context.Context, c *Chat, in EscalationInput) (int64, error) {
	if Final(c.Status) {
		return 0, parley.Errorf(parley.ECONFLICT, "Chat %d has ended; it cannot be escalated.", c.ID)
	}
	if c.Status != StatusVA && !in.Force {
		return 0, parley.Errorf(parley.ECONFLICT, "Chat %d is already with the operators (%s); use force_escalate to requeue it.", c.ID, c.Status)
	}
	if c.Status == StatusAssigned && c.OperatorID != nil {
		// requeue releases the operator after the chat row is written
		// below: take the operator's lock first, as every writer does.
		if err := lockOperator(ctx, t.Querier, c.CompanyID, *c.OperatorID); err != nil {
			return 0, err
		}
	}
	var id int64
	if err := t.QueryRow(ctx, `INSERT INTO escalations (company_id, chat_id, reason, force_escalate, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.CompanyID, c.ID, in.Reason, in.Force, StatusQueued, t.nowMS(), t.nowMS()).Scan(&id); err != nil {
		return 0, err
	}
	if _, err := t.Exec(ctx, `UPDATE chats SET escalation_id = ? WHERE id = ?`, id, c.ID); err != nil {
		return 0, err
	}
	if err := t.log(ctx, c.ID, c.UUID, EventChatEscalated, map[string]any{"escalation_id": id, "reason": in.Reason, "force": in.Force}); err != nil {
		return 0, err
	}
	if c.Status == StatusQueued {
		return id, nil // forced, but already waiting
	}
	return id, t.requeue(ctx, c, "escalated")
}

// GetEscalation returns an escalation of a chat of the caller's company
// that the caller sees. Its status follows the chat: queued while it
// waits, assigned once an operator has it, or the chat's final status.
func (s *Service) GetEscalation(ctx context.Context, chatID, id int64) (*Escalation, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	q := s.DB.Reader()
	if _, err := s.seenChat(ctx, q, cid, chatID); err != nil {
		return nil, err
	}
	return s.getEscalation(ctx, q, cid, chatID, id)
}

// getEscalation reads an escalation: the answer of a change the caller was
// allowed to make, whether the chat is still in their sight or not.
func (s *Service) getEscalation(ctx context.Context, q store.Querier, cid, chatID, id int64) (*Escalation, error) {
	e := &Escalation{}
	var created int64
	var chatStatus string
	err := q.QueryRow(ctx, `SELECT e.id, e.chat_id, e.reason, e.force_escalate, e.deflection_channel, e.created_at, c.status
		FROM escalations e JOIN chats c ON c.id = e.chat_id
		WHERE e.id = ? AND e.chat_id = ? AND e.company_id = ?`, id, chatID, cid).
		Scan(&e.ID, &e.ChatID, &e.Reason, &e.Force, &e.DeflectionChannel, &created, &chatStatus)
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Escalation %d of chat %d not found.", id, chatID)
	} else if err != nil {
		return nil, err
	}
	e.CreatedAt, e.Status = ms(created), chatStatus
	if chatStatus == StatusVA {
		e.Status = StatusQueued
	}
	return e, nil
}

// UpdateEscalation sets an escalation's deflection channel (the channel the
// customer was offered instead of waiting), which the chat shows too.
func (s *Service) UpdateEscalation(ctx context.Context, chatID, id int64, deflection string) (*Escalation, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if deflection, err = parley.ValidName("deflection_channel", deflection, MaxReason); err != nil {
		return nil, err
	}
	err = s.write(ctx, cid, func(t *tx) error {
		c, _, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		res, err := t.Exec(ctx, `UPDATE escalations SET deflection_channel = ?, updated_at = ? WHERE id = ? AND chat_id = ? AND company_id = ?`,
			deflection, t.nowMS(), id, chatID, cid)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return parley.Errorf(parley.ENOTFOUND, "Escalation %d of chat %d not found.", id, chatID)
		}
		if _, err := t.Exec(ctx, `UPDATE chats SET deflection_channel = ?, updated_at = ? WHERE id = ?`, deflection, t.nowMS(), chatID); err != nil {
			return err
		}
		return t.log(ctx, c.ID, c.UUID, EventEscalationPatch, map[string]any{"escalation_id": id, "deflection_channel": deflection})
	})
	if err != nil {
		return nil, err
	}
	return s.getEscalation(ctx, s.DB.Reader(), cid, chatID, id)
}
