package chat

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Sender types of a message.
const (
	SenderEndUser      = "end_user"
	SenderOperator     = "operator"
	SenderVirtualAgent = "virtual_agent"
	SenderSystem       = "system"
)

// ValidSender reports whether s names a sender type.
func ValidSender(s string) bool {
	return s == SenderEndUser || s == SenderOperator || s == SenderVirtualAgent || s == SenderSystem
}

// Message is one turn of a chat. Seq numbers a chat's messages 1, 2, 3...
// without gaps.
type Message struct {
	ID         int64
	UUID       string // the gateway's itemUuid; "" when none was given
	ChatID     int64
	Seq        int
	SenderType string
	SenderID   *int64
	Type       string
	Content    string
	CreatedAt  time.Time
}

// MaxContent bounds a message's text, in characters.
const MaxContent = 10000

// validContent checks a message's text: 1..MaxContent runes, no NUL.
func validContent(s string) error {
	if strings.TrimSpace(s) == "" {
		return parley.FieldError("content", "is required")
	}
	return parley.ValidText("content", s, MaxContent)
}

const messageColumns = `id, chat_id, seq, sender_type, sender_id, type, content, created_at, uuid`

func scanMessage(s store.Scanner) (*Message, error) {
	m := &Message{}
	var created int64
	var item *string
	if err := s.Scan(&m.ID, &m.ChatID, &m.Seq, &m.SenderType, &m.SenderID, &m.Type, &m.Content, &created, &item); err != nil {
		return nil, err
	}
	if item != nil {
		m.UUID = *item
	}
	m.CreatedAt = ms(created)
	return m, nil
}

// ListMessages returns up to limit messages of a chat with seq > afterSeq,
// in seq order. An end-user caller (the widget) gets the messages the end
// user sees (enduserview.go), so that its pages hold no staff notes.
func (s *Service) ListMessages(ctx context.Context, chatID int64, afterSeq, limit int) ([]*Message, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	filter := ""
	if c, _ := parley.CallerFrom(ctx); c.Role == parley.RoleEndUser {
		filter = hiddenSendersSQL
	}
	var out []*Message
	err = s.DB.Read(ctx, func(q store.Querier) error {
		if _, err := s.seenChat(ctx, q, cid, chatID); err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, scanMessage, `SELECT `+messageColumns+` FROM chat_messages
			WHERE chat_id = ? AND company_id = ? AND seq > ?`+filter+` ORDER BY seq LIMIT ?`, chatID, cid, afterSeq, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*Message{}
	}
	return out, nil
}

// PostMessage appends a text message to a chat that has not ended. Its seq
// is the chat's last_seq + 1, taken in the same transaction as the insert:
// the UPDATE locks the chat row, so concurrent posts get 1, 2, 3... An
// operator-role caller posts as its own operator, and its first message to
// a queued chat assigns the chat to it.
func (s *Service) PostMessage(ctx context.Context, chatID int64, senderType, content string) (*Message, error) {
	m, _, err := s.PostMessageWith(ctx, chatID, senderType, content, PostOptions{})
	return m, err
}

// PostOptions extend PostMessage for callers that need more than a plain
// post: a client-chosen item UUID, an idempotency key, a message type, an
// operator named by an API caller.
type PostOptions struct {
	// UUID, when set, names the message item: unique per company. Posting
	// an item that exists returns the stored message (replayed) if it is the
	// same item (chat, sender type and content), and ECONFLICT otherwise.
	UUID string
	// IdempotencyKey, when set, makes the post idempotent within the
	// company (idempotency.go): the first post under the key stores its
	// answer with RequestHash, the caller's digest of the request; a post
	// with the same key and hash answers what the first did, one with
	// another hash is ErrIdempotencyKeyReused.
	IdempotencyKey string
	RequestHash    string
	// Type is the message type: text (default), photo, video.
	Type string
	// FromUserID names the writer for an admin or api caller (the chat
	// platform's from_user_id): the chat's end user id is the end user
	// (the message is then the end user's, whatever the sender type), an
	// operator id an operator who may write in the chat (sight.go: the
	// chat is theirs, or in the queue of their menus, which a message
	// takes). Anything else is EINVALID. 0 for none; operator callers
	// always write as themselves.
	FromUserID int64
}

// PostMessageWith is PostMessage with options. replayed reports that the
// post stored nothing because its item was already stored; a post repeated
// under an idempotency key reports what the first post reported, so that
// its caller answers exactly as it did the first time.
func (s *Service) PostMessageWith(ctx context.Context, chatID int64, senderType, content string, opt PostOptions) (m *Message, replayed bool, err error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, false, err
	}
	if !ValidSender(senderType) {
		return nil, false, parley.FieldError("sender_type", "must be client, operator, virtual_agent or system")
	}
	if err := validContent(content); err != nil {
		return nil, false, err
	}
	if opt.IdempotencyKey, err = validKey(opt.IdempotencyKey, opt.RequestHash); err != nil {
		return nil, false, err
	}
	if opt.Type == "" {
		opt.Type = "text"
	}
	for attempt := 0; ; attempt++ {
		err = s.retry(ctx, func() error {
			return s.write(ctx, cid, func(t *tx) error {
				m, replayed, err = t.postMessage(ctx, chatID, senderType, content, opt)
				return err
			})
		})
		// A concurrent post of the same item won the unique index: read it.
		if opt.UUID != "" && errors.Is(err, store.ErrUnique) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return m, replayed, nil
	}
}

