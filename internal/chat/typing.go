package chat

import (
	"context"
	"database/sql"
	"errors"

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
	c, err := getChat(ctx, q, cid, chatID)
	if err != nil {
		return err
	}
	if Final(c.Status) {
		return parley.Errorf(parley.ECONFLICT, "Chat %d has ended.", chatID)
	}
	me, err := callerOperator(ctx, q, cid)
	if err != nil {
		return err
	}
	data := map[string]any{"chat_id": c.ID, "chat_uuid": c.UUID, "sender_type": senderType}
	if me != nil {
		data["sender_type"] = SenderOperator
		data["sender_id"] = *me
	} else if senderType != SenderEndUser && senderType != SenderOperator {
		return parley.FieldError("sender_type", "must be end_user or operator")
	}
	if s.Bus != nil {
		s.Bus.Publish(events.Event{Type: EventTyping, CompanyID: cid, Subject: c.UUID, Data: data, ChatID: c.ID})
	}
	return nil
}

// ProjectByPublicUUID finds a project by its UUID in any company, for the
// public widget API, whose visitors have no company of their own: the
// project's company becomes the tenant of their requests.
func (s *Service) ProjectByPublicUUID(ctx context.Context, id string) (*Project, error) {
	var cid int64
	err := s.DB.Reader().QueryRow(ctx, `SELECT company_id FROM projects WHERE uuid = ?`, id).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Project %s not found.", parley.Clip(id))
	} else if err != nil {
		return nil, err
	}
	return s.ProjectByUUID(parley.WithCaller(ctx, parley.Caller{CompanyID: cid, Role: "end_user"}), id)
}

// LiveChatOf returns the newest chat of a project with the end user that
// has not ended, or nil.
func (s *Service) LiveChatOf(ctx context.Context, projectID, endUserID int64) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	c, err := scanChat(s.DB.Reader().QueryRow(ctx, `SELECT `+chatColumns+` FROM chats
		WHERE company_id = ? AND project_id = ? AND end_user_id = ? AND status IN (?, ?, ?)
		ORDER BY id DESC LIMIT 1`, cid, projectID, endUserID, StatusVA, StatusQueued, StatusAssigned))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// GetOperator returns one operator of the caller's company.
func (s *Service) GetOperator(ctx context.Context, id int64) (*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return s.getOperator(ctx, s.DB.Reader(), cid, id)
}
