// Package events carries domain events (dialog finished, call started,
// import progress...) from the code that changes state to whoever watches:
// the realtime stream and webhooks. In one process it is an in-memory
// fan-out; across nodes NATS (nats.go) forwards every node's events to the
// others, which inject them into their own bus as remote events.
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
	// Remote marks an event another node published, received through
	// NATS. Only SubscribeCluster subscribers see remote events: consumers
	// with side effects (webhooks) act on their own node's events only, so
	// that an event is acted on once in the cluster however many nodes see
	// it. It is never serialized.
	Remote bool `json:"-"`
}

type subscriber struct {
	ch      chan Event
	cluster bool // also remote events
}

// Bus fans events out to subscribers. Publish never blocks the state
// change that emits it: a subscriber that does not keep up loses events,
// which are counted so that it can resynchronize from the store.
type Bus struct {
	mu      sync.RWMutex
	next    int
	subs    map[int]subscriber
	forward func(Event)
	dropped atomic.Int64
}

// NewBus makes an empty bus.
func NewBus() *Bus { return &Bus{subs: map[int]subscriber{}} }

// Publish delivers an event of this node to every subscriber that has room
// for it, and hands it to the forwarder (NATS), if any.
func (b *Bus) Publish(ev Event) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	ev.Remote = false
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.fanOut(ev)
	if b.forward != nil {
		b.forward(ev)
	}
}

// Inject delivers an event another node published (received from NATS) to
// the SubscribeCluster subscribers of this node. It is not forwarded again.
func (b *Bus) Inject(ev Event) {
	ev.Remote = true
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.fanOut(ev)
}

func (b *Bus) fanOut(ev Event) {
	for _, s := range b.subs {
		if ev.Remote && !s.cluster {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			b.dropped.Add(1)
		}
	}
}

// Forward sets the function every event published on this node is handed
// to after its local fan-out; nil removes it. It runs in Publish, under the
// bus's read lock, so it must not block or publish.
func (b *Bus) Forward(fn func(Event)) {
	b.mu.Lock()
	b.forward = fn
	b.mu.Unlock()
}

// Subscribe returns a channel of this node's events and a function that
// ends the subscription. Events of other nodes are not delivered: this is
// what consumers with side effects (webhooks) use.
func (b *Bus) Subscribe(buffer int) (<-chan Event, func()) {
	return b.subscribe(buffer, false)
}

// SubscribeCluster is Subscribe for consumers that watch the whole
// cluster (the realtime stream): it delivers this node's events and the
// remote ones, marked Remote.
func (b *Bus) SubscribeCluster(buffer int) (<-chan Event, func()) {
	return b.subscribe(buffer, true)
}

func (b *Bus) subscribe(buffer int, cluster bool) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = subscriber{ch: ch, cluster: cluster}
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
