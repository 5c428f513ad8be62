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
//
// Who may see and act on which chat is one rule, in sight.go: staff see
// the company, an operator the chats assigned to them and the queue of
// their menus. Every method that reads or changes a chat for a caller
// applies it, so no API family decides it.
//
// Files hold one aggregate each: chats.go (the chat and its status
// machine), sight.go (who sees which chat), messages.go and idempotency.go
// (posting), enduserview.go (what an end user sees of their chat),
// operators.go, endusers.go, projects.go, menus.go, escalations.go,
// customdata.go (customer flags and custom data), media.go, uploads.go and
// uploadforms.go (photos and videos, their forms and quotas), events.go
// (the chat event log), typing.go, views.go (the chat as the chat platform
// shows it), stats.go (live load), routing.go (the router) and
// virtualagents.go (scripts serving chats).
package chat
