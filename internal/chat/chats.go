package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Chat statuses.
const (
	StatusVA        = "va_assigned"
	StatusQueued    = "queued"
	StatusAssigned  = "assigned"
	StatusFinished  = "finished"
	StatusDismissed = "dismissed"
	StatusTimedOut  = "timed_out"
)

// transitions lists the statuses each status may move to.
var transitions = map[string]map[string]bool{
	StatusVA:       {StatusQueued: true, StatusFinished: true, StatusDismissed: true, StatusTimedOut: true},
	StatusQueued:   {StatusAssigned: true, StatusFinished: true, StatusDismissed: true, StatusTimedOut: true},
	StatusAssigned: {StatusQueued: true, StatusFinished: true, StatusDismissed: true, StatusTimedOut: true},
}

// Final reports whether a status ends the chat.
func Final(status string) bool {
	return status == StatusFinished || status == StatusDismissed || status == StatusTimedOut
}

// ValidStatus reports whether s names a chat status.
func ValidStatus(s string) bool {
	return s == StatusVA || s == StatusQueued || s == StatusAssigned || Final(s)
}

// Chat is one conversation with an end user.
type Chat struct {
	ID         int64
	UUID       string
	CompanyID  int64
	EndUserID  int64
	Status     string
	OperatorID *int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	EndedAt    *time.Time
	LastSeq    int
	ProjectID  *int64 // the gateway project the chat belongs to, if any

	MenuID            *int64
	VirtualAgentID    *int64 // the agent whose script serves the chat in va_assigned
	Lang              string
	Email             string
	Context           json.RawMessage // the creator's metadata, handed to the virtual agent
	QueuedAt          *time.Time
	TimeoutAt         *time.Time
	DeflectionChannel string
	FinishedByUserID  *int64
	EscalationID      *int64 // the latest escalation
	Flags             CustomerFlags
	CustomData        json.RawMessage
	EventSeq          int64
	VASeenSeq         int // the last message seq the virtual agent has consumed
	// AwaitingSince is when an operator answered and the end user has not
	// written since (inactivity.go); FirstReplyAt the first operator
	// message (reports.go).
	AwaitingSince *time.Time
	FirstReplyAt  *time.Time
}

const chatColumns = `id, uuid, company_id, end_user_id, status, operator_id, created_at, updated_at, ended_at, last_seq, project_id,
	menu_id, virtual_agent_id, lang, email, context, queued_at, timeout_at, deflection_channel, finished_by_user_id,
	escalation_id, verified_customer, bad_actor, repeat_customer, custom_data, event_seq, va_seen_seq, awaiting_since, first_reply_at`

func scanChat(s store.Scanner) (*Chat, error) {
	c := &Chat{}
	var created, updated, queued int64
	var ended, timeout, awaiting, replied *int64
	var ctxJSON, custom string
	if err := s.Scan(&c.ID, &c.UUID, &c.CompanyID, &c.EndUserID, &c.Status, &c.OperatorID, &created, &updated, &ended, &c.LastSeq, &c.ProjectID,
		&c.MenuID, &c.VirtualAgentID, &c.Lang, &c.Email, &ctxJSON, &queued, &timeout, &c.DeflectionChannel, &c.FinishedByUserID,
		&c.EscalationID, &c.Flags.VerifiedCustomer, &c.Flags.BadActor, &c.Flags.RepeatCustomer, &custom, &c.EventSeq, &c.VASeenSeq, &awaiting, &replied); err != nil {
		return nil, err
	}
	c.EndedAt, c.TimeoutAt = msPtr(ended), msPtr(timeout)
	c.AwaitingSince, c.FirstReplyAt = msPtr(awaiting), msPtr(replied)
	if queued > 0 {
		c.QueuedAt = msPtr(&queued)
	}
	c.Context, c.CustomData = json.RawMessage(ctxJSON), json.RawMessage(custom)
	c.CreatedAt, c.UpdatedAt = ms(created), ms(updated)
	return c, nil
}

// errNoLiveChat answers a resume-only open that found nothing to resume.
var errNoLiveChat = &parley.Error{Code: parley.ENOTFOUND, Message: "No live chat to resume: the chat starts with the first message."}

