package chat

import (
	"encoding/json"
	"strings"
)

// What an end user sees of their own chat: one filter for the widget's
// REST API (ListMessages for an end-user caller) and the end-user stream
// (internal/realtime asks EndUserSeesEvent for every event it would send).
// Staff notes (system messages) and the company's own business
// (escalations, flags, custom data) never reach the end user.

// endUserEvents are the chat event types an end user receives.
var endUserEvents = map[string]bool{
	EventChatCreated: true, EventChatStatus: true, EventMessageCreated: true,
	EventChatMedia: true, EventEndUserUpdated: true, EventTyping: true,
}

// hiddenSenders are the sender types whose messages the end user never
// sees.
var hiddenSenders = []string{SenderSystem}

// EndUserSeesMessage reports whether the end user sees a message sent by
// senderType.
func EndUserSeesMessage(senderType string) bool {
	for _, h := range hiddenSenders {
		if senderType == h {
			return false
		}
	}
	return true
}

// EndUserSeesEvent reports whether the end user's stream carries a chat
// event of type typ; senderType is the sender of a message.created event's
// message ("" for other types).
func EndUserSeesEvent(typ, senderType string) bool {
	if !endUserEvents[typ] {
		return false
	}
	return typ != EventMessageCreated || EndUserSeesMessage(senderType)
}

// EventSender reads the sender type of a logged message.created event's
// data ("" for other events or unreadable data).
func EventSender(typ string, data json.RawMessage) string {
	if typ != EventMessageCreated {
		return ""
	}
	var d struct {
		SenderType string `json:"sender_type"`
	}
	_ = json.Unmarshal(data, &d)
	return d.SenderType
}

// hiddenSendersSQL is the SQL condition on chat_messages that keeps what
// the end user sees (its values are constants, not user input).
var hiddenSendersSQL = ` AND sender_type NOT IN ('` + strings.Join(hiddenSenders, `', '`) + `')`
