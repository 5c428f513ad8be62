package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

const chatColumns = `id, uuid, company_id, end_user_id, status, operator_id, created_at, updated_at, ended_at, last_seq, project_id,
	menu_id, virtual_agent_id, lang, email, context, queued_at, timeout_at, deflection_channel, finished_by_user_id,
	escalation_id, verified_customer, bad_actor, repeat_customer, custom_data, event_seq, va_seen_seq`

func scanChat(s scanner) (*Chat, error) {
	c := &Chat{}
	var created, updated, queued int64
	var op, ended, project, menu, va, timeout, finishedBy, esc sql.NullInt64
	var ctxJSON, custom string
	if err := s.Scan(&c.ID, &c.UUID, &c.CompanyID, &c.EndUserID, &c.Status, &op, &created, &updated, &ended, &c.LastSeq, &project,
		&menu, &va, &c.Lang, &c.Email, &ctxJSON, &queued, &timeout, &c.DeflectionChannel, &finishedBy,
		&esc, &c.Flags.VerifiedCustomer, &c.Flags.BadActor, &c.Flags.RepeatCustomer, &custom, &c.EventSeq, &c.VASeenSeq); err != nil {
		return nil, err
	}
	c.ProjectID, c.OperatorID, c.MenuID, c.VirtualAgentID = ptr(project), ptr(op), ptr(menu), ptr(va)
	c.FinishedByUserID, c.EscalationID = ptr(finishedBy), ptr(esc)
	c.EndedAt, c.TimeoutAt = msPtr(ended), msPtr(timeout)
	if queued > 0 {
		t := ms(queued)
		c.QueuedAt = &t
	}
	c.Context, c.CustomData = json.RawMessage(ctxJSON), json.RawMessage(custom)
	c.CreatedAt, c.UpdatedAt = ms(created), ms(updated)
	return c, nil
}

func ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func msPtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := ms(n.Int64)
	return &t
}

func chatNotFound(id int64) error { return parley.Errorf(parley.ENOTFOUND, "Chat %d not found.", id) }

