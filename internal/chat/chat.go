// Package chat is the live-chat domain: end users (clients), operators,
// chats and their messages, all scoped to the caller's company.
//
// A chat's status follows this state machine:
//
//	            ┌─────────── escalation ───────────┐
//	va_assigned ┘                                  ▼
//	     │                  queued ◄── requeue ── assigned
//	     │                    │  └─── routing ────► │
//	     └────────────────────┴─────────┬───────────┘
//	                                    ▼
//	                  finished | dismissed | timed_out
//
// va_assigned: the menu's virtual agent is serving the chat.
// queued: waiting for an operator (the v1 API calls it "open"); the router
// assigns it to an online operator of its menu with free capacity.
// assigned: an operator has it; operator_id is set and counts in their load.
// An operator going offline puts their assigned chats back in the queue.
// finished: ended normally ("closed" in v1); dismissed: ended without being
// served; timed_out: the end user went away. ended_at is set for the three
// final statuses; nothing leaves them and no message can be posted to them.
// Setting a chat to the status it already has is a no-op for the live
// statuses and a conflict for the final ones.
package chat

import (
	"encoding/json"
	"time"
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
}

// CustomerFlags are the chat's reserved customer attributes.
type CustomerFlags struct {
	VerifiedCustomer bool
	BadActor         bool
	RepeatCustomer   bool
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
	FirstName string
	Avatar    string
	Status    string
	Capacity  int // most chats assigned at once
	Load      int // chats assigned now
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
	MenuID    *int64 // the menu new chats of the project go through
	CreatedAt time.Time
}

// Menu is a queue chats are routed through: the virtual agent answers
// first, then the menu's operators (every operator when it names none).
type Menu struct {
	ID          int64
	CompanyID   int64
	Name        string
	AgentID     *int64 // the virtual agent, if any
	OperatorIDs []int64
	CreatedAt   time.Time
}
