package chat

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Service manages end users, operators, chats and messages within the
// caller's company. An object of another company is reported as not found,
// exactly like one that does not exist.
type Service struct {
	DB *store.DB
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

// ---- Chats ----

const chatColumns = `id, uuid, company_id, end_user_id, status, operator_id, created_at, updated_at, ended_at, last_seq, project_id`

func scanChat(s scanner) (*Chat, error) {
	c := &Chat{}
	var created, updated int64
	var op, ended, project sql.NullInt64
	if err := s.Scan(&c.ID, &c.UUID, &c.CompanyID, &c.EndUserID, &c.Status, &op, &created, &updated, &ended, &c.LastSeq, &project); err != nil {
		return nil, err
	}
	if project.Valid {
		c.ProjectID = &project.Int64
	}
	if op.Valid {
		c.OperatorID = &op.Int64
	}
	if ended.Valid {
		t := ms(ended.Int64)
		c.EndedAt = &t
	}
	c.CreatedAt, c.UpdatedAt = ms(created), ms(updated)
	return c, nil
}

func chatNotFound(id int64) error { return parley.Errorf(parley.ENOTFOUND, "Chat %d not found.", id) }

func getChat(ctx context.Context, q store.Querier, cid, id int64) (*Chat, error) {
	c, err := scanChat(q.QueryRow(ctx, `SELECT `+chatColumns+` FROM chats WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chatNotFound(id)
	}
	return c, err
}

// CreateChat opens a queued chat with an end user of the caller's company.
func (s *Service) CreateChat(ctx context.Context, endUserID int64) (*Chat, error) {
	return s.createChat(ctx, endUserID, nil)
}

func (s *Service) createChat(ctx context.Context, endUserID int64, projectID *int64) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()
	var id int64
	err = s.DB.Write(ctx, func(q store.Querier) error {
		var one int
		err := q.QueryRow(ctx, `SELECT 1 FROM end_users WHERE id = ? AND company_id = ?`, endUserID, cid).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return &parley.Error{Code: parley.ENOTFOUND, Message: "Client not found.", Fields: map[string]string{"client_id": "no such client"}}
		} else if err != nil {
			return err
		}
		return q.QueryRow(ctx, `INSERT INTO chats (uuid, company_id, end_user_id, status, created_at, updated_at, project_id)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, uuid.NewString(), cid, endUserID, StatusQueued, now, now, projectID).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return s.GetChat(ctx, id)
}

// GetChat returns one chat of the caller's company.
func (s *Service) GetChat(ctx context.Context, id int64) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return getChat(ctx, s.DB.Reader(), cid, id)
}

// callerOperator returns the operator row of an operator-role caller, or
// nil for other roles.
func callerOperator(ctx context.Context, q store.Querier, cid int64) (*int64, error) {
	c, _ := parley.CallerFrom(ctx)
	if c.Role != parley.RoleOperator {
		return nil, nil
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM operators WHERE user_id = ? AND company_id = ?`, c.UserID, cid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, parley.Errorf(parley.EFORBIDDEN, "The user is not an operator of the company.")
	} else if err != nil {
		return nil, err
	}
	return &id, nil
}

// UpdateChatStatus moves a chat along its state machine. endTime may be
// given only when the chat ends; it defaults to now. Moving to assigned by
// an operator assigns the chat to that operator.
func (s *Service) UpdateChatStatus(ctx context.Context, id int64, status string, endTime *time.Time) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if !ValidStatus(status) {
		return nil, parley.FieldError("status", "must be queued, assigned, finished or dismissed")
	}
	if endTime != nil && !Final(status) {
		return nil, parley.FieldError("end_time", "may only be given when the chat is closed")
	}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		c, err := getChat(ctx, q, cid, id)
		if err != nil {
			return err
		}
		if c.Status == status && !Final(status) {
			return nil
		}
		if !transitions[c.Status][status] {
			return parley.Errorf(parley.ECONFLICT, "Chat %d cannot go from %s to %s.", id, c.Status, status)
		}
		now := time.Now().UnixMilli()
		var ended sql.NullInt64
		if Final(status) {
			ended = sql.NullInt64{Int64: now, Valid: true}
			if endTime != nil {
				e := endTime.UnixMilli()
				if e < c.CreatedAt.UnixMilli() {
					return parley.FieldError("end_time", "must not be before the chat started (%s)", c.CreatedAt.Format(time.RFC3339Nano))
				}
				if e > now+int64(5*time.Minute/time.Millisecond) {
					return parley.FieldError("end_time", "must not be in the future")
				}
				ended.Int64 = e
			}
		}
		op := c.OperatorID
		if status == StatusAssigned {
			me, err := callerOperator(ctx, q, cid)
			if err != nil {
				return err
			}
			if me != nil {
				op = me
			}
		}
		res, err := q.Exec(ctx, `UPDATE chats SET status = ?, operator_id = ?, ended_at = ?, updated_at = ?
			WHERE id = ? AND company_id = ? AND status = ?`, status, op, ended, now, id, cid, c.Status)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return parley.Errorf(parley.ECONFLICT, "Chat %d changed meanwhile; retry.", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetChat(ctx, id)
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
	var m *Message
	var replayed bool
	err = s.DB.Write(ctx, func(q store.Querier) error {
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
		now := time.Now().UnixMilli()
		var seq int
		var status string
		var endUser int64
		var op sql.NullInt64
		err = q.QueryRow(ctx, `UPDATE chats SET last_seq = last_seq + 1, updated_at = ?
			WHERE id = ? AND company_id = ? AND status <> ? AND status <> ?
			RETURNING last_seq, status, end_user_id, operator_id`, now, chatID, cid, StatusFinished, StatusDismissed).
			Scan(&seq, &status, &endUser, &op)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := getChat(ctx, q, cid, chatID); err != nil {
				return err
			}
			return parley.Errorf(parley.ECONFLICT, "Chat %d has ended; no message can be added.", chatID)
		} else if err != nil {
			return err
		}
		var sender *int64
		switch senderType {
		case SenderEndUser:
			sender = &endUser
		case SenderOperator:
			if me != nil {
				sender = me
				if status == StatusQueued {
					if _, err := q.Exec(ctx, `UPDATE chats SET status = ?, operator_id = ? WHERE id = ? AND company_id = ?`,
						StatusAssigned, *me, chatID, cid); err != nil {
						return err
					}
				}
			} else if op.Valid {
				sender = &op.Int64
			}
		}
		var item sql.NullString
		if opt.UUID != "" {
			item = sql.NullString{String: opt.UUID, Valid: true}
		}
		m = &Message{UUID: opt.UUID, ChatID: chatID, Seq: seq, SenderType: senderType, SenderID: sender, Type: "text", Content: content, CreatedAt: ms(now)}
		if err := q.QueryRow(ctx, `INSERT INTO chat_messages (company_id, chat_id, seq, sender_type, sender_id, type, content, created_at, uuid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, cid, chatID, seq, senderType, sender, m.Type, content, now, item).Scan(&m.ID); err != nil {
			return err
		}
		if opt.After != nil {
			return opt.After(q, m, false)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return m, replayed, nil
}

// ---- Operators ----

const operatorColumns = `id, user_id, name, status, created_at, updated_at`

func scanOperator(s scanner) (*Operator, error) {
	o := &Operator{}
	var user sql.NullInt64
	var created, updated int64
	if err := s.Scan(&o.ID, &user, &o.Name, &o.Status, &created, &updated); err != nil {
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
	Name   *string
	Status *string
}

// UpdateOperator changes an operator's name or status. An operator-role
// caller may change only its own operator.
func (s *Service) UpdateOperator(ctx context.Context, id int64, u OperatorUpdate) (*Operator, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if u.Name == nil && u.Status == nil {
		return nil, parley.Errorf(parley.EINVALID, "Nothing to change: give name or status.")
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
	err = s.DB.Write(ctx, func(q store.Querier) error {
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
		if u.Status != nil {
			o.Status = *u.Status
		}
		_, err = q.Exec(ctx, `UPDATE operators SET name = ?, status = ?, updated_at = ? WHERE id = ? AND company_id = ?`,
			o.Name, o.Status, time.Now().UnixMilli(), id, cid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.getOperator(ctx, s.DB.Reader(), cid, id)
}