func getChat(ctx context.Context, q store.Querier, cid, id int64) (*Chat, error) {
	c, err := scanChat(q.QueryRow(ctx, `SELECT `+chatColumns+` FROM chats WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chatNotFound(id)
	}
	return c, err
}

// NewChat is what a chat starts with. Zero fields take defaults: no menu
// (routed to every operator), language "en", no context.
type NewChat struct {
	EndUserID int64
	MenuID    int64
	ProjectID int64
	Lang      string
	Email     string
	Context   json.RawMessage // a JSON object
	// Transcript is the conversation so far (from a bot outside Parley,
	// say), stored as the chat's first messages with type "transcript";
	// the virtual agent does not replay them.
	Transcript []Turn
}

// Turn is one message of a starting transcript.
type Turn struct {
	SenderType string
	Content    string
}

// TypeTranscript marks messages a chat was created with.
const TypeTranscript = "transcript"

// Limits of chat input.
const (
	MaxContext = 16 << 10 // bytes of a chat's context or custom data
	MaxLang    = 16
)

// CreateChat opens a queued chat with an end user of the caller's company.
func (s *Service) CreateChat(ctx context.Context, endUserID int64) (*Chat, error) {
	return s.OpenChat(ctx, NewChat{EndUserID: endUserID})
}

// OpenChat opens a chat. A menu with a virtual agent starts it in
// va_assigned with that agent; otherwise it is queued for an operator.
func (s *Service) OpenChat(ctx context.Context, in NewChat) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if in.Lang == "" {
		in.Lang = "en"
	}
	if len(in.Lang) > MaxLang || strings.ContainsAny(in.Lang, " \x00") {
		return nil, parley.FieldError("lang", "must be a language tag such as en or pt-BR")
	}
	if in.Email != "" {
		if in.Email, err = parley.ValidName("email", in.Email, MaxName); err != nil {
			return nil, err
		}
	}
	ctxJSON := "{}"
	if len(in.Context) > 0 && string(in.Context) != "null" {
		if len(in.Context) > MaxContext {
			return nil, parley.FieldError("context", "must be at most %d bytes of JSON", MaxContext)
		}
		var obj map[string]any
		if json.Unmarshal(in.Context, &obj) != nil {
			return nil, parley.FieldError("context", "must be a JSON object")
		}
		ctxJSON = string(in.Context)
	}
	var id int64
	err = s.write(ctx, cid, func(q store.Querier, ch *changes) error {
		var one int
		err := q.QueryRow(ctx, `SELECT 1 FROM end_users WHERE id = ? AND company_id = ?`, in.EndUserID, cid).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return &parley.Error{Code: parley.ENOTFOUND, Message: "End user not found.", Fields: map[string]string{"end_user_id": "no such end user"}}
		} else if err != nil {
			return err
		}
		var menu, agentID sql.NullInt64
		if in.MenuID != 0 {
			m, err := getMenu(ctx, q, cid, in.MenuID)
			if err != nil {
				return err
			}
			menu = sql.NullInt64{Int64: m.ID, Valid: true}
			if m.AgentID != nil {
				agentID = sql.NullInt64{Int64: *m.AgentID, Valid: true}
			}
		}
		var project sql.NullInt64
		if in.ProjectID != 0 {
			project = sql.NullInt64{Int64: in.ProjectID, Valid: true}
		}
		status, queuedAt, vaSeen := StatusQueued, time.Now().UnixMilli(), 0
		if agentID.Valid {
			status, queuedAt, vaSeen = StatusVA, 0, -1 // -1: the virtual agent has not run yet
		}
		now := time.Now().UnixMilli()
		var timeoutAt sql.NullInt64
		if s.Timeout > 0 {
			timeoutAt = sql.NullInt64{Int64: now + s.Timeout.Milliseconds(), Valid: true}
		}
		u := uuid.NewString()
		if err := q.QueryRow(ctx, `INSERT INTO chats (uuid, company_id, end_user_id, status, created_at, updated_at, project_id,
			menu_id, virtual_agent_id, lang, email, context, queued_at, va_seen_seq, timeout_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u, cid, in.EndUserID, status, now, now, project, menu, agentID, in.Lang, in.Email, ctxJSON, queuedAt, vaSeen, timeoutAt).Scan(&id); err != nil {
			return err
		}
		if agentID.Valid {
			if err := addParticipant(ctx, q, id, PartVirtualAgent, agentID.Int64, now); err != nil {
				return err
			}
		}
		if err := ch.log(ctx, q, id, u, EventChatCreated, map[string]any{"status": status, "end_user_id": in.EndUserID}); err != nil {
			return err
		}
		c := &Chat{ID: id, UUID: u, CompanyID: cid, EndUserID: in.EndUserID, Status: status}
		for _, t := range in.Transcript {
			if !ValidSender(t.SenderType) {
				return parley.FieldError("transcript", "sender_type must be end_user, operator, virtual_agent or system")
			}
			if err := validContent(t.Content); err != nil {
				return err
			}
			m, err := appendMessage(ctx, q, c, nil, t.SenderType, TypeTranscript, t.Content, "")
			if err != nil {
				return err
			}
			if err := ch.logMessage(ctx, q, c, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetChat(ctx, id)
}

// Participant kinds: who served a chat.
const (
	PartOperator     = "operator"
	PartVirtualAgent = "virtual_agent"
)

func addParticipant(ctx context.Context, q store.Querier, chatID int64, kind string, ref, now int64) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM chat_participants WHERE chat_id = ? AND kind = ? AND ref_id = ?`, chatID, kind, ref).Scan(&one)
	if err == nil {
		return nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO chat_participants (chat_id, kind, ref_id, joined_at) VALUES (?, ?, ?, ?)`, chatID, kind, ref, now)
	return err
}

// GetChat returns one chat of the caller's company.
func (s *Service) GetChat(ctx context.Context, id int64) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return getChat(ctx, s.DB.Reader(), cid, id)
}

// ChatFilter selects chats to list.
type ChatFilter struct {
	Status     string // "" for any
	OperatorID int64  // 0 for any
	MenuID     int64  // 0 for any
	AfterID    int64  // keyset: chats with a greater id
	Limit      int
}

// ListChats returns a page of the caller's company's chats in id order.
// An operator sees their own chats, or the queue (status queued), never
// colleagues' chats.
func (s *Service) ListChats(ctx context.Context, f ChatFilter) ([]*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	me, err := callerOperator(ctx, s.DB.Reader(), cid)
	if err != nil {
		return nil, err
	}
	if me != nil && f.Status != StatusQueued {
		f.OperatorID = *me
	}
	if f.Status != "" && !ValidStatus(f.Status) {
		return nil, parley.FieldError("status", "must be a chat status, got %q", parley.Clip(f.Status))
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = 100
	}
	q := `SELECT ` + chatColumns + ` FROM chats WHERE company_id = ? AND id > ?`
	args := []any{cid, f.AfterID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.OperatorID != 0 {
		q += ` AND operator_id = ?`
		args = append(args, f.OperatorID)
	}
	if f.MenuID != 0 {
		q += ` AND menu_id = ?`
		args = append(args, f.MenuID)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, f.Limit)
	return queryChats(ctx, s.DB.Reader(), q, args...)
}

// queryChats runs a query selecting chatColumns and scans every row.
func queryChats(ctx context.Context, q store.Querier, query string, args ...any) ([]*Chat, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Chat{}
	for rows.Next() {
		c, err := scanChat(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
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

// CallerOperatorID returns the operator id of an operator-role caller; ok
// is false for other roles.
func (s *Service) CallerOperatorID(ctx context.Context) (id int64, ok bool, err error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return 0, false, err
	}
	me, err := callerOperator(ctx, s.DB.Reader(), cid)
	if err != nil || me == nil {
		return 0, false, err
	}
	return *me, true, nil
}

// StatusChange is a change of a chat's status. EndTime may be given only
// when the chat ends (default now); FinishedBy names the user who ended it.
type StatusChange struct {
	Status     string
	EndTime    *time.Time
	FinishedBy *int64
}

// UpdateChatStatus moves a chat along its state machine. endTime may be
// given only when the chat ends; it defaults to now. An operator moving a
// chat to assigned takes it (within their capacity); other callers cannot
// assign a chat by hand: the router does.
func (s *Service) UpdateChatStatus(ctx context.Context, id int64, status string, endTime *time.Time) (*Chat, error) {
	return s.ChangeStatus(ctx, id, StatusChange{Status: status, EndTime: endTime})
}

// ChangeStatus is UpdateChatStatus with the finishing user.
func (s *Service) ChangeStatus(ctx context.Context, id int64, sc StatusChange) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if !ValidStatus(sc.Status) {
		return nil, parley.FieldError("status", "must be va_assigned, queued, assigned, finished, dismissed or timed_out")
	}
	if sc.EndTime != nil && !Final(sc.Status) {
		return nil, parley.FieldError("end_time", "may only be given when the chat is closed")
	}
	if sc.FinishedBy != nil && !Final(sc.Status) {
		return nil, parley.FieldError("finished_by_user_id", "may only be given when the chat ends")
	}
	err = s.retry(ctx, func() error {
		return s.write(ctx, cid, func(q store.Querier, ch *changes) error {
			c, err := getChat(ctx, q, cid, id)
			if err != nil {
				return err
			}
			if c.Status == sc.Status && !Final(sc.Status) {
				return nil
			}
			if !transitions[c.Status][sc.Status] {
				return parley.Errorf(parley.ECONFLICT, "Chat %d cannot go from %s to %s.", id, c.Status, sc.Status)
			}
			switch {
			case sc.Status == StatusAssigned:
				me, err := callerOperator(ctx, q, cid)
				if err != nil {
					return err
				}
				if me == nil {
					return parley.FieldError("status", "only an operator takes a chat (the router assigns queued chats to online operators)")
				}
				return assign(ctx, q, ch, c, *me, false)
			case sc.Status == StatusQueued:
				return requeue(ctx, q, ch, c, "requeued")
			}
			return end(ctx, q, ch, c, sc)
		})
	})
	if err != nil {
		return nil, err
	}
	return s.GetChat(ctx, id)
}

// errRaced marks a transaction that lost a race with another writer after
// its reads; it is retried from the start.
var errRaced = errors.New("chat: changed concurrently")

// retry runs fn again when it lost a race, a few times.
func (s *Service) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if !errors.Is(err, errRaced) {
			return err
		}
		if attempt >= 5 {
			return parley.Errorf(parley.ECONFLICT, "The chat changed meanwhile; retry.")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// end moves chat c to a final status, releasing its operator. Lock order
// everywhere is operator row, then chat row, so the operator is updated
// first and the chat update checks nothing moved in between.
func end(ctx context.Context, q store.Querier, ch *changes, c *Chat, sc StatusChange) error {
	now := time.Now().UnixMilli()
	ended := now
	if sc.EndTime != nil {
		e := sc.EndTime.UnixMilli()
		if e < c.CreatedAt.UnixMilli() {
			return parley.FieldError("end_time", "must not be before the chat started (%s)", c.CreatedAt.Format(time.RFC3339Nano))
		}
		if e > now+int64(5*time.Minute/time.Millisecond) {
			return parley.FieldError("end_time", "must not be in the future")
		}
		ended = e
	}
	if c.Status == StatusAssigned && c.OperatorID != nil {
		if err := release(ctx, q, *c.OperatorID); err != nil {
			return err
		}
	}
	if err := setStatus(ctx, q, c, sc.Status, c.OperatorID, now,
		`ended_at = ?, finished_by_user_id = ?`, ended, sc.FinishedBy); err != nil {
		return err
	}
	return ch.log(ctx, q, c.ID, c.UUID, EventChatStatus, statusData(c, sc.Status, c.OperatorID))
}

// setStatus moves c from its read status to status with extra SET clauses,
// failing with errRaced if the row changed since it was read.
func setStatus(ctx context.Context, q store.Querier, c *Chat, status string, op *int64, now int64, extra string, args ...any) error {
	set := `status = ?, operator_id = ?, updated_at = ?`
	if extra != "" {
		set += ", " + extra
	}
	all := append([]any{status, op, now}, args...)
	all = append(all, c.ID, c.CompanyID, c.Status)
	where := ` WHERE id = ? AND company_id = ? AND status = ?`
	if c.OperatorID != nil {
		where += ` AND operator_id = ?`
		all = append(all, *c.OperatorID)
	} else {
		where += ` AND operator_id IS NULL`
	}
	res, err := q.Exec(ctx, `UPDATE chats SET `+set+where, all...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return errRaced
	}
	return nil
}

// TimeOutChats ends every live chat, of any company, whose timeout_at has
// passed: status timed_out, its operator released. Any node may run it; a
// chat changed meanwhile is skipped.
func (s *Service) TimeOutChats(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.DB.Reader().Query(ctx, `SELECT id, company_id FROM chats WHERE timeout_at < ? AND status IN (?, ?, ?) ORDER BY timeout_at LIMIT 500`,
		now.UnixMilli(), StatusVA, StatusQueued, StatusAssigned)
	if err != nil {
		return 0, err
	}
	var due [][2]int64
	for rows.Next() {
		var id, cid int64
		if err := rows.Scan(&id, &cid); err != nil {
			rows.Close()
			return 0, err
		}
		due = append(due, [2]int64{id, cid})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		cctx := parley.WithCaller(ctx, parley.Caller{CompanyID: d[1], Role: parley.RoleAdmin})
		ended := false
		err := s.retry(cctx, func() error {
			ended = false
			return s.write(cctx, d[1], func(q store.Querier, ch *changes) error {
				c, err := getChat(cctx, q, d[1], d[0])
				if err != nil {
					return err
				}
				if Final(c.Status) || c.TimeoutAt == nil || c.TimeoutAt.After(now) {
					return nil // answered or ended meanwhile
				}
				ended = true
				return end(cctx, q, ch, c, StatusChange{Status: StatusTimedOut})
			})
		})
		if ended && err == nil {
			n++
		}
		if err != nil && parley.ErrorCode(err) != parley.ECONFLICT {
			return n, err
		}
	}
	return n, nil
}

// statusData is a chat.status event: the new status and operator, and the
// previous ones, so that a watcher who never saw the chat can tell whom the
// change concerns.
func statusData(c *Chat, status string, op *int64) map[string]any {
	d := map[string]any{"status": status, "previous": c.Status}
	if op != nil {
		d["operator_id"] = *op
	}
	if c.OperatorID != nil {
		d["previous_operator_id"] = *c.OperatorID
	}
	return d
}