func chatNotFound(id int64) error { return store.ErrNotFound(fmt.Sprintf("Chat %d", id)) }

func getChat(ctx context.Context, q store.Querier, cid, id int64) (*Chat, error) {
	c, err := scanChat(q.QueryRow(ctx, `SELECT `+chatColumns+` FROM chats WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, chatNotFound(id)
	}
	return c, err
}

// queryChats runs a query selecting chatColumns and scans every row.
func queryChats(ctx context.Context, q store.Querier, query string, args ...any) ([]*Chat, error) {
	cs, err := store.Collect(ctx, q, scanChat, query, args...)
	if cs == nil && err == nil {
		cs = []*Chat{}
	}
	return cs, err
}

// NewChat is what a chat starts with. Zero fields take defaults: no menu
// (routed to every operator), language "en", no context.
type NewChat struct {
	// EndUserID names an end user of the company. When it is 0, EndUser
	// names one by its Identifier: the company's end user with it, created
	// from EndUser when there is none (an existing one is used as is).
	EndUserID int64
	EndUser   NewEndUser
	// ProjectID binds the chat to a project of the company (0: none), so
	// that the live-chat gateway and the widget address it; the project's
	// menu is the chat's when MenuID is 0.
	ProjectID int64
	MenuID    int64
	Lang      string
	Email     string
	Context   json.RawMessage // a JSON object
	// Transcript is the conversation so far (from a bot outside Parley,
	// say), stored as the chat's first messages with type "transcript";
	// the virtual agent does not replay them.
	Transcript []Turn
	// BulkTranscript writes the transcript in multi-row INSERTs and logs no
	// message_created event for it (only chat_created): loading history
	// fast (parley-bench search). The chat_messages rows are the ones the
	// one-by-one path writes (transcript.go).
	BulkTranscript bool
	// Resume returns the end user's live chat of the project, if there is
	// one, instead of opening another (the widget's visitors come back).
	Resume bool
	// ResumeOnly, with Resume, opens nothing: no live chat (or no such end
	// user) is ENOTFOUND. The widget looks for a chat to resume this way,
	// so that no chat exists before the visitor writes.
	ResumeOnly bool
	// FirstMessage, when set, is the end user's text message posted in the
	// chat opened (or resumed) in the same transaction: the widget's chat
	// starts with the visitor's first message (Opened.First).
	FirstMessage string
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

// Opened is what OpenChat did: the chat, its end user, and whether the chat
// is the end user's live one resumed rather than a new one.
type Opened struct {
	Chat    *Chat
	EndUser *EndUser
	Resumed bool
	First   *Message // NewChat.FirstMessage as posted
}

// CreateChat opens a chat with an end user of the caller's company.
func (s *Service) CreateChat(ctx context.Context, endUserID int64) (*Chat, error) {
	o, err := s.OpenChat(ctx, NewChat{EndUserID: endUserID})
	if err != nil {
		return nil, err
	}
	return o.Chat, nil
}

// OpenChat opens a chat, finding or creating its end user and resolving
// its project and menu in the same transaction: every API family that
// starts chats (v1, the chat platform, the live-chat gateway, the widget)
// comes here. A menu with a virtual agent starts the chat in va_assigned
// with that agent; otherwise it is queued for an operator.
func (s *Service) OpenChat(ctx context.Context, in NewChat) (*Opened, error) {
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
	for _, t := range in.Transcript {
		if !ValidSender(t.SenderType) {
			return nil, parley.FieldError("transcript", "sender_type must be end_user, operator, virtual_agent or system")
		}
		if err := validContent(t.Content); err != nil {
			return nil, err
		}
	}
	if in.EndUserID == 0 {
		if err := in.EndUser.normalize(true); err != nil {
			return nil, err
		}
	}
	if in.FirstMessage != "" {
		if err := validContent(in.FirstMessage); err != nil {
			return nil, err
		}
	}
	if in.ResumeOnly && (!in.Resume || in.ProjectID == 0) {
		return nil, parley.Errorf(parley.EINVALID, "Only a project's chat is resumed.")
	}
	var out *Opened
	err = s.retry(ctx, func() error {
		return s.write(ctx, cid, func(t *tx) error {
			var err error
			out, err = t.openChat(ctx, in, ctxJSON)
			if err != nil || in.FirstMessage == "" {
				return err
			}
			out.First, err = t.postNew(ctx, out.Chat.ID, nil, nil, SenderEndUser, "text", in.FirstMessage, "")
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if !out.Resumed {
		// The creator gets what it made, seen or not (an operator opening
		// a chat in another menu's queue).
		if out.Chat, err = s.readChat(ctx, out.Chat.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) openChat(ctx context.Context, in NewChat, ctxJSON string) (*Opened, error) {
	out := &Opened{}
	var err error
	if in.EndUserID != 0 {
		out.EndUser, err = getEndUser(ctx, t.Querier, t.cid, in.EndUserID)
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return nil, &parley.Error{Code: parley.ENOTFOUND, Message: "End user not found.", Fields: map[string]string{"end_user_id": "no such end user"}}
		}
	} else if in.ResumeOnly {
		out.EndUser, err = endUserByIdentifier(ctx, t.Querier, t.cid, in.EndUser.Identifier)
		if err == nil && out.EndUser == nil {
			return nil, errNoLiveChat
		}
	} else {
		out.EndUser, err = t.findOrCreateEndUser(ctx, in.EndUser)
	}
	if err != nil {
		return nil, err
	}
	var project *int64
	if in.ProjectID != 0 {
		p, err := getProject(ctx, t.Querier, t.cid, in.ProjectID)
		if err != nil {
			return nil, err
		}
		project = &p.ID
		if in.MenuID == 0 && p.MenuID != nil {
			in.MenuID = *p.MenuID
		}
		if in.Resume {
			c, err := scanChat(t.QueryRow(ctx, `SELECT `+chatColumns+` FROM chats
				WHERE company_id = ? AND project_id = ? AND end_user_id = ? AND status IN (?, ?, ?)
				ORDER BY id DESC LIMIT 1`, t.cid, p.ID, out.EndUser.ID, StatusVA, StatusQueued, StatusAssigned))
			if err == nil {
				out.Chat, out.Resumed = c, true
				return out, nil
			} else if !errors.Is(err, store.ErrNoRows) {
				return nil, err
			}
			if in.ResumeOnly {
				return nil, errNoLiveChat
			}
		}
	}
	var menu, agentID *int64
	if in.MenuID != 0 {
		m, err := getMenu(ctx, t.Querier, t.cid, in.MenuID)
		if err != nil {
			return nil, err
		}
		menu, agentID = &m.ID, m.AgentID
	}
	status, queuedAt, vaSeen := StatusQueued, t.nowMS(), 0
	if agentID != nil {
		status, queuedAt, vaSeen = StatusVA, 0, -1 // -1: the virtual agent has not run yet
	}
	var timeoutAt *int64
	if t.timeout > 0 {
		at := t.now.Add(t.timeout).UnixMilli()
		timeoutAt = &at
	}
	c := &Chat{UUID: newUUID(), CompanyID: t.cid, EndUserID: out.EndUser.ID, Status: status}
	if err := t.QueryRow(ctx, `INSERT INTO chats (uuid, company_id, end_user_id, status, created_at, updated_at, project_id,
		menu_id, virtual_agent_id, lang, email, context, queued_at, va_seen_seq, timeout_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.UUID, t.cid, c.EndUserID, status, t.nowMS(), t.nowMS(), project, menu, agentID, in.Lang, in.Email, ctxJSON, queuedAt, vaSeen, timeoutAt).Scan(&c.ID); err != nil {
		return nil, err
	}
	if agentID != nil {
		if err := t.addParticipant(ctx, c.ID, PartVirtualAgent, *agentID); err != nil {
			return nil, err
		}
	}
	created := map[string]any{"status": status, "end_user_id": c.EndUserID}
	if menu != nil {
		created["menu_id"] = *menu // whose queue it joins: the stream's operators need it
	}
	if err := t.log(ctx, c.ID, c.UUID, EventChatCreated, created); err != nil {
		return nil, err
	}
	if in.BulkTranscript {
		if err := t.insertTranscript(ctx, c, in.Transcript); err != nil {
			return nil, err
		}
		out.Chat = c
		return out, nil
	}
	for _, turn := range in.Transcript {
		m, err := t.appendMessage(ctx, c, nil, turn.SenderType, TypeTranscript, turn.Content, "")
		if err != nil {
			return nil, err
		}
		if err := t.logMessage(ctx, c, m); err != nil {
			return nil, err
		}
	}
	out.Chat = c
	return out, nil
}

// Participant kinds: who served a chat.
const (
	PartOperator     = "operator"
	PartVirtualAgent = "virtual_agent"
)

func (t *tx) addParticipant(ctx context.Context, chatID int64, kind string, ref int64) error {
	var one int
	err := t.QueryRow(ctx, `SELECT 1 FROM chat_participants WHERE chat_id = ? AND kind = ? AND ref_id = ?`, chatID, kind, ref).Scan(&one)
	if err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNoRows) {
		return err
	}
	_, err = t.Exec(ctx, `INSERT INTO chat_participants (chat_id, kind, ref_id, joined_at) VALUES (?, ?, ?, ?)`, chatID, kind, ref, t.nowMS())
	return err
}

// GetChat returns one chat of the caller's company that the caller sees
// (sight.go).
func (s *Service) GetChat(ctx context.Context, id int64) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	return s.seenChat(ctx, s.DB.Reader(), cid, id)
}

