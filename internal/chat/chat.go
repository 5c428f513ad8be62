// Package chat is the live-chat domain: end users (clients), operators,
// chats and their messages, all scoped to the caller's company.
//
// A chat's status follows this state machine:
//
//	queued ──► assigned ──► finished
//	   │           │
//	   ├───────────┴──────► dismissed
//	   └──────────────────► finished
//
// queued: waiting for an operator (the v1 API calls it "open").
// assigned: an operator took it; operator_id is set.
// finished: the conversation ended normally ("closed" in v1); ended_at is set.
// dismissed: ended without being served (spam, abandoned); ended_at is set.
// finished and dismissed are final: no transition leaves them and no message
// can be posted to them. Setting a chat to the status it already has is a
// no-op for queued and assigned, and a conflict for the final statuses.
package chat

import "time"

// Chat statuses.
const (
	StatusQueued    = "queued"
	StatusAssigned  = "assigned"
	StatusFinished  = "finished"
	StatusDismissed = "dismissed"
)

// transitions lists the statuses each status may move to.
var transitions = map[string]map[string]bool{
	StatusQueued:   {StatusAssigned: true, StatusFinished: true, StatusDismissed: true},
	StatusAssigned: {StatusFinished: true, StatusDismissed: true},
}

// Final reports whether a status ends the chat.
func Final(status string) bool { return status == StatusFinished || status == StatusDismissed }

// ValidStatus reports whether s names a chat status.
func ValidStatus(s string) bool {
	return s == StatusQueued || s == StatusAssigned || Final(s)
}

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

// Operator statuses.
const (
	OperatorOnline  = "online"
	OperatorOffline = "offline"
	OperatorBusy    = "busy"
)

// ValidOperatorStatus reports whether s names an operator status.
func ValidOperatorStatus(s string) bool {
	return s == OperatorOnline || s == OperatorOffline || s == OperatorBusy
}

// EndUser is a customer who writes to the company (a "client" in v1).
type EndUser struct {
	ID          int64
	UUID        string
	CompanyID   int64
	Identifier  string
	Name        string
	Email       string
	Phone       string
	ContactInfo string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NewEndUser is the input of CreateClient. An empty Identifier gets a
// generated one.
type NewEndUser struct {
	Identifier  string
	Name        string
	Email       string
	Phone       string
	ContactInfo string
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

// Operator is a human agent who answers chats.
type Operator struct {
	ID        int64
	UserID    *int64
	Name      string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Project is a chat entry point (a widget or an API project); the live-chat
// gateway addresses chats through it.
type Project struct {
	ID        int64
	UUID      string
	CompanyID int64
	Name      string
	CreatedAt time.Time
}