// postMessage is one attempt of PostMessageWith in transaction t.
func (t *tx) postMessage(ctx context.Context, chatID int64, senderType, content string, opt PostOptions) (*Message, bool, error) {
	if opt.IdempotencyKey != "" {
		// The key is claimed first: a concurrent post with the same key
		// waits here for this one to commit, then finds its answer.
		first, err := t.claimKey(ctx, opt.IdempotencyKey, opt.RequestHash)
		if err != nil {
			return nil, false, err
		} else if first != nil {
			return first.message, first.replayed, nil
		}
	}
	m, replayed, err := t.post(ctx, chatID, senderType, content, opt)
	if err != nil {
		return nil, false, err
	}
	if opt.IdempotencyKey != "" {
		if err := t.keepAnswer(ctx, opt.IdempotencyKey, m, replayed); err != nil {
			return nil, false, err
		}
	}
	return m, replayed, nil
}

// post stores the message, or finds the stored item opt.UUID.
func (t *tx) post(ctx context.Context, chatID int64, senderType, content string, opt PostOptions) (*Message, bool, error) {
	g, err := t.sight(ctx)
	if err != nil {
		return nil, false, err
	}
	var me *int64
	if !g.Staff() {
		if senderType != SenderOperator {
			return nil, false, parley.Errorf(parley.EFORBIDDEN, "An operator may only post as sender_type operator.")
		}
		me = &g.Operator
	} else {
		g = nil // staff posts need no sight: every chat is theirs
	}
	if opt.FromUserID != 0 && me == nil {
		if senderType, me, err = t.fromUser(ctx, chatID, opt.FromUserID); err != nil {
			return nil, false, err
		}
	}
	if opt.UUID != "" {
		old, err := scanMessage(t.QueryRow(ctx, `SELECT `+messageColumns+` FROM chat_messages WHERE company_id = ? AND uuid = ?`, t.cid, opt.UUID))
		switch {
		case err == nil:
			if old.ChatID != chatID || old.SenderType != senderType || old.Content != content {
				return nil, false, &parley.Error{Code: parley.ECONFLICT, Message: "Another message with this item UUID already exists.",
					Fields: map[string]string{"uuid": "is taken by another message"}}
			}
			if g != nil {
				c, err := getPostChat(ctx, t.Querier, t.cid, chatID)
				if err != nil {
					return nil, false, err
				}
				if err := g.check(c); err != nil {
					return nil, false, err
				}
			}
			return old, true, nil
		case !errors.Is(err, store.ErrNoRows):
			return nil, false, err
		}
	}
	m, err := t.postNew(ctx, chatID, g, me, senderType, opt.Type, content, opt.UUID)
	return m, false, err
}