// readChat reads a chat of the caller's company whether the caller sees it
// or not: the answer of a change the caller was allowed to make (a chat an
// operator put back in the queue may have left their sight).
func (s *Service) readChat(ctx context.Context, id int64) (*Chat, error) {
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
	Limit      int    // page size; see PageSize
}

// DefaultPage is the page size of a listing that asks for none.
const DefaultPage = 100

// PageSize is the page size ListChats serves for f: Limit, or DefaultPage
// when Limit is 0 or out of range. A page this long may have a next one.
func (f ChatFilter) PageSize() int {
	if f.Limit <= 0 || f.Limit > MaxPage {
		return DefaultPage
	}
	return f.Limit
}

// ListChats returns a page of the caller's company's chats in id order.
// An operator lists their own chats, or with status queued the queue of
// their menus: what their sight takes in (sight.go), never colleagues'
// chats.
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
	f.Limit = f.PageSize()
	q := `SELECT ` + chatColumns + ` FROM chats c WHERE company_id = ? AND id > ?`
	args := []any{cid, f.AfterID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if me != nil && f.Status == StatusQueued {
		q += ` AND ` + queueSQL
		args = append(args, *me)
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

// StatusChange is a change of a chat's status. EndTime may be given only
// when the chat ends (default now); FinishedBy names the user who ended it.
type StatusChange struct {
	Status     string
	EndTime    *time.Time
	FinishedBy *int64
	// Reason, when set, goes in the chat.status event (the inactivity
	// rule's "inactivity").
	Reason string
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
		return s.write(ctx, cid, func(t *tx) error {
			c, g, err := t.seenChat(ctx, id)
			if err != nil {
				return err
			}
			return t.changeStatus(ctx, c, g, sc)
		})
	})
	if err != nil {
		return nil, err
	}
	return s.readChat(ctx, id)
}

