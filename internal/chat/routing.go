package chat

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// Routing invariants, kept by conditional UPDATEs inside one transaction
// and so also across processes on one PostgreSQL:
//   - a chat has at most one operator: the chat UPDATE requires the status
//     and operator it read;
//   - an operator's load never exceeds capacity: the load UPDATE requires
//     load < capacity, which PostgreSQL re-checks after waiting for a
//     concurrent writer of the row.
// Every transaction that touches both rows locks the operator first, then
// the chat, so two of them cannot deadlock.

// assign gives queued (or, when an operator takes it by hand, any live)
// chat c to operator op. routed says the router picked the operator, who
// must then be online; an operator taking a chat may be busy.
func (t *tx) assign(ctx context.Context, c *Chat, op int64, routed bool) error {
	now := t.nowMS()
	cond := `load < capacity`
	if routed {
		cond += ` AND status = 'online'`
	}
	res, err := t.Exec(ctx, `UPDATE operators SET load = load + 1, last_assigned_at = ?, updated_at = ?
		WHERE id = ? AND company_id = ? AND `+cond, now, now, op, c.CompanyID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		if routed {
			return errRaced
		}
		return parley.Errorf(parley.ECONFLICT, "The operator is at capacity; finish a chat first.")
	}
	if c.Status == StatusAssigned && c.OperatorID != nil {
		if err := t.release(ctx, *c.OperatorID); err != nil {
			return err
		}
	}
	if err := t.setStatus(ctx, c, StatusAssigned, &op, ""); err != nil {
		return err
	}
	if err := t.addParticipant(ctx, c.ID, PartOperator, op); err != nil {
		return err
	}
	return t.log(ctx, c.ID, c.UUID, EventChatStatus, statusData(c, StatusAssigned, &op))
}

// lockOperator takes operator op's row lock before the transaction reads
// the row or writes a chat row, so that it keeps the lock order (operator,
// then chat). It is the lock an UPDATE takes (FOR NO KEY UPDATE), not FOR
// UPDATE: PostgreSQL re-checks a chat's foreign keys with FOR KEY SHARE on
// the operator row whenever a transaction writes a chat row it already
// wrote, which FOR UPDATE would block. On SQLite the write transaction
// already holds the whole database.
func lockOperator(ctx context.Context, q store.Querier, cid, op int64) error {
	return q.LockRows(ctx, store.LockNoKeyUpdate, "operators", "id = ? AND company_id = ?", op, cid)
}

// release takes one chat off an operator's load.
func (t *tx) release(ctx context.Context, op int64) error {
	_, err := t.Exec(ctx, `UPDATE operators SET load = CASE WHEN load > 0 THEN load - 1 ELSE 0 END WHERE id = ?`, op)
	return err
}

// requeue puts chat c back in the queue, releasing its operator.
func (t *tx) requeue(ctx context.Context, c *Chat, reason string) error {
	if c.Status == StatusAssigned && c.OperatorID != nil {
		if err := t.release(ctx, *c.OperatorID); err != nil {
			return err
		}
	}
	if err := t.setStatus(ctx, c, StatusQueued, nil, `queued_at = ?`, t.nowMS()); err != nil {
		return err
	}
	d := statusData(c, StatusQueued, nil)
	d["reason"] = reason
	return t.log(ctx, c.ID, c.UUID, EventChatStatus, d)
}