// fromUser resolves the from_user_id of an admin or api caller against
// chat chatID: the chat's end user, or an operator who may write in it.
func (t *tx) fromUser(ctx context.Context, chatID, id int64) (sender string, op *int64, err error) {
	c, err := getPostChat(ctx, t.Querier, t.cid, chatID)
	if err != nil {
		return "", nil, err
	}
	if id == c.EndUserID {
		return SenderEndUser, nil, nil
	}
	var one int
	err = t.QueryRow(ctx, `SELECT 1 FROM operators WHERE id = ? AND company_id = ?`, id, t.cid).Scan(&one)
	if errors.Is(err, store.ErrNoRows) {
		return "", nil, parley.FieldError("from_user_id", "%d is neither the chat's end user nor an operator of the company", id)
	} else if err != nil {
		return "", nil, err
	}
	g, err := operatorSight(ctx, t.Querier, t.cid, id, t.now)
	if err != nil {
		return "", nil, err
	}
	if !g.SeesChat(c) {
		return "", nil, parley.FieldError("from_user_id", "operator %d may not write in this chat: it is neither assigned to them nor in the queue of their menus", id)
	}
	return SenderOperator, &id, nil
}

// Statements of a message post (postNew): one UPDATE of the chat row takes
// the message's seq and the message.created event's seq, bumps updated_at
// and, for an end user's message, timeout_at, and returns what the message
// and its event need of the chat. A post whose caller is no operator runs
// it on any live chat; an operator's post reads the chat first, since
// taking a queued chat locks the operator row before the chat row, and then
// requires the status it read.
var postBumpSQL = func() (sqls [2][2]string) {
	for exact := range 2 {
		for timeout := range 2 {
			q := `UPDATE chats SET last_seq = last_seq + 1, event_seq = event_seq + 1, updated_at = ?`
			if timeout == 1 {
				q += `, timeout_at = ?`
			}
			if exact == 1 {
				q += ` WHERE id = ? AND company_id = ? AND status = ?`
			} else {
				q += ` WHERE id = ? AND company_id = ? AND status NOT IN (?, ?, ?)`
			}
			sqls[exact][timeout] = q + ` RETURNING last_seq, event_seq, uuid, status, end_user_id, operator_id, virtual_agent_id`
		}
	}
	return sqls
}()

// postChatColumns are the columns of a chat that a post reads.
const postChatColumns = `id, uuid, company_id, end_user_id, status, operator_id, virtual_agent_id, menu_id`

// getPostChat reads what a post needs of a chat: less than getChat, which
// reads all of it.
func getPostChat(ctx context.Context, q store.Querier, cid, id int64) (*Chat, error) {
	c := &Chat{}
	err := q.QueryRow(ctx, `SELECT `+postChatColumns+` FROM chats WHERE id = ? AND company_id = ?`, id, cid).
		Scan(&c.ID, &c.UUID, &c.CompanyID, &c.EndUserID, &c.Status, &c.OperatorID, &c.VirtualAgentID, &c.MenuID)
	if errors.Is(err, store.ErrNoRows) {
		return nil, chatNotFound(id)
	} else if err != nil {
		return nil, err
	}
	return c, nil
}

// postNew stores a message at the end of a chat that has not ended and
// logs it (see postBumpSQL). me is the posting operator, if any; g the
// caller's sight when it is an operator, who must see the chat.
func (t *tx) postNew(ctx context.Context, chatID int64, g *Sight, me *int64, senderType, typ, content, item string) (*Message, error) {
	var c *Chat
	if me != nil {
		var err error
		if c, err = getPostChat(ctx, t.Querier, t.cid, chatID); err != nil {
			return nil, err
		}
		if g != nil {
			if err := g.check(c); err != nil {
				return nil, err
			}
		}
		if Final(c.Status) {
			return nil, parley.Errorf(parley.ECONFLICT, "Chat %d has ended; no message can be added.", chatID)
		}
		// An operator answering a queued chat takes it. assign locks the
		// operator row before the chat row, the order every writer keeps.
		if c.Status == StatusQueued {
			if err := t.assign(ctx, c, *me, false); err != nil {
				return nil, err
			}
			c.Status, c.OperatorID = StatusAssigned, me
		}
	}
	args := make([]any, 0, 7)
	args = append(args, t.nowMS())
	timeout := 0
	if senderType == SenderEndUser && t.timeout > 0 {
		args, timeout = append(args, t.now.Add(t.timeout).UnixMilli()), 1
	}
	args = append(args, chatID, t.cid)
	exact := 0
	if c != nil {
		args, exact = append(args, c.Status), 1
	} else {
		args = append(args, StatusFinished, StatusDismissed, StatusTimedOut)
	}
	var seq int
	var eventSeq int64
	var chatUUID, status string
	var endUser int64
	var op, va *int64
	err := t.QueryRow(ctx, postBumpSQL[exact][timeout], args...).Scan(&seq, &eventSeq, &chatUUID, &status, &endUser, &op, &va)
	if errors.Is(err, store.ErrNoRows) {
		if c != nil {
			return nil, errRaced // the status read has changed since
		}
		// Missing, ended, or (on PostgreSQL) changed meanwhile: say which.
		if c, err = getPostChat(ctx, t.Querier, t.cid, chatID); err != nil {
			return nil, err
		}
		if Final(c.Status) {
			return nil, parley.Errorf(parley.ECONFLICT, "Chat %d has ended; no message can be added.", chatID)
		}
		return nil, errRaced
	} else if err != nil {
		return nil, err
	}
	if c == nil {
		c = &Chat{ID: chatID, UUID: chatUUID, CompanyID: t.cid, EndUserID: endUser, Status: status, OperatorID: op, VirtualAgentID: va}
	}
	m, err := t.insertMessage(ctx, c, me, seq, senderType, typ, content, item)
	if err != nil {
		return nil, err
	}
	c.EventSeq = eventSeq
	data := messageData(m)
	data["status"] = c.Status
	if err := t.logAt(ctx, c.ID, c.UUID, eventSeq, EventMessageCreated, data); err != nil {
		return nil, err
	}
	return m, nil
}