// changeStatus moves chat c, which the caller (sight g) sees, along the
// state machine in transaction t.
func (t *tx) changeStatus(ctx context.Context, c *Chat, g *Sight, sc StatusChange) error {
	if err := statusRefusal(c, g, sc.Status); err != nil {
		return err
	}
	if c.Status == sc.Status && !Final(sc.Status) {
		return nil
	}
	switch {
	case sc.Status == StatusAssigned:
		return t.assign(ctx, c, g.Operator, false)
	case sc.Status == StatusQueued:
		return t.requeue(ctx, c, "requeued")
	}
	by, err := t.finishedBy(ctx, g, sc.FinishedBy)
	if err != nil {
		return err
	}
	sc.FinishedBy = by
	return t.end(ctx, c, sc)
}

// statusRefusal says why the caller (sight g) may not move chat c to
// status, nil when it may (moving it to the status it has is a no-op for a
// live status).
func statusRefusal(c *Chat, g *Sight, status string) error {
	if c.Status == status && !Final(status) {
		return nil
	}
	if !transitions[c.Status][status] {
		return parley.Errorf(parley.ECONFLICT, "Chat %d cannot go from %s to %s.", c.ID, c.Status, status)
	}
	if status == StatusAssigned && g.Staff() {
		return parley.FieldError("status", "only an operator takes a chat (the router assigns queued chats to online operators)")
	}
	return nil
}

// finishedBy is the user a chat ends by: a user of the company (the users
// table is auth's; chat reads it), and an operator ends chats as themself
// (naming another user is forbidden).
func (t *tx) finishedBy(ctx context.Context, g *Sight, given *int64) (*int64, error) {
	if g.Staff() {
		if given == nil {
			return nil, nil
		}
		var one int
		err := t.QueryRow(ctx, `SELECT 1 FROM users WHERE id = ? AND company_id = ?`, *given, t.cid).Scan(&one)
		if errors.Is(err, store.ErrNoRows) {
			return nil, parley.FieldError("finished_by_user_id", "user %d is not a user of the company", *given)
		}
		return given, err
	}
	if given != nil && *given != g.UserID {
		return nil, &parley.Error{Code: parley.EFORBIDDEN, Message: "An operator ends chats as themself.",
			Fields: map[string]string{"finished_by_user_id": "must be your own user id"}}
	}
	me := g.UserID
	return &me, nil
}

// ChatUpdate is a partial change of a chat through the chat platform API;
// nil fields stay.
type ChatUpdate struct {
	Status            *string
	FinishedByUserID  *int64
	DeflectionChannel *string
	EscalationID      *int64
}

// UpdateChat applies a ChatUpdate in one transaction: everything is
// checked before anything is written, the status change (escalating when
// the status goes from va_assigned to queued) comes first, then the
// deflection channel and the escalation named. A refused update changes
// nothing and emits nothing.
func (s *Service) UpdateChat(ctx context.Context, id int64, u ChatUpdate) (*Chat, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if u.DeflectionChannel != nil {
		d, err := parley.ValidName("deflection_channel", *u.DeflectionChannel, MaxReason)
		if err != nil {
			return nil, err
		}
		u.DeflectionChannel = &d
	}
	if u.FinishedByUserID != nil && *u.FinishedByUserID <= 0 {
		return nil, parley.FieldError("finished_by_user_id", "must be a positive integer")
	}
	if u.Status != nil && !ValidStatus(*u.Status) {
		return nil, parley.FieldError("status", "must be va_assigned, queued, assigned, finished, dismissed or timed_out, got %q", parley.Clip(*u.Status))
	}
	if u.Status == nil && u.DeflectionChannel == nil && u.EscalationID == nil && u.FinishedByUserID == nil {
		return nil, parley.Errorf(parley.EINVALID, "Nothing to change: give chat.status, chat.deflection_channel, chat.escalation_id or finished_by_user_id.")
	}
	if u.FinishedByUserID != nil && (u.Status == nil || !Final(*u.Status)) {
		return nil, parley.FieldError("finished_by_user_id", "may only be given with a final chat.status (finished, dismissed, timed_out)")
	}
	err = s.retry(ctx, func() error {
		return s.write(ctx, cid, func(t *tx) error {
			c, g, err := t.seenChat(ctx, id)
			if err != nil {
				return err
			}
			// Check everything first.
			if u.EscalationID != nil {
				var one int
				err := t.QueryRow(ctx, `SELECT 1 FROM escalations WHERE id = ? AND chat_id = ?`, *u.EscalationID, id).Scan(&one)
				if errors.Is(err, store.ErrNoRows) {
					return parley.FieldError("escalation_id", "escalation %d is not one of this chat's", *u.EscalationID)
				} else if err != nil {
					return err
				}
			}
			escalate := false
			if u.Status != nil {
				switch {
				case *u.Status == StatusQueued && c.Status == StatusVA:
					escalate = true
				case *u.Status == StatusVA && c.Status != StatusVA:
					return parley.Errorf(parley.ECONFLICT, "Chat %d cannot go back to its virtual agent.", id)
				default:
					if err := statusRefusal(c, g, *u.Status); err != nil {
						return err
					}
					if Final(*u.Status) {
						if _, err := t.finishedBy(ctx, g, u.FinishedByUserID); err != nil {
							return err
						}
					}
				}
			}
			// Then write: the status first, since it may lock the
			// operator's row, which every writer takes before the chat's.
			if escalate {
				if _, err := t.escalate(ctx, c, EscalationInput{Reason: "status_update"}); err != nil {
					return err
				}
			} else if u.Status != nil {
				if err := t.changeStatus(ctx, c, g, StatusChange{Status: *u.Status, FinishedBy: u.FinishedByUserID}); err != nil {
					return err
				}
			}
			if u.DeflectionChannel == nil && u.EscalationID == nil {
				return nil
			}
			data := map[string]any{}
			if u.EscalationID != nil {
				if _, err := t.Exec(ctx, `UPDATE chats SET escalation_id = ? WHERE id = ?`, *u.EscalationID, id); err != nil {
					return err
				}
				data["escalation_id"] = *u.EscalationID
			}
			if u.DeflectionChannel != nil {
				if _, err := t.Exec(ctx, `UPDATE chats SET deflection_channel = ? WHERE id = ?`, *u.DeflectionChannel, id); err != nil {
					return err
				}
				data["deflection_channel"] = *u.DeflectionChannel
			}
			return t.log(ctx, c.ID, c.UUID, EventChatUpdated, data)
		})
	})
	if err != nil {
		return nil, err
	}
	return s.readChat(ctx, id)
}

