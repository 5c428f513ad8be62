package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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

// changes collects the events of one transaction; they are published only
// once it has committed, so no watcher ever sees a change that rolled back.
type changes struct {
	cid    int64
	events []events.Event
}

// write runs fn in a write transaction and publishes the events it logged
// after the commit.
func (s *Service) write(ctx context.Context, cid int64, fn func(q store.Querier, ch *changes) error) error {
	ch := &changes{cid: cid}
	err := s.DB.Write(ctx, func(q store.Querier) error {
		ch.events = ch.events[:0] // a retried transaction starts over
		return fn(q, ch)
	})
	if err != nil {
		return err
	}
	if s.Bus != nil {
		for _, ev := range ch.events {
			s.Bus.Publish(ev)
		}
	}
	if s.OnChange != nil {
		for _, ev := range ch.events {
			s.OnChange(ev)
		}
	}
	return nil
}

// log appends an event to a chat's log in the caller's transaction.
func (ch *changes) log(ctx context.Context, q store.Querier, chatID int64, chatUUID, typ string, data map[string]any) error {
	var seq int64
	if err := q.QueryRow(ctx, `UPDATE chats SET event_seq = event_seq + 1 WHERE id = ? AND company_id = ? RETURNING event_seq`,
		chatID, ch.cid).Scan(&seq); err != nil {
		return err
	}
	return ch.logAt(ctx, q, chatID, chatUUID, seq, typ, data)
}

// logAt appends an event at seq, which the caller has just taken from the
// chat's event_seq in this transaction (a message post bumps it in the
// UPDATE that takes the message's seq). Nothing may log an event of the
// chat in between, or the log's order would differ from the seqs'.
func (ch *changes) logAt(ctx context.Context, q store.Querier, chatID int64, chatUUID string, seq int64, typ string, data map[string]any) error {
	now := time.Now().UTC()
	if data == nil {
		data = map[string]any{}
	}
	data["chat_id"] = chatID
	data["chat_uuid"] = chatUUID
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `INSERT INTO chat_events (chat_id, seq, company_id, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		chatID, seq, ch.cid, typ, string(raw), now.UnixMilli()); err != nil {
		return err
	}
	ch.events = append(ch.events, events.Event{Type: typ, CompanyID: ch.cid, Subject: chatUUID, Data: data, At: now,
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
		err := q.QueryRow(ctx, `SELECT event_seq FROM chats WHERE id = ? AND company_id = ?`, chatID, cid).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return chatNotFound(chatID)
		} else if err != nil {
			return err
		}
		var min sql.NullInt64
		if err := q.QueryRow(ctx, `SELECT MIN(seq) FROM chat_events WHERE chat_id = ?`, chatID).Scan(&min); err != nil {
			return err
		}
		first = min.Int64
		rows, err := q.Query(ctx, `SELECT seq, type, data, created_at FROM chat_events WHERE chat_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			chatID, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := LogEvent{ChatID: chatID}
			var data string
			var created int64
			if err := rows.Scan(&e.Seq, &e.Type, &data, &created); err != nil {
				return err
			}
			e.Data, e.CreatedAt = json.RawMessage(data), ms(created)
			evs = append(evs, e)
		}
		return rows.Err()
	})
	return evs, first, last, err
}

// Resync reports whether a reader that saw events up to after can no longer
// catch up from the log, given EventsAfter's first and last.
func Resync(after, first, last int64) bool {
	return after < last && (first == 0 || first > after+1)
}

// PurgeEvents deletes chat events older than before, across companies (the
// janitor's job). Realtime clients that come back after that resync.
func (s *Service) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `DELETE FROM chat_events WHERE created_at < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
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
