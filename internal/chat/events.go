package chat

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// Chat event types: every change of a chat appends one to the chat's event
// log and, after the commit, publishes it on the bus.
const (
	EventChatCreated     = "chat.created"
	EventChatStatus      = "chat.status"      // status, operator_id, virtual_agent_id
	EventMessageCreated  = "message.created"  // the message
	EventChatEscalated   = "chat.escalated"   // escalation id, reason
	EventChatUpdated     = "chat.updated"     // deflection channel, flags, custom data...
	EventChatMedia       = "chat.media"       // a photo or video was attached
	EventEndUserUpdated  = "end_user.updated" // identifier, name, email, phone
	EventEscalationPatch = "escalation.updated"
)

// LogEvent is one entry of a chat's event log.
type LogEvent struct {
	ChatID    int64
	Seq       int64
	Type      string
	Data      json.RawMessage
	CreatedAt time.Time
}

// log appends an event to a chat's log in the transaction.
func (t *tx) log(ctx context.Context, chatID int64, chatUUID, typ string, data map[string]any) error {
	var seq int64
	if err := t.QueryRow(ctx, `UPDATE chats SET event_seq = event_seq + 1 WHERE id = ? AND company_id = ? RETURNING event_seq`,
		chatID, t.cid).Scan(&seq); err != nil {
		return err
	}
	return t.logAt(ctx, chatID, chatUUID, seq, typ, data)
}

// logAt appends an event at seq, which the caller has just taken from the
// chat's event_seq in this transaction (a message post bumps it in the
// UPDATE that takes the message's seq). Nothing may log an event of the
// chat in between, or the log's order would differ from the seqs'.
func (t *tx) logAt(ctx context.Context, chatID int64, chatUUID string, seq int64, typ string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["chat_id"] = chatID
	data["chat_uuid"] = chatUUID
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := t.Exec(ctx, `INSERT INTO chat_events (chat_id, seq, company_id, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		chatID, seq, t.cid, typ, string(raw), t.nowMS()); err != nil {
		return err
	}
	t.events = append(t.events, events.Event{Type: typ, CompanyID: t.cid, Subject: chatUUID, Data: data, At: t.now,
		ChatID: chatID, Seq: seq})
	return nil
}

// MaxEventsPage bounds one read of a chat's event log.
const MaxEventsPage = 1000

// EventsAfter returns up to limit events of a chat of the caller's company
// with seq > after, oldest first. first is the seq of the oldest event the
// log still holds (0 when it is empty) and last the chat's newest seq: a
// reader that wants events after `after` but finds first > after+1 has
// missed purged events and must resynchronize from the chat itself.
func (s *Service) EventsAfter(ctx context.Context, chatID, after int64, limit int) (evs []LogEvent, first, last int64, err error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	if limit <= 0 || limit > MaxEventsPage {
		limit = MaxEventsPage
	}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		c, err := s.seenChat(ctx, q, cid, chatID)
		if err != nil {
			return err
		}
		last = c.EventSeq
		var min *int64
		if err := q.QueryRow(ctx, `SELECT MIN(seq) FROM chat_events WHERE chat_id = ?`, chatID).Scan(&min); err != nil {
			return err
		}
		if min != nil {
			first = *min
		}
		evs, err = store.Collect(ctx, q, func(r store.Scanner) (LogEvent, error) {
			e := LogEvent{ChatID: chatID}
			var data string
			var created int64
			err := r.Scan(&e.Seq, &e.Type, &data, &created)
			e.Data, e.CreatedAt = json.RawMessage(data), ms(created)
			return e, err
		}, `SELECT seq, type, data, created_at FROM chat_events WHERE chat_id = ? AND seq > ? ORDER BY seq LIMIT ?`, chatID, after, limit)
		return err
	})
	return evs, first, last, err
}

// Resync reports whether a reader that saw events up to after can no longer
// catch up from the log, given EventsAfter's first and last.
func Resync(after, first, last int64) bool {
	return after < last && (first == 0 || first > after+1)
}

// EventRetention is how long chat events stay in the log: realtime clients
// resume from it for this long, and resync from the chat after that.
const EventRetention = 7 * 24 * time.Hour

// PurgeEvents deletes chat events older than before, across companies (the
// janitor's job). Realtime clients that come back after that resync.
func (s *Service) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	return s.purge(ctx, `DELETE FROM chat_events WHERE created_at < ?`, before)
}

// purge runs a DELETE of rows older than before (its one parameter), across
// companies, and reports how many went.
func (s *Service) purge(ctx context.Context, query string, before time.Time) (int64, error) {
	var n int64
	err := s.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, query, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