// candidate picks the operator a chat of the menu goes to: online, below
// capacity, in the menu (any operator when the menu names none), least
// loaded first, then the one idle longest.
func candidate(ctx context.Context, q store.Querier, cid int64, menu *int64) (int64, error) {
	var m int64
	if menu != nil {
		m = *menu
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT o.id FROM operators o
		WHERE o.company_id = ? AND o.status = 'online' AND o.load < o.capacity AND `+servesSQL("?", "o.id")+`
		ORDER BY o.load, o.last_assigned_at, o.id LIMIT 1`, cid, m, m).Scan(&id)
	return id, err
}

// DefaultSafetyPoll is how often the chat loops (routing, virtual agents)
// look for work no event announced. They wake on the events that give
// them work; this is only the net under them, long so that an idle node
// sleeps.
const DefaultSafetyPoll = 30 * time.Second

// Router assigns queued chats to operators. Every node runs one; they
// agree through the database, so any of them may assign any chat.
type Router struct {
	Chats *Service
	Log   *slog.Logger
	// Every is the safety poll: how often the queue is scanned besides
	// wake-ups (a chat queued or released, an operator online or freed:
	// Notice and Wake), for what no event announces (chat timeouts,
	// changes on a node whose events this one misses). Default 30s.
	Every    time.Duration
	wake     chan struct{}
	wakeOnce sync.Once
}

// Wake asks for a routing pass soon; it never blocks.
func (r *Router) Wake() {
	select {
	case r.wakeCh() <- struct{}{}:
	default:
	}
}

func (r *Router) wakeCh() chan struct{} {
	// Wake is called from request goroutines while Run starts.
	r.wakeOnce.Do(func() { r.wake = make(chan struct{}, 1) })
	return r.wake
}

// Notice wakes the router for chat events that may let it assign a chat:
// a chat entered the queue or an operator released one.
func (r *Router) Notice(ev events.Event) {
	if ev.Type == EventChatCreated || ev.Type == EventChatStatus {
		r.Wake()
	}
}

// Run routes until ctx ends.
func (r *Router) Run(ctx context.Context) {
	every := r.Every
	if every <= 0 {
		every = DefaultSafetyPoll
	}
	wake := r.wakeCh()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.RouteOnce(ctx); err != nil && ctx.Err() == nil {
			r.Log.Error("routing pass failed", "error", err)
		}
		if n, err := r.Chats.TimeOutChats(ctx, r.Chats.now()); err != nil && ctx.Err() == nil {
			r.Log.Error("chat timeouts failed", "error", err)
		} else if n > 0 {
			r.Log.Info("chats timed out", "chats", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// RouteOnce assigns the queued chats it can, oldest first, and reports how
// many it assigned.
func (r *Router) RouteOnce(ctx context.Context) (int, error) {
	s := r.Chats
	type job struct{ id, cid int64 }
	jobs, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (j job, err error) {
		err = r.Scan(&j.id, &j.cid)
		return j, err
	}, `SELECT id, company_id FROM chats WHERE status = ? ORDER BY queued_at, id LIMIT 500`, StatusQueued)
	if err != nil {
		return 0, err
	}
	assigned := 0
	full := map[[2]int64]bool{} // (company, menu) with no free operator in this pass
	for _, j := range jobs {
		if ctx.Err() != nil {
			return assigned, ctx.Err()
		}
		op, menu, err := s.routeChat(ctx, j.cid, j.id, full)
		if err != nil {
			return assigned, err
		}
		if op != 0 {
			assigned++
			if r.Log != nil {
				r.Log.Info("chat assigned", "chat_id", j.id, "company_id", j.cid, "operator_id", op)
			}
		} else if menu >= 0 {
			full[[2]int64{j.cid, menu}] = true
		}
	}
	return assigned, nil
}

// routeChat tries to assign one queued chat and returns the operator it
// went to (0: none). menu is the chat's menu (0 for none) when no
// operator was free, -1 otherwise.
func (s *Service) routeChat(ctx context.Context, cid, id int64, full map[[2]int64]bool) (int64, int64, error) {
	var assigned int64
	menu := int64(-1)
	err := s.retry(ctx, func() error {
		assigned, menu = 0, -1
		return s.write(ctx, cid, func(t *tx) error {
			c, err := getChat(ctx, t.Querier, cid, id)
			if err != nil || c.Status != StatusQueued {
				return nil // gone or taken meanwhile
			}
			var m int64
			if c.MenuID != nil {
				m = *c.MenuID
			}
			if full[[2]int64{cid, m}] {
				return nil
			}
			op, err := candidate(ctx, t.Querier, cid, c.MenuID)
			if errors.Is(err, store.ErrNoRows) {
				menu = m
				return nil
			} else if err != nil {
				return err
			}
			if err := t.assign(ctx, c, op, true); err != nil {
				return err
			}
			assigned = op
			return nil
		})
	})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return 0, -1, nil // lost every retry to other routers; next pass
	}
	return assigned, menu, err
}

// requeueOperator puts every chat assigned to op back in the queue, in the
// transaction that took the operator offline.
func (t *tx) requeueOperator(ctx context.Context, op int64) error {
	cs, err := queryChats(ctx, t.Querier, `SELECT `+chatColumns+` FROM chats WHERE company_id = ? AND operator_id = ? AND status = ?`, t.cid, op, StatusAssigned)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := t.requeue(ctx, c, "operator_offline"); err != nil {
			return err
		}
	}
	return nil
}
