package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

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
		return s.write(ctx, cid, func(q store.Querier, ch *changes) error {
			c, err := getChat(ctx, q, cid, chatID)
			if err != nil {
				return err
			}
			id, err = escalate(ctx, q, ch, c, in)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return s.GetEscalation(ctx, chatID, id)
}

func escalate(ctx context.Context, q store.Querier, ch *changes, c *Chat, in EscalationInput) (int64, error) {
	if Final(c.Status) {
		return 0, parley.Errorf(parley.ECONFLICT, "Chat %d has ended; it cannot be escalated.", c.ID)
	}
	if c.Status != StatusVA && !in.Force {
		return 0, parley.Errorf(parley.ECONFLICT, "Chat %d is already with the operators (%s); use force_escalate to requeue it.", c.ID, c.Status)
	}
	if c.Status == StatusAssigned && c.OperatorID != nil {
		// requeue releases the operator after the chat row is written
		// below: take the operator's lock first, as every writer does.
		if err := lockOperator(ctx, q, c.CompanyID, *c.OperatorID); err != nil {
			return 0, err
		}
	}
	now := time.Now().UnixMilli()
	var id int64
	if err := q.QueryRow(ctx, `INSERT INTO escalations (company_id, chat_id, reason, force_escalate, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.CompanyID, c.ID, in.Reason, in.Force, StatusQueued, now, now).Scan(&id); err != nil {
		return 0, err
	}
	if _, err := q.Exec(ctx, `UPDATE chats SET escalation_id = ? WHERE id = ?`, id, c.ID); err != nil {
		return 0, err
	}
	if err := ch.log(ctx, q, c.ID, c.UUID, EventChatEscalated, map[string]any{"escalation_id": id, "reason": in.Reason, "force": in.Force}); err != nil {
		return 0, err
	}
	if c.Status == StatusQueued {
		return id, nil // forced, but already waiting
	}
	return id, requeue(ctx, q, ch, c, "escalated")
}

// GetEscalation returns an escalation of a chat of the caller's company.
// Its status follows the chat: queued while it waits, assigned once an
// operator has it, or the chat's final status.
func (s *Service) GetEscalation(ctx context.Context, chatID, id int64) (*Escalation, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	e := &Escalation{}
	var created int64
	var chatStatus string
	err = s.DB.Reader().QueryRow(ctx, `SELECT e.id, e.chat_id, e.reason, e.force_escalate, e.deflection_channel, e.created_at, c.status
		FROM escalations e JOIN chats c ON c.id = e.chat_id
		WHERE e.id = ? AND e.chat_id = ? AND e.company_id = ?`, id, chatID, cid).
		Scan(&e.ID, &e.ChatID, &e.Reason, &e.Force, &e.DeflectionChannel, &created, &chatStatus)
	if errors.Is(err, sql.ErrNoRows) {
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
	err = s.write(ctx, cid, func(q store.Querier, ch *changes) error {
		c, err := getChat(ctx, q, cid, chatID)
		if err != nil {
			return err
		}
		res, err := q.Exec(ctx, `UPDATE escalations SET deflection_channel = ?, updated_at = ? WHERE id = ? AND chat_id = ? AND company_id = ?`,
			deflection, time.Now().UnixMilli(), id, chatID, cid)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return parley.Errorf(parley.ENOTFOUND, "Escalation %d of chat %d not found.", id, chatID)
		}
		if _, err := q.Exec(ctx, `UPDATE chats SET deflection_channel = ?, updated_at = ? WHERE id = ?`, deflection, time.Now().UnixMilli(), chatID); err != nil {
			return err
		}
		return ch.log(ctx, q, c.ID, c.UUID, EventEscalationPatch, map[string]any{"escalation_id": id, "deflection_channel": deflection})
	})
	if err != nil {
		return nil, err
	}
	return s.GetEscalation(ctx, chatID, id)
}

// ChatUpdate is a partial change of a chat through the chat platform API;
// nil fields stay.
type ChatUpdate struct {
	Status            *string
	FinishedByUserID  *int64
	DeflectionChannel *string
	EscalationID      *int64
}

// UpdateChat applies a ChatUpdate: the deflection channel and escalation
// first, then the status change (escalating when the status is queued).
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
	if u.DeflectionChannel != nil || u.EscalationID != nil {
		err := s.write(ctx, cid, func(q store.Querier, ch *changes) error {
			c, err := getChat(ctx, q, cid, id)
			if err != nil {
				return err
			}
			data := map[string]any{}
			if u.EscalationID != nil {
				var one int
				err := q.QueryRow(ctx, `SELECT 1 FROM escalations WHERE id = ? AND chat_id = ?`, *u.EscalationID, id).Scan(&one)
				if errors.Is(err, sql.ErrNoRows) {
					return parley.FieldError("escalation_id", "escalation %d is not one of this chat's", *u.EscalationID)
				} else if err != nil {
					return err
				}
				if _, err := q.Exec(ctx, `UPDATE chats SET escalation_id = ? WHERE id = ?`, *u.EscalationID, id); err != nil {
					return err
				}
				data["escalation_id"] = *u.EscalationID
			}
			if u.DeflectionChannel != nil {
				if _, err := q.Exec(ctx, `UPDATE chats SET deflection_channel = ? WHERE id = ?`, *u.DeflectionChannel, id); err != nil {
					return err
				}
				data["deflection_channel"] = *u.DeflectionChannel
			}
			return ch.log(ctx, q, c.ID, c.UUID, EventChatUpdated, data)
		})
		if err != nil {
			return nil, err
		}
	}
	if u.Status != nil {
		c, err := s.GetChat(ctx, id)
		if err != nil {
			return nil, err
		}
		switch {
		case *u.Status == StatusQueued && c.Status == StatusVA:
			if _, err := s.Escalate(ctx, id, EscalationInput{Reason: "status_update"}); err != nil {
				return nil, err
			}
		case *u.Status == StatusVA && c.Status != StatusVA:
			return nil, parley.Errorf(parley.ECONFLICT, "Chat %d cannot go back to its virtual agent.", id)
		default:
			if _, err := s.ChangeStatus(ctx, id, StatusChange{Status: *u.Status, FinishedBy: u.FinishedByUserID}); err != nil {
				return nil, err
			}
		}
	}
	return s.GetChat(ctx, id)
}

// FlagsUpdate is a partial change of the customer flags.
type FlagsUpdate struct {
	VerifiedCustomer *bool
	BadActor         *bool
	RepeatCustomer   *bool
}

// SetFlags changes a chat's customer flags.
func (s *Service) SetFlags(ctx context.Context, chatID int64, u FlagsUpdate) (*CustomerFlags, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out CustomerFlags
	err = s.write(ctx, cid, func(q store.Querier, ch *changes) error {
		c, err := getChat(ctx, q, cid, chatID)
		if err != nil {
			return err
		}
		out, err = setFlags(ctx, q, ch, c, u)
		return err
	})
	return &out, err
}

func setFlags(ctx context.Context, q store.Querier, ch *changes, c *Chat, u FlagsUpdate) (CustomerFlags, error) {
	f := c.Flags
	if u.VerifiedCustomer != nil {
		f.VerifiedCustomer = *u.VerifiedCustomer
	}
	if u.BadActor != nil {
		f.BadActor = *u.BadActor
	}
	if u.RepeatCustomer != nil {
		f.RepeatCustomer = *u.RepeatCustomer
	}
	if _, err := q.Exec(ctx, `UPDATE chats SET verified_customer = ?, bad_actor = ?, repeat_customer = ?, updated_at = ? WHERE id = ?`,
		f.VerifiedCustomer, f.BadActor, f.RepeatCustomer, time.Now().UnixMilli(), c.ID); err != nil {
		return f, err
	}
	return f, ch.log(ctx, q, c.ID, c.UUID, EventChatUpdated, map[string]any{"customer_flag": map[string]bool{
		"verified_customer": f.VerifiedCustomer, "bad_actor": f.BadActor, "repeat_customer": f.RepeatCustomer}})
}

// CustomField is one entry of a chat's custom data.
type CustomField struct {
	Label string `json:"label,omitempty"`
	Value any    `json:"value"`
}

// Reserved custom data fields: they set the customer flags.
var reservedFlags = map[string]func(*FlagsUpdate, bool){
	"reserved_verified_customer": func(u *FlagsUpdate, b bool) { u.VerifiedCustomer = &b },
	"reserved_bad_actor":         func(u *FlagsUpdate, b bool) { u.BadActor = &b },
	"reserved_repeat_customer":   func(u *FlagsUpdate, b bool) { u.RepeatCustomer = &b },
}

// MaxCustomFields bounds the fields of one custom data update.
const MaxCustomFields = 100

// SetCustomData merges fields into a chat's custom data. reserved_* fields
// must hold a boolean value and set the customer flags instead.
func (s *Service) SetCustomData(ctx context.Context, chatID int64, fields map[string]CustomField) (json.RawMessage, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, parley.FieldError("data", "must hold at least one field")
	}
	if len(fields) > MaxCustomFields {
		return nil, parley.FieldError("data", "at most %d fields", MaxCustomFields)
	}
	var flags FlagsUpdate
	hasFlags := false
	plain := map[string]CustomField{}
	for k, f := range fields {
		if _, err := parley.ValidName("data", k, MaxName); err != nil {
			return nil, err
		}
		if set, ok := reservedFlags[k]; ok {
			b, ok := f.Value.(bool)
			if !ok {
				return nil, parley.FieldError("data."+k, "value must be true or false")
			}
			set(&flags, b)
			hasFlags = true
			continue
		}
		if strings.HasPrefix(k, "reserved_") {
			return nil, parley.FieldError("data."+k, "unknown reserved field")
		}
		plain[k] = f
	}
	var merged []byte
	err = s.write(ctx, cid, func(q store.Querier, ch *changes) error {
		c, err := getChat(ctx, q, cid, chatID)
		if err != nil {
			return err
		}
		cur := map[string]CustomField{}
		_ = json.Unmarshal(c.CustomData, &cur)
		for k, f := range plain {
			cur[k] = f
		}
		merged, err = json.Marshal(cur)
		if err != nil {
			return err
		}
		if len(merged) > MaxContext {
			return parley.FieldError("data", "the chat's custom data would exceed %d bytes", MaxContext)
		}
		if _, err := q.Exec(ctx, `UPDATE chats SET custom_data = ?, updated_at = ? WHERE id = ?`, string(merged), time.Now().UnixMilli(), c.ID); err != nil {
			return err
		}
		if hasFlags {
			if _, err := setFlags(ctx, q, ch, c, flags); err != nil {
				return err
			}
		}
		return ch.log(ctx, q, c.ID, c.UUID, EventChatUpdated, map[string]any{"custom_data": json.RawMessage(merged)})
	})
	return merged, err
}

// SignedCustomData verifies custom data signed by the company: an HS256 JWT
// made with the company secret, with exp and iat, whose custom_data claim
// holds the fields. Any other algorithm, a bad signature or an expired
// token is EINVALID.
func (s *Service) SignedCustomData(ctx context.Context, token string) (map[string]CustomField, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var secret string
	if err := s.DB.Reader().QueryRow(ctx, `SELECT secret FROM companies WHERE id = ?`, cid).Scan(&secret); err != nil {
		return nil, err
	}
	var claims struct {
		CustomData map[string]CustomField `json:"custom_data"`
		jwt.RegisteredClaims
	}
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second))
	if _, err := p.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return []byte(secret), nil }); err != nil {
		return nil, parley.FieldError("signed_data", "is not a valid HS256 JWT signed with the company secret (with exp and iat): %s", parley.Clip(err.Error()))
	}
	if claims.IssuedAt == nil {
		return nil, parley.FieldError("signed_data", "must have an iat claim")
	}
	if claims.CustomData == nil {
		return nil, parley.FieldError("signed_data", "must have a custom_data claim")
	}
	return claims.CustomData, nil
}
