package chat

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// Service manages end users, operators, chats and messages within the
// caller's company. An object of another company is reported as not found,
// exactly like one that does not exist.
type Service struct {
	DB  *store.DB
	Bus *events.Bus // chat events are published here after commit; may be nil
	// OnChange, when set, sees every chat event after commit too: the
	// server wakes the router and the virtual agents with it.
	OnChange func(events.Event)
	// Timeout ends a live chat whose end user has been silent this long
	// (status timed_out); 0 never times chats out.
	Timeout time.Duration
	// Inactivity is the default inactivity rule (inactivity.go) of menus
	// that set none, and of chats without a menu; 0 turns it off for them.
	Inactivity time.Duration
	// OperatorFree, when set, is called when an operator may take more
	// chats (came online, capacity raised): the server wakes the router.
	OperatorFree func()
	// Now is the service's clock; nil is time.Now. A transaction reads it
	// once, so that every time it stores is the same instant.
	Now func() time.Time
}

// now reads the service's clock.
func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// tx is one write transaction of the chat domain: the querier, the
// company it writes in, the one instant it stores as "now", and the chat
// events it logged, which are published only once it has committed, so
// that no watcher ever sees a change that rolled back.
type tx struct {
	store.Querier
	cid     int64
	now     time.Time
	timeout time.Duration // the service's Timeout
	events  []events.Event
}

// nowMS is the transaction's instant as stored: unix milliseconds.
func (t *tx) nowMS() int64 { return t.now.UnixMilli() }

// write runs fn in a write transaction of company cid and, after the
// commit, publishes the events it logged.
func (s *Service) write(ctx context.Context, cid int64, fn func(t *tx) error) error {
	var t *tx
	err := s.DB.Write(ctx, func(q store.Querier) error {
		// Times are stored in milliseconds: now is one of them.
		t = &tx{Querier: q, cid: cid, now: s.now().Truncate(time.Millisecond), timeout: s.Timeout}
		return fn(t)
	})
	if err != nil {
		return err
	}
	s.publish(t.events)
	return nil
}

// publish sends the events of a committed transaction.
func (s *Service) publish(evs []events.Event) {
	if s.Bus != nil {
		for _, ev := range evs {
			s.Bus.Publish(ev)
		}
	}
	if s.OnChange != nil {
		for _, ev := range evs {
			s.OnChange(ev)
		}
	}
}

// errRaced marks a transaction that lost a race with another writer after
// its reads; it is retried from the start.
var errRaced = errors.New("chat: changed concurrently")

// retry runs fn again when it lost a race, a few times.
func (s *Service) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if !errors.Is(err, errRaced) {
			return err
		}
		if attempt >= 5 {
			return parley.Errorf(parley.ECONFLICT, "The chat changed meanwhile; retry.")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Limits of user input shared by several objects.
const (
	MaxName    = 200
	MaxContact = 1000
	// MaxPage is the most objects (messages, chats) one list returns.
	MaxPage = 1000
)

// ms is a stored time (unix milliseconds) as a time.
func ms(t int64) time.Time { return time.UnixMilli(t).UTC() }

// msPtr is a nullable stored time as a time.
func msPtr(t *int64) *time.Time {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}

func newUUID() string { return uuid.NewString() }