// appendMessage stores a message at the end of chat c, whose status the
// caller has read in this transaction; errRaced if it changed since.
func (t *tx) appendMessage(ctx context.Context, c *Chat, me *int64, senderType, typ, content, item string) (*Message, error) {
	var seq int
	err := t.QueryRow(ctx, `UPDATE chats SET last_seq = last_seq + 1, updated_at = ?
		WHERE id = ? AND company_id = ? AND status = ? RETURNING last_seq`, t.nowMS(), c.ID, c.CompanyID, c.Status).Scan(&seq)
	if errors.Is(err, store.ErrNoRows) {
		return nil, errRaced
	} else if err != nil {
		return nil, err
	}
	return t.insertMessage(ctx, c, me, seq, senderType, typ, content, item)
}

// insertMessage stores a message at seq, which the caller has taken from
// chat c's last_seq in this transaction.
func (t *tx) insertMessage(ctx context.Context, c *Chat, me *int64, seq int, senderType, typ, content, item string) (*Message, error) {
	sender := senderOf(c, me, senderType)
	var itemCol *string
	if item != "" {
		itemCol = &item
	}
	m := &Message{UUID: item, ChatID: c.ID, Seq: seq, SenderType: senderType, SenderID: sender, Type: typ, Content: content, CreatedAt: t.now}
	if err := t.QueryRow(ctx, `INSERT INTO chat_messages (company_id, chat_id, seq, sender_type, sender_id, type, content, created_at, uuid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.CompanyID, c.ID, seq, senderType, sender, typ, content, t.nowMS(), itemCol).Scan(&m.ID); err != nil {
		return nil, err
	}
	if err := t.trackReply(ctx, c.ID, senderType, typ); err != nil {
		return nil, err
	}
	c.LastSeq = seq
	return m, nil
}

// senderOf is the sender_id of a message of senderType in chat c, posted
// by operator me (nil: the chat's operator, if any).
func senderOf(c *Chat, me *int64, senderType string) *int64 {
	switch senderType {
	case SenderEndUser:
		return &c.EndUserID
	case SenderOperator:
		if me != nil {
			return me
		}
		return c.OperatorID
	case SenderVirtualAgent:
		return c.VirtualAgentID
	}
	return nil
}

// logMessage logs a stored message as a chat event.
func (t *tx) logMessage(ctx context.Context, c *Chat, m *Message) error {
	data := messageData(m)
	data["status"] = c.Status
	return t.log(ctx, c.ID, c.UUID, EventMessageCreated, data)
}

// messageData is a message as chat events carry it.
func messageData(m *Message) map[string]any {
	d := map[string]any{"message_id": m.ID, "seq": m.Seq, "sender_type": m.SenderType, "type": m.Type,
		"content": m.Content, "created_at": m.CreatedAt.Format(time.RFC3339Nano)}
	if m.SenderID != nil {
		d["sender_id"] = *m.SenderID
	}
	if m.UUID != "" {
		d["uuid"] = m.UUID
	}
	return d
}
