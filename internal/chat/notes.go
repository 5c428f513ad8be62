package chat

import (
	"context"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Internal notes are what staff write about a chat for one another. They
// are not messages: they live in chat_notes, never in chat_messages, so no
// read of a chat's messages (the widget's, the end user's stream, the
// gateway's) can carry one, and their event type (note.created) is not one
// an end user receives (enduserview.go) nor one a webhook is sent
// (StaffOnlyEvent). Operators who see the chat get them live.

// EventNoteCreated: a note was added to a chat (kind note or transfer).
const EventNoteCreated = "note.created"

// StaffOnlyEvent reports whether events of type typ stay with the
// company's staff: not for end users, not for webhooks (which companies
// point at their end users' channels).
func StaffOnlyEvent(typ string) bool { return typ == EventNoteCreated }

// Note kinds.
const (
	NoteNote     = "note"
	NoteTransfer = "transfer" // the note a transfer carried
)

// Note is one internal note of a chat.
type Note struct {
	ID         int64
	ChatID     int64
	OperatorID *int64 // the author's operator; nil for admin and api users
	UserID     *int64
	Kind       string
	Content    string
	CreatedAt  time.Time
}

// MaxNotesPerChat bounds the notes of one chat.
const MaxNotesPerChat = 1000

// AddNote adds an internal note to a chat the caller sees (ended chats
// too: a supervisor's remark after the fact).
func (s *Service) AddNote(ctx context.Context, chatID int64, content string) (*Note, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := validContent(content); err != nil {
		return nil, err
	}
	var n *Note
	err = s.write(ctx, cid, func(t *tx) error {
		c, g, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		n, err = t.addNote(ctx, c, g, NoteNote, content)
		return err
	})
	return n, err
}

// addNote stores a note of chat c by the caller (sight g) and logs it.
func (t *tx) addNote(ctx context.Context, c *Chat, g *Sight, kind, content string) (*Note, error) {
	var count int
	if err := t.QueryRow(ctx, `SELECT COUNT(*) FROM chat_notes WHERE chat_id = ?`, c.ID).Scan(&count); err != nil {
		return nil, err
	}
	if count >= MaxNotesPerChat {
		return nil, parley.Errorf(parley.ECONFLICT, "Chat %d has %d notes, the most a chat may hold.", c.ID, MaxNotesPerChat)
	}
	n := &Note{ChatID: c.ID, Kind: kind, Content: content, CreatedAt: t.now}
	if !g.Staff() {
		op := g.Operator
		n.OperatorID = &op
	}
	if g.UserID != 0 {
		u := g.UserID
		n.UserID = &u
	}
	if err := t.QueryRow(ctx, `INSERT INTO chat_notes (company_id, chat_id, operator_id, user_id, kind, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, t.cid, c.ID, n.OperatorID, n.UserID, kind, content, t.nowMS()).Scan(&n.ID); err != nil {
		return nil, err
	}
	data := map[string]any{"note_id": n.ID, "kind": kind, "content": content}
	if n.OperatorID != nil {
		data["operator_id"] = *n.OperatorID
	}
	return n, t.log(ctx, c.ID, c.UUID, EventNoteCreated, data)
}

// ListNotes returns the notes of a chat the caller sees, oldest first.
func (s *Service) ListNotes(ctx context.Context, chatID int64) ([]*Note, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Note
	err = s.DB.Read(ctx, func(q store.Querier) error {
		if _, err := s.seenChat(ctx, q, cid, chatID); err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, func(r store.Scanner) (*Note, error) {
			n := &Note{}
			var created int64
			err := r.Scan(&n.ID, &n.ChatID, &n.OperatorID, &n.UserID, &n.Kind, &n.Content, &created)
			n.CreatedAt = ms(created)
			return n, err
		}, `SELECT id, chat_id, operator_id, user_id, kind, content, created_at FROM chat_notes
			WHERE chat_id = ? AND company_id = ? ORDER BY id LIMIT ?`, chatID, cid, MaxNotesPerChat)
		return err
	})
	if out == nil && err == nil {
		out = []*Note{}
	}
	return out, err
}

// Transfer moves a chat to a named operator or to another menu's queue,
// with an optional note for whoever gets it.
type Transfer struct {
	OperatorID int64
	MenuID     int64
	Note       string
}

// TransferChat hands a live chat (queued or assigned) to another operator
// of the company (assigned to them at once, within their capacity; they
// must not be offline) or to another menu (queued there, for the router),
// in one transaction with its note. Like every action on a chat, it is
// open to whoever sees the chat (sight.go): an operator transfers the
// chats assigned to them and the queue of their menus.
func (s *Service) TransferChat(ctx context.Context, chatID int64, tr Transfer) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if (tr.OperatorID == 0) == (tr.MenuID == 0) {
		return nil, parley.Errorf(parley.EINVALID, "Name either operator_id or menu_id.")
	}
	if tr.Note != "" {
		if err := parley.ValidText("note", tr.Note, MaxContent); err != nil {
			return nil, err
		}
	}
	err = s.retry(ctx, func() error {
		return s.write(ctx, cid, func(t *tx) error {
			c, g, err := t.seenChat(ctx, chatID)
			if err != nil {
				return err
			}
			if c.Status != StatusQueued && c.Status != StatusAssigned {
				return parley.Errorf(parley.ECONFLICT, "Chat %d is %s: only a queued or assigned chat is transferred.", c.ID, c.Status)
			}
			if tr.OperatorID != 0 {
				err = t.transferToOperator(ctx, c, tr.OperatorID)
			} else {
				err = t.transferToMenu(ctx, c, tr.MenuID)
			}
			if err != nil || tr.Note == "" {
				return err
			}
			_, err = t.addNote(ctx, c, g, NoteTransfer, tr.Note)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return s.readChat(ctx, chatID)
}

func (t *tx) transferToOperator(ctx context.Context, c *Chat, op int64) error {
	if c.OperatorID != nil && *c.OperatorID == op && c.Status == StatusAssigned {
		return parley.FieldError("operator_id", "the chat is already assigned to operator %d", op)
	}
	// Both operators' rows are written (the old one's load, the new
	// one's): lock them in id order, so two crossing transfers queue
	// instead of deadlocking.
	locks := []int64{op}
	if c.OperatorID != nil && c.Status == StatusAssigned {
		locks = append(locks, *c.OperatorID)
		if locks[1] < locks[0] {
			locks[0], locks[1] = locks[1], locks[0]
		}
	}
	for _, id := range locks {
		if err := lockOperator(ctx, t.Querier, t.cid, id); err != nil {
			return err
		}
	}
	o, err := getOperator(ctx, t.Querier, t.cid, op)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return &parley.Error{Code: parley.ENOTFOUND, Message: "Operator not found.", Fields: map[string]string{"operator_id": "no such operator"}}
	} else if err != nil {
		return err
	}
	if o.Status == "offline" {
		return parley.Errorf(parley.ECONFLICT, "%s is offline: transfer to an operator who is online or busy.", o.Name)
	}
	if o.Load >= o.Capacity {
		return parley.Errorf(parley.ECONFLICT, "%s is at capacity (%d chats).", o.Name, o.Capacity)
	}
	return t.assign(ctx, c, op, false)
}

func (t *tx) transferToMenu(ctx context.Context, c *Chat, menu int64) error {
	if _, err := getMenu(ctx, t.Querier, t.cid, menu); err != nil {
		return err
	}
	if c.Status == StatusAssigned && c.OperatorID != nil {
		if err := t.release(ctx, *c.OperatorID); err != nil {
			return err
		}
	}
	if err := t.setStatus(ctx, c, StatusQueued, nil, `queued_at = ?, menu_id = ?`, t.nowMS(), menu); err != nil {
		return err
	}
	d := statusData(c, StatusQueued, nil)
	d["reason"] = "transferred"
	d["menu_id"] = menu // whose queue it joins: the stream's operators need it
	return t.log(ctx, c.ID, c.UUID, EventChatStatus, d)
}
