package realtime

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

// The wire protocol: JSON text frames, one object each, told apart by
// "type". docs/realtime.md is its reference.

// Client frame types.
const (
	cSubscribe   = "subscribe"
	cUnsubscribe = "unsubscribe"
	cPing        = "ping"
)

// Server frame types.
const (
	sEvent        = "event"
	sResync       = "resync"
	sError        = "error"
	sPong         = "pong"
	sSubscribed   = "subscribed"
	sUnsubscribed = "unsubscribed"
	sSynced       = "synced"
)

// Resync and unsubscribe reasons.
const (
	reasonPurged     = "events_purged"    // the log no longer holds the events after the client's seq
	reasonAhead      = "after_too_large"  // the client claims a seq the chat has not reached
	reasonNotVisible = "not_visible"      // an operator's chat left their sight (taken by another operator...)
	reasonRequested  = "requested"        // the client unsubscribed
	reasonGone       = "chat_unavailable" // the chat could not be read any more
)

// clientFrame is every field a client frame may carry.
type clientFrame struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id,omitempty"` // echoed in the answer, for the client's bookkeeping
	Chats   []chatRequest   `json:"chats"`
	All     bool            `json:"all"`
	ChatIDs []int64         `json:"chat_ids"`
	Calls   bool            `json:"calls"` // call transfers (calls.go)
}

type chatRequest struct {
	ChatID int64  `json:"chat_id"`
	After  *int64 `json:"after"` // last seq seen; absent: from now
}

type errorFrame struct {
	Type    string          `json:"type"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	ChatID  int64           `json:"chat_id,omitempty"`
	ID      json.RawMessage `json:"id,omitempty"`
}

type idFrame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id,omitempty"`
}

type subscribedFrame struct {
	Type    string          `json:"type"`
	ChatIDs []int64         `json:"chat_ids"`
	All     bool            `json:"all,omitempty"`
	Calls   bool            `json:"calls,omitempty"`
	ID      json.RawMessage `json:"id,omitempty"`
}

type unsubscribedFrame struct {
	Type    string          `json:"type"`
	ChatIDs []int64         `json:"chat_ids"`
	All     bool            `json:"all,omitempty"`
	Reason  string          `json:"reason"`
	ID      json.RawMessage `json:"id,omitempty"`
}

type resyncFrame struct {
	Type   string `json:"type"`
	ChatID int64  `json:"chat_id"`
	Reason string `json:"reason"`
	Seq    int64  `json:"seq"` // the chat's newest seq: the stream goes on after it
}

type syncedFrame struct {
	Type   string `json:"type"`
	ChatID int64  `json:"chat_id"`
	Seq    int64  `json:"seq"`
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // frames are plain structs: a failure is a bug
	}
	return b
}

// timeFormat is the families' (RFC 3339 in UTC with milliseconds), the
// precision the event log stores: a live event and its replay from the log
// are the same bytes.
const timeFormat = api.TimeFormat

// eventFrame encodes one chat event; data is its JSON object.
func eventFrame(chatID, seq int64, typ string, data []byte, at time.Time) []byte {
	if len(data) == 0 {
		data = []byte("{}")
	}
	b := make([]byte, 0, len(data)+len(typ)+96)
	b = append(b, `{"type":"event","chat_id":`...)
	b = strconv.AppendInt(b, chatID, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"event":`...)
	t, _ := json.Marshal(typ)
	b = append(b, t...)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	b = append(b, `,"at":"`...)
	b = at.UTC().AppendFormat(b, timeFormat)
	b = append(b, `"}`...)
	return b
}

// ephemeralFrame encodes an event that is not logged (typing): an event
// frame without "seq".
func ephemeralFrame(chatID int64, typ string, data []byte, at time.Time) []byte {
	t, _ := json.Marshal(typ)
	b := make([]byte, 0, len(data)+len(typ)+80)
	b = append(b, `{"type":"event","chat_id":`...)
	b = strconv.AppendInt(b, chatID, 10)
	b = append(b, `,"event":`...)
	b = append(b, t...)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	b = append(b, `,"at":"`...)
	b = at.UTC().AppendFormat(b, timeFormat)
	b = append(b, `"}`...)
	return b
}

func logFrame(e chat.LogEvent) []byte {
	return eventFrame(e.ChatID, e.Seq, e.Type, e.Data, e.CreatedAt)
}
