// Package events carries domain events (dialog finished, call started,
// import progress...) from the code that changes state to whoever watches:
// the realtime stream and webhooks. In one process it is an in-memory
// fan-out; across nodes a NATS-backed bus will implement the same methods.
package events

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is one state change of a company's object.
type Event struct {
	Type      string         `json:"type"` // e.g. "dialog.finished", "message.created", "import.progress"
	CompanyID int64          `json:"company_id"`
	Subject   string         `json:"subject"` // UUID of the object that changed
	Data      map[string]any `json:"data,omitempty"`
	At        time.Time      `json:"at"`
	// ChatID and Seq place a chat's event in the chat's event log
	// (chat_events): Seq numbers a chat's events 1, 2, 3... without gaps,
	// so a realtime client can resume after the last one it saw. Both are
	// zero for events that are not about a chat.
	ChatID int64 `json:"chat_id,omitempty"`
	Seq    int64 `json:"seq,omitempty"`
}

// Bus fans events out to subscribers. Publish never blocks the state
// change that emits it: a subscriber that does not keep up loses events,
// which are counted so that it can resynchronize from the store.
type Bus struct {
	mu      sync.RWMutex
	next    int
	subs    map[int]chan Event
	dropped atomic.Int64
}

// NewBus makes an empty bus.
func NewBus() *Bus { return &Bus{subs: map[int]chan Event{}} }

// Publish delivers ev to every subscriber that has room for it.
func (b *Bus) Publish(ev Event) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, ch := range b.subs {
		select {
		case ch <- ev:
		default:
			b.dropped.Add(1)
		}
	}
}

// Subscribe returns a channel of events and a function that ends the
// subscription.
func (b *Bus) Subscribe(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = ch
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, id)
			b.mu.Unlock()
			close(ch)
		})
	}
}

// Dropped counts events lost to slow subscribers.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }
