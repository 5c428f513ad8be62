package chat

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// Service manages end users, operators, chats and messages within the
// caller's company. An object of another company is reported as not found,
// exactly like one that does not exist.
type Service struct {
	DB  *store.DB
	Bus *events.Bus // chat events are published here after commit; may be nil
	// OnChange, when set, sees every chat event after commit too: the
	// server wakes the router and the virtual agents with it.
	OnChange func(events.Event)
	// Timeout ends a live chat whose end user has been silent this long
	// (status timed_out); 0 never times chats out.
	Timeout time.Duration
	// OperatorFree, when set, is called when an operator may take more
	// chats (came online, capacity raised): the server wakes the router.
	OperatorFree func()
}

type scanner interface{ Scan(...any) error }

func ms(t int64) time.Time { return time.UnixMilli(t).UTC() }

// ---- End users ----

const endUserColumns = `id, uuid, company_id, identifier, name, email, phone, contact_info, created_at, updated_at`

func scanEndUser(s scanner) (*EndUser, error) {
	u := &EndUser{}
	var created, updated int64
	if err := s.Scan(&u.ID, &u.UUID, &u.CompanyID, &u.Identifier, &u.Name, &u.Email, &u.Phone, &u.ContactInfo, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = ms(created), ms(updated)
	return u, nil
}

// CreateClient adds an end user to the caller's company.
func (s *Service) CreateClient(ctx context.Context, in NewEndUser) (*EndUser, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	name, err := parley.ValidName("name", in.Name, MaxName)
	if err != nil {
		return nil, err
	}
	ident := in.Identifier
	if ident == "" {
		ident = "gen:" + uuid.NewString()
	} else if ident, err = parley.ValidName("identifier", ident, MaxName); err != nil {
		return nil, err
	}
	for field, v := range map[string]string{"email": in.Email, "phone": in.Phone} {
		if err := parley.ValidText(field, v, MaxName); err != nil {
			return nil, err
		}
	}
	if err := parley.ValidText("contact_info", in.ContactInfo, MaxContact); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	now := time.Now().UnixMilli()
	var rowID int64
	err = s.DB.Write(ctx, func(q store.Querier) error {
		err := q.QueryRow(ctx, `INSERT INTO end_users (uuid, company_id, identifier, name, email, phone, contact_info, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, id, cid, ident, name, in.Email, in.Phone, in.ContactInfo, now, now).Scan(&rowID)
		if errors.Is(err, store.ErrUnique) {
			return &parley.Error{Code: parley.ECONFLICT, Message: "A client with this identifier already exists.",
				Fields: map[string]string{"identifier": "is taken"}}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetClient(ctx, rowID)
}

// GetClient returns one end user of the caller's company.
func (s *Service) GetClient(ctx context.Context, id int64) (*EndUser, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	u, err := scanEndUser(s.DB.Reader().QueryRow(ctx, `SELECT `+endUserColumns+` FROM end_users WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Client %d not found.", id)
	}
	return u, err
}

// ---- Messages ----

const messageColumns = `id, chat_id, seq, sender_type, sender_id, type, content, created_at, uuid`

func scanMessage(s scanner) (*Message, error) {
	m := &Message{}
	var sender sql.NullInt64
	var created int64
	var id sql.NullString
	if err := s.Scan(&m.ID, &m.ChatID, &m.Seq, &m.SenderType, &sender, &m.Type, &m.Content, &created, &id); err != nil {
		return nil, err
	}
	m.UUID = id.String
	if sender.Valid {
		m.SenderID = &sender.Int64
	}
	m.CreatedAt = ms(created)
	return m, nil
}

// MaxPage is the most messages ListMessages returns at once.
const MaxPage = 1000

// ListMessages returns up to limit messages of a chat with seq > afterSeq,
// in seq order.
func (s *Service) ListMessages(ctx context.Context, chatID int64, afterSeq, limit int) ([]*Message, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	out := []*Message{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		if _, err := getChat(ctx, q, cid, chatID); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+messageColumns+` FROM chat_messages
			WHERE chat_id = ? AND company_id = ? AND seq > ? ORDER BY seq LIMIT ?`, chatID, cid, afterSeq, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
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

// PostOptions extend PostMessage for adapters that need more than a plain
// post: a client-chosen item UUID, and hooks that run inside the post's
// transaction (the gateway's idempotency keys).
type PostOptions struct {
	// UUID, when set, names the message item: unique per company. Posting
	// an item that exists returns the stored message (replayed) if it is the
	// same item (chat, sender type and content), and ECONFLICT otherwise.
	UUID string
	// Before runs first in the transaction; an error aborts the post.
	Before func(q store.Querier) error
	// After runs last in the transaction with the result.
	After func(q store.Querier, m *Message, replayed bool) error
	// Type is the message type: text (default), photo, video.
	Type string
	// AsOperator posts an operator message on behalf of this operator of
	// the company (API callers naming the sender); 0 for none.
	AsOperator int64
}

// PostMessageWith is PostMessage with options; replayed reports that the
// item already existed and nothing was stored.
func (s *Service) PostMessageWith(ctx context.Context, chatID int64, senderType, content string, opt PostOptions) (m *Message, replayed bool, err error) {
	for attempt := 0; ; attempt++ {
		m, replayed, err = s.postMessage(ctx, chatID, senderType, content, opt)
		// A concurrent post of the same item won the unique index: read it.
		if opt.UUID != "" && errors.Is(err, store.ErrUnique) && attempt < 3 {
			continue
		}
		return m, replayed, err
	}
}

func (s *Service) postMessage(ctx context.Context, chatID int64, senderType, content string, opt PostOptions) (*Message, bool, error) {
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
	typ := opt.Type
	if typ == "" {
		typ = "text"
	}
	var m *Message
	var replayed bool
	err = s.retry(ctx, func() error {
		return s.write(ctx, cid, func(q store.Querier, ch *changes) error {
			m, replayed = nil, false
			if opt.Before != nil {
				if err := opt.Before(q); err != nil {
					return err
				}
			}
			me, err := callerOperator(ctx, q, cid)
			if err != nil {
				return err
			}
			if me != nil && senderType != SenderOperator {
				return parley.Errorf(parley.EFORBIDDEN, "An operator may only post as sender_type operator.")
			}
			if opt.AsOperator != 0 && me == nil {
				var one int
				if err := q.QueryRow(ctx, `SELECT 1 FROM operators WHERE id = ? AND company_id = ?`, opt.AsOperator, cid).Scan(&one); isNoRows(err) {
					return parley.FieldError("from_user_id", "operator %d not found", opt.AsOperator)
				} else if err != nil {
					return err
				}
				me = &opt.AsOperator
			}
			if opt.UUID != "" {
				old, err := scanMessage(q.QueryRow(ctx, `SELECT `+messageColumns+` FROM chat_messages WHERE company_id = ? AND uuid = ?`, cid, opt.UUID))
				switch {
				case err == nil:
					if old.ChatID != chatID || old.SenderType != senderType || old.Content != content {
						return &parley.Error{Code: parley.ECONFLICT, Message: "Another message with this item UUID already exists.",
							Fields: map[string]string{"uuid": "is taken by another message"}}
					}
					m, replayed = old, true
					if opt.After != nil {
						return opt.After(q, m, true)
					}
					return nil
				case !errors.Is(err, sql.ErrNoRows):
					return err
				}
			}
			m, err = s.post(ctx, q, ch, cid, chatID, me, senderType, typ, content, opt.UUID)
			if err != nil {
				return err
			}
			if opt.After != nil {
				return opt.After(q, m, false)
			}
			return nil
		})
	})
	if err != nil {
		return nil, false, err
	}
	return m, replayed, nil
}

// Statements of a message post (post): one UPDATE of the chat row takes the
// message's seq and the message.created event's seq, bumps updated_at and,
// for an end user's message, timeout_at, and returns what the message and
// its event need of the chat. A post whose caller is no operator runs it on
// any live chat; an operator's post reads the chat first, since taking a
// queued chat locks the operator row before the chat row, and then
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
const postChatColumns = `id, uuid, company_id, end_user_id, status, operator_id, virtual_agent_id`

// getPostChat reads what a post needs of a chat: less than getChat, which
// reads all of it.
func getPostChat(ctx context.Context, q store.Querier, cid, id int64) (*Chat, error) {
	c := &Chat{}
	var op, va sql.NullInt64
	err := q.QueryRow(ctx, `SELECT `+postChatColumns+` FROM chats WHERE id = ? AND company_id = ?`, id, cid).
		Scan(&c.ID, &c.UUID, &c.CompanyID, &c.EndUserID, &c.Status, &op, &va)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chatNotFound(id)
	} else if err != nil {
		return nil, err
	}
	c.OperatorID, c.VirtualAgentID = ptr(op), ptr(va)
	return c, nil
}

// post stores a message at the end of a chat that has not ended and logs
// it, in the caller's transaction (see postBumpSQL). me is the posting
// operator, if any.
func (s *Service) post(ctx context.Context, q store.Querier, ch *changes, cid, chatID int64, me *int64, senderType, typ, content, item string) (*Message, error) {
	var c *Chat
	if me != nil {
		var err error
		if c, err = getPostChat(ctx, q, cid, chatID); err != nil {
			return nil, err
		}
		if Final(c.Status) {
			return nil, parley.Errorf(parley.ECONFLICT, "Chat %d has ended; no message can be added.", chatID)
		}
		// An operator answering a queued chat takes it. assign locks the
		// operator row before the chat row, the order every writer keeps.
		if c.Status == StatusQueued {
			if err := assign(ctx, q, ch, c, *me, false); err != nil {
				return nil, err
			}
			c.Status, c.OperatorID = StatusAssigned, me
		}
	}
	now := time.Now().UnixMilli()
	args := make([]any, 0, 7)
	args = append(args, now)
	timeout := 0
	if senderType == SenderEndUser && s.Timeout > 0 {
		args, timeout = append(args, ms(now).Add(s.Timeout).UnixMilli()), 1
	}
	args = append(args, chatID, cid)
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
	var op, va sql.NullInt64
	err := q.QueryRow(ctx, postBumpSQL[exact][timeout], args...).Scan(&seq, &eventSeq, &chatUUID, &status, &endUser, &op, &va)
	if errors.Is(err, sql.ErrNoRows) {
		if c != nil {
			return nil, errRaced // the status read has changed since
		}
		// Missing, ended, or (on PostgreSQL) changed meanwhile: say which.
		if c, err = getPostChat(ctx, q, cid, chatID); err != nil {
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
		c = &Chat{ID: chatID, UUID: chatUUID, CompanyID: cid, EndUserID: endUser, Status: status,
			OperatorID: ptr(op), VirtualAgentID: ptr(va)}
	}
	m, err := insertMessage(ctx, q, c, me, seq, now, senderType, typ, content, item)
	if err != nil {
		return nil, err
	}
	c.EventSeq = eventSeq
	data := messageData(m)
	data["status"] = c.Status
	if err := ch.logAt(ctx, q, c.ID, c.UUID, eventSeq, EventMessageCreated, data); err != nil {
		return nil, err
	}
	return m, nil
}

// appendMessage stores a message at the end of chat c, whose status the
// caller has read in this transaction; errRaced if it changed since.
func appendMessage(ctx context.Context, q store.Querier, c *Chat, me *int64, senderType, typ, content, item string) (*Message, error) {
	now := time.Now().UnixMilli()
	var seq int
	err := q.QueryRow(ctx, `UPDATE chats SET last_seq = last_seq + 1, updated_at = ?
		WHERE id = ? AND company_id = ? AND status = ? RETURNING last_seq`, now, c.ID, c.CompanyID, c.Status).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errRaced
	} else if err != nil {
		return nil, err
	}
	return insertMessage(ctx, q, c, me, seq, now, senderType, typ, content, item)
}

// insertMessage stores a message at seq, which the caller has taken from
// chat c's last_seq in this transaction, sent at now (unix ms).
func insertMessage(ctx context.Context, q store.Querier, c *Chat, me *int64, seq int, now int64, senderType, typ, content, item string) (*Message, error) {
	var sender *int64
	switch senderType {
	case SenderEndUser:
		sender = &c.EndUserID
	case SenderOperator:
		if me != nil {
			sender = me
		} else if c.OperatorID != nil {
			sender = c.OperatorID
		}
	case SenderVirtualAgent:
		sender = c.VirtualAgentID
	}
	var uuidCol sql.NullString
	if item != "" {
		uuidCol = sql.NullString{String: item, Valid: true}
	}
	m := &Message{UUID: item, ChatID: c.ID, Seq: seq, SenderType: senderType, SenderID: sender, Type: typ, Content: content, CreatedAt: ms(now)}
	if err := q.QueryRow(ctx, `INSERT INTO chat_messages (company_id, chat_id, seq, sender_type, sender_id, type, content, created_at, uuid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.CompanyID, c.ID, seq, senderType, sender, typ, content, now, uuidCol).Scan(&m.ID); err != nil {
		return nil, err
	}
	c.LastSeq = seq
	return m, nil
}

// logMessage logs a stored message as a chat event.
func (ch *changes) logMessage(ctx context.Context, q store.Querier, c *Chat, m *Message) error {
	data := messageData(m)
	data["status"] = c.Status
	return ch.log(ctx, q, c.ID, c.UUID, EventMessageCreated, data)
}

// ---- Operators ----

const operatorColumns = `id, user_id, name, first_name, avatar, status, capacity, load, created_at, updated_at`

func scanOperator(s scanner) (*Operator, error) {
	o := &Operator{}
	var user sql.NullInt64
	var created, updated int64
	if err := s.Scan(&o.ID, &user, &o.Name, &o.FirstName, &o.Avatar, &o.Status, &o.Capacity, &o.Load, &created, &updated); err != nil {
		return nil, err
	}
	if user.Valid {
		o.UserID = &user.Int64
	}
	o.CreatedAt, o.UpdatedAt = ms(created), ms(updated)
	return o, nil
}

func validOperatorStatus(s string) error {
	if !ValidOperatorStatus(s) {
		return parley.FieldError("status", "must be online, offline or busy, got %q", parley.Clip(s))
	}
	return nil
}

// CreateOperator adds an operator without a login to the caller's company;
// status defaults to offline.
func (s *Service) CreateOperator(ctx context.Context, name, status string) (*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if name, err = parley.ValidName("name", name, MaxName); err != nil {
		return nil, err
	}
	if status == "" {
		status = OperatorOffline
	}
	if err := validOperatorStatus(status); err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()
	var id int64
	err = s.DB.Write(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `INSERT INTO operators (company_id, name, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, cid, name, status, now, now).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	if status == OperatorOnline && s.OperatorFree != nil {
		s.OperatorFree()
	}
	return s.getOperator(ctx, s.DB.Reader(), cid, id)
}

func (s *Service) getOperator(ctx context.Context, q store.Querier, cid, id int64) (*Operator, error) {
	o, err := scanOperator(q.QueryRow(ctx, `SELECT `+operatorColumns+` FROM operators WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Operator %d not found.", id)
	}
	return o, err
}

// ListOperators returns the company's operators in creation order.
func (s *Service) ListOperators(ctx context.Context) ([]*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Reader().Query(ctx, `SELECT `+operatorColumns+` FROM operators WHERE company_id = ? ORDER BY id`, cid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Operator{}
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OperatorUpdate is a partial change of an operator; nil fields stay.
type OperatorUpdate struct {
	Name     *string
	Status   *string
	Capacity *int
}

// MaxCapacity bounds the chats one operator may hold at once.
const MaxCapacity = 100

// UpdateOperator changes an operator's name or status. An operator-role
// caller may change only its own operator.
func (s *Service) UpdateOperator(ctx context.Context, id int64, u OperatorUpdate) (*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if u.Name == nil && u.Status == nil && u.Capacity == nil {
		return nil, parley.Errorf(parley.EINVALID, "Nothing to change: give name, status or capacity.")
	}
	if u.Capacity != nil && (*u.Capacity < 0 || *u.Capacity > MaxCapacity) {
		return nil, parley.FieldError("capacity", "must be from 0 to %d", MaxCapacity)
	}
	if u.Name != nil {
		n, err := parley.ValidName("name", *u.Name, MaxName)
		if err != nil {
			return nil, err
		}
		u.Name = &n
	}
	if u.Status != nil {
		if err := validOperatorStatus(*u.Status); err != nil {
			return nil, err
		}
	}
	wentOnline := false
	err = s.write(ctx, cid, func(q store.Querier, ch *changes) error {
		wentOnline = false
		// Lock the row before reading it: the status read decides whether
		// the operator's chats go back to the queue, and a concurrent change
		// must not make it stale.
		if err := lockOperator(ctx, q, cid, id); err != nil {
			return err
		}
		o, err := s.getOperator(ctx, q, cid, id)
		if err != nil {
			return err
		}
		me, err := callerOperator(ctx, q, cid)
		if err != nil {
			return err
		}
		if me != nil && *me != o.ID {
			return parley.Errorf(parley.EFORBIDDEN, "An operator may change only itself.")
		}
		if u.Name != nil {
			o.Name = *u.Name
		}
		was := o.Status
		if u.Status != nil {
			o.Status = *u.Status
		}
		if u.Capacity != nil {
			o.Capacity = *u.Capacity
		}
		if _, err = q.Exec(ctx, `UPDATE operators SET name = ?, status = ?, capacity = ?, updated_at = ? WHERE id = ? AND company_id = ?`,
			o.Name, o.Status, o.Capacity, time.Now().UnixMilli(), id, cid); err != nil {
			return err
		}
		wentOnline = o.Status == OperatorOnline && (was != OperatorOnline || u.Capacity != nil)
		if o.Status == OperatorOffline && was != OperatorOffline {
			// Nobody answers an offline operator's chats: back to the queue.
			return requeueOperator(ctx, q, ch, cid, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if wentOnline && s.OperatorFree != nil {
		s.OperatorFree()
	}
	return s.getOperator(ctx, s.DB.Reader(), cid, id)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func newUUID() string { return uuid.NewString() }