// end moves chat c to a final status, releasing its operator. Lock order
// everywhere is operator row, then chat row, so the operator is updated
// first and the chat update checks nothing moved in between.
func (t *tx) end(ctx context.Context, c *Chat, sc StatusChange) error {
	now := t.nowMS()
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
		if err := t.release(ctx, *c.OperatorID); err != nil {
			return err
		}
	}
	// An ended chat waits on nobody: clearing awaiting_since keeps the
	// inactivity sweep's partial index to live chats.
	if err := t.setStatus(ctx, c, sc.Status, c.OperatorID, `ended_at = ?, finished_by_user_id = ?, awaiting_since = NULL, end_reason = ?`,
		ended, sc.FinishedBy, sc.Reason); err != nil {
		return err
	}
	data := statusData(c, sc.Status, c.OperatorID)
	if sc.Reason != "" {
		data["reason"] = sc.Reason
	}
	return t.log(ctx, c.ID, c.UUID, EventChatStatus, data)
}

// setStatus moves c from its read status to status with extra SET clauses,
// failing with errRaced if the row changed since it was read.
func (t *tx) setStatus(ctx context.Context, c *Chat, status string, op *int64, extra string, args ...any) error {
	set := `status = ?, operator_id = ?, updated_at = ?`
	if extra != "" {
		set += ", " + extra
	}
	all := append([]any{status, op, t.nowMS()}, args...)
	all = append(all, c.ID, c.CompanyID, c.Status)
	where := ` WHERE id = ? AND company_id = ? AND status = ?`
	if c.OperatorID != nil {
		where += ` AND operator_id = ?`
		all = append(all, *c.OperatorID)
	} else {
		where += ` AND operator_id IS NULL`
	}
	res, err := t.Exec(ctx, `UPDATE chats SET `+set+where, all...)
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
	type due struct{ id, cid int64 }
	dues, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (d due, err error) {
		err = r.Scan(&d.id, &d.cid)
		return d, err
	}, `SELECT id, company_id FROM chats WHERE timeout_at < ? AND status IN (?, ?, ?) ORDER BY timeout_at LIMIT 500`,
		now.UnixMilli(), StatusVA, StatusQueued, StatusAssigned)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dues {
		cctx := parley.WithCaller(ctx, parley.Caller{CompanyID: d.cid, Role: parley.RoleAdmin})
		ended := false
		err := s.retry(cctx, func() error {
			ended = false
			return s.write(cctx, d.cid, func(t *tx) error {
				c, err := getChat(cctx, t.Querier, d.cid, d.id)
				if err != nil {
					return err
				}
				if Final(c.Status) || c.TimeoutAt == nil || c.TimeoutAt.After(now) {
					return nil // answered or ended meanwhile
				}
				ended = true
				return t.end(cctx, c, StatusChange{Status: StatusTimedOut})
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
