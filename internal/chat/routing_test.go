package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

// world is a server without background workers and one tenant, driven
// through the chat service directly.
type world struct {
	env *testenv.Env
	tn  *testenv.Tenant
	svc *chat.Service
	ctx context.Context
	log *slog.Logger
}

func newWorld(t *testing.T, dsn string) *world {
	t.Helper()
	env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
	tn := env.NewTenant(t, "Acme")
	ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: tn.CompanyID, CompanyUUID: tn.CompanyUUID, Role: parley.RoleAdmin})
	return &world{env: env, tn: tn, svc: env.Chats, ctx: ctx, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func (w *world) operator(t *testing.T, name, status string, capacity int) int64 {
	t.Helper()
	o, err := w.svc.CreateOperator(w.ctx, name, status)
	if err != nil {
		t.Fatalf("create operator %s: %v", name, err)
	}
	if _, err := w.svc.UpdateOperator(w.ctx, o.ID, chat.OperatorUpdate{Capacity: &capacity}); err != nil {
		t.Fatalf("set capacity of %s: %v", name, err)
	}
	return o.ID
}

func (w *world) menu(t *testing.T, name, agentUUID string, ops ...int64) int64 {
	t.Helper()
	m, err := w.svc.CreateMenu(w.ctx, chat.NewMenu{Name: name, AgentUUID: agentUUID, OperatorIDs: ops})
	if err != nil {
		t.Fatalf("create menu %s: %v", name, err)
	}
	return m.ID
}

// open starts a chat in menu with a new end user.
func (w *world) open(t *testing.T, menu int64) *chat.Chat {
	t.Helper()
	u, err := w.svc.CreateClient(w.ctx, chat.NewEndUser{Name: "client"})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	o, err := w.svc.OpenChat(w.ctx, chat.NewChat{EndUserID: u.ID, MenuID: menu})
	if err != nil {
		t.Fatalf("open chat: %v", err)
	}
	return o.Chat
}

// nextMilli waits until the wall clock's millisecond changes, so that the
// next assignment's last_assigned_at is later than every earlier one.
func nextMilli() {
	for t0 := time.Now().UnixMilli(); time.Now().UnixMilli() == t0; {
		time.Sleep(100 * time.Microsecond)
	}
}

// TestRouterChoosesOperator checks the router's choice step by step: online
// operators of the chat's menu (every operator when the menu names none)
// with free capacity, the least loaded first, then the one idle longest
// (last_assigned_at), then the lowest id; busy and offline operators, and
// operators at capacity, never get a chat from the router.
func TestRouterChoosesOperator(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		ctx := w.ctx
		r := &chat.Router{Chats: w.svc, Log: w.log}

		a := w.operator(t, "A", chat.OperatorOnline, 2)
		b := w.operator(t, "B", chat.OperatorOnline, 2)
		c := w.operator(t, "C", chat.OperatorOnline, 2) // in no menu but m0
		d := w.operator(t, "D", chat.OperatorBusy, 5)
		e := w.operator(t, "E", chat.OperatorOffline, 5)
		z := w.operator(t, "Z", chat.OperatorOnline, 0) // online, never any room
		name := map[int64]string{a: "A", b: "B", c: "C", d: "D", e: "E", z: "Z"}
		m1 := w.menu(t, "m1", "", a, b, d, e, z)
		m0 := w.menu(t, "m0", "") // names none: every operator

		route := func(want int) {
			t.Helper()
			nextMilli()
			n, err := r.RouteOnce(ctx)
			if err != nil {
				t.Fatalf("RouteOnce: %v", err)
			}
			if n != want {
				t.Fatalf("RouteOnce assigned %d chats, want %d", n, want)
			}
		}
		expect := func(what string, id, op int64) {
			t.Helper()
			got, err := w.svc.GetChat(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case op == 0 && (got.Status != chat.StatusQueued || got.OperatorID != nil):
				t.Fatalf("%s: chat %d is %s with operator %v, want it queued", what, id, got.Status, got.OperatorID)
			case op != 0 && (got.Status != chat.StatusAssigned || got.OperatorID == nil || *got.OperatorID != op):
				who := "none"
				if got.OperatorID != nil {
					who = name[*got.OperatorID]
				}
				t.Fatalf("%s: chat %d is %s with operator %s, want assigned to %s", what, id, got.Status, who, name[op])
			}
		}
		finish := func(ids ...int64) {
			t.Helper()
			for _, id := range ids {
				if _, err := w.svc.UpdateChatStatus(ctx, id, chat.StatusFinished, nil); err != nil {
					t.Fatalf("finish chat %d: %v", id, err)
				}
			}
		}
		loads := func(want map[int64]int) {
			t.Helper()
			ops, err := w.svc.ListOperators(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range ops {
				if l, ok := want[o.ID]; ok && o.Load != l {
					t.Errorf("operator %s has load %d, want %d", name[o.ID], o.Load, l)
				}
			}
			checkSnapshot(t, ctx, w.env.DB, w.tn.CompanyID)
		}

		c1 := w.open(t, m1).ID
		route(1)
		expect("equal load, never assigned: lowest id", c1, a)
		c2 := w.open(t, m1).ID
		route(1)
		expect("least loaded", c2, b)
		finish(c2) // A 1 (t1), B 0 (t2)
		c3 := w.open(t, m1).ID
		route(1)
		expect("least loaded though assigned more recently", c3, b)
		finish(c1, c3) // A 0 (t1), B 0 (t3)
		c4 := w.open(t, m1).ID
		route(1)
		expect("equal load: longest idle", c4, a)
		finish(c4) // A 0 (t4), B 0 (t3)
		c5 := w.open(t, m1).ID
		route(1)
		expect("equal load: longest idle before lower id", c5, b)
		loads(map[int64]int{a: 0, b: 1, c: 0, d: 0, e: 0, z: 0})

		c6 := w.open(t, m1).ID
		route(1)
		expect("least loaded", c6, a) // A 1 (t6), B 1 (t5)
		c7 := w.open(t, m1).ID
		route(1)
		expect("equal load: longest idle", c7, b) // A 1, B 2
		c8 := w.open(t, m1).ID
		route(1)
		expect("least loaded", c8, a) // A 2, B 2: both full
		// C has room but is not in m1; D is busy, E offline, Z has no room.
		c9 := w.open(t, m1).ID
		route(0)
		expect("no operator of the menu may take it", c9, 0)
		// A menu naming none is served by every operator: only C is free.
		c10 := w.open(t, m0).ID
		route(1)
		expect("menu naming no operator", c10, c)
		expect("still waiting", c9, 0)
		loads(map[int64]int{a: 2, b: 2, c: 1, d: 0, e: 0, z: 0})

		// D comes online and gets the waiting chat.
		online, offline := chat.OperatorOnline, chat.OperatorOffline
		if _, err := w.svc.UpdateOperator(ctx, d, chat.OperatorUpdate{Status: &online}); err != nil {
			t.Fatal(err)
		}
		route(1)
		expect("operator came online", c9, d)
		// A goes offline: its chats go back to the queue, and to D (B is
		// full, E offline, Z without room), never back to A.
		if _, err := w.svc.UpdateOperator(ctx, a, chat.OperatorUpdate{Status: &offline}); err != nil {
			t.Fatal(err)
		}
		expect("requeued when its operator went offline", c6, 0)
		expect("requeued when its operator went offline", c8, 0)
		loads(map[int64]int{a: 0, b: 2, c: 1, d: 1, e: 0, z: 0})
		route(2)
		expect("requeued chat rerouted", c6, d)
		expect("requeued chat rerouted", c8, d)
		loads(map[int64]int{a: 0, b: 2, c: 1, d: 3, e: 0, z: 0})
		route(0)
	})
}

// checkSnapshot checks the routing invariants that hold in every committed
// state, each with one statement (one snapshot on both engines):
//   - an operator's load equals its assigned chats and never exceeds its
//     capacity; an offline operator has no assigned chat;
//   - an assigned chat has an operator of its menu (or its menu names
//     none); a chat that is not assigned has no operator unless it ended;
//   - every chat's event log is 1..event_seq without gaps.
func checkSnapshot(t *testing.T, ctx context.Context, db *store.DB, cid int64) bool {
	t.Helper()
	q := db.Reader()
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		ok = false
	}
	rows, err := q.Query(ctx, `SELECT o.id, o.status, o.load, o.capacity,
		(SELECT COUNT(*) FROM chats c WHERE c.operator_id = o.id AND c.status = 'assigned')
		FROM operators o WHERE o.company_id = ? ORDER BY o.id`, cid)
	if err != nil {
		fail("query operators: %v", err)
		return false
	}
	for rows.Next() {
		var id int64
		var status string
		var load, capacity, assigned int
		if err := rows.Scan(&id, &status, &load, &capacity, &assigned); err != nil {
			fail("scan operator: %v", err)
			break
		}
		if load > capacity {
			fail("operator %d (%s) has load %d over its capacity %d", id, status, load, capacity)
		}
		if load != assigned {
			fail("operator %d (%s) has load %d but %d assigned chats", id, status, load, assigned)
		}
		if status == chat.OperatorOffline && assigned != 0 {
			fail("operator %d is offline with %d assigned chats", id, assigned)
		}
	}
	rows.Close()

	rows, err = q.Query(ctx, `SELECT c.id, c.status, c.operator_id, c.menu_id FROM chats c
		WHERE c.company_id = ? AND (
		    (c.status = 'assigned' AND (c.operator_id IS NULL OR (
		        EXISTS (SELECT 1 FROM menu_operators m WHERE m.menu_id = c.menu_id)
		        AND NOT EXISTS (SELECT 1 FROM menu_operators m WHERE m.menu_id = c.menu_id AND m.operator_id = c.operator_id))))
		 OR (c.status IN ('queued', 'va_assigned') AND c.operator_id IS NOT NULL)
		 OR c.event_seq <> (SELECT COUNT(*) FROM chat_events e WHERE e.chat_id = c.id)
		 OR c.event_seq <> (SELECT COALESCE(MAX(e.seq), 0) FROM chat_events e WHERE e.chat_id = c.id)
		 OR (SELECT COALESCE(MIN(e.seq), 1) FROM chat_events e WHERE e.chat_id = c.id) <> 1)
		ORDER BY c.id`, cid)
	if err != nil {
		fail("query chats: %v", err)
		return false
	}
	for rows.Next() {
		var id int64
		var status string
		var op, menu *int64
		if err := rows.Scan(&id, &status, &op, &menu); err != nil {
			fail("scan chat: %v", err)
			break
		}
		fail("chat %d (%s, operator %v, menu %v): assigned outside its menu, operator out of step with status, or event log not 1..event_seq",
			id, status, deref(op), deref(menu))
	}
	rows.Close()
	return ok
}

func deref(p *int64) any {
	if p == nil {
		return "NULL"
	}
	return *p
}

// TestRoutingInvariantsUnderConcurrency escalates 150 chats from many
// goroutines while three routers (on PostgreSQL each with its own
// connection pool, like three nodes) assign them, operators flip between
// offline and online (one of them from two goroutines at once), chats are
// finished, force-escalated back to the queue and opened straight into the
// queue. A monitor checks the invariants of every committed state as it
// goes; at the end, after the routers have quiesced, the final state and
// every chat's event log are checked against what the workers were told.
func TestRoutingInvariantsUnderConcurrency(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		ctx := w.ctx
		cid := w.tn.CompanyID

		caps := []int{1, 2, 3, 1, 2, 3}
		ops := make([]int64, len(caps))
		for i, c := range caps {
			ops[i] = w.operator(t, fmt.Sprintf("op%d", i), chat.OperatorOnline, c)
		}
		vaMenus := []int64{
			w.menu(t, "all", w.tn.AgentUUID), // names none: every operator
			w.menu(t, "first", w.tn.AgentUUID, ops[0], ops[1], ops[2]),
			w.menu(t, "last", w.tn.AgentUUID, ops[3], ops[4]),
			w.menu(t, "one", w.tn.AgentUUID, ops[5]),
		}
		direct := w.menu(t, "direct", "", ops[1], ops[4]) // no virtual agent: queued at once

		const nChats = 150
		var chatIDs []int64
		for i := range nChats {
			c := w.open(t, vaMenus[i%len(vaMenus)])
			if c.Status != chat.StatusVA {
				t.Fatalf("chat of a menu with a virtual agent starts %s", c.Status)
			}
			chatIDs = append(chatIDs, c.ID)
		}

		// Routers: on PostgreSQL two of them have pools of their own.
		routerSvcs := []*chat.Service{w.svc, w.svc, w.svc}
		if w.env.DB.Dialect == store.Postgres {
			for i := 1; i < 3; i++ {
				db, err := store.Open(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				routerSvcs[i] = &chat.Service{DB: db}
			}
		}

		var (
			mu          sync.Mutex
			escalated   = map[int64]bool{} // Escalate answered
			finished    = map[int64]bool{} // ChangeStatus to finished answered
			created     []int64            // opened straight into the queue
			nForced     atomic.Int64
			nFlips      atomic.Int64
			nRouted     atomic.Int64
			nChecks     atomic.Int64
			escalations sync.WaitGroup
			workers     sync.WaitGroup
			routers     sync.WaitGroup
		)
		stopWork := make(chan struct{})
		stopRouters := make(chan struct{})
		stopped := func(ch chan struct{}) bool {
			select {
			case <-ch:
				return true
			default:
				return false
			}
		}
		// conflictOK accepts the conflicts a racing caller may get: the
		// chat ended meanwhile, or it lost every retry.
		conflictOK := func(what string, id int64, err error) bool {
			if err == nil {
				return true
			}
			if parley.ErrorCode(err) == parley.ECONFLICT {
				return false
			}
			t.Errorf("%s chat %d: %v", what, id, err)
			return false
		}
		assignedChats := func() []int64 {
			rows, err := w.env.DB.Reader().Query(ctx, `SELECT id FROM chats WHERE company_id = ? AND status = 'assigned'`, cid)
			if err != nil {
				t.Errorf("list assigned chats: %v", err)
				return nil
			}
			defer rows.Close()
			var ids []int64
			for rows.Next() {
				var id int64
				if rows.Scan(&id) == nil {
					ids = append(ids, id)
				}
			}
			return ids
		}

		for i, svc := range routerSvcs {
			r := &chat.Router{Chats: svc, Log: w.log}
			routers.Add(1)
			go func() {
				defer routers.Done()
				for !stopped(stopRouters) {
					n, err := r.RouteOnce(ctx)
					if err != nil {
						t.Errorf("router %d: %v", i, err)
						return
					}
					nRouted.Add(int64(n))
					if n == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}

		// The monitor checks every committed state it can catch.
		monitorDone := make(chan struct{})
		go func() {
			defer close(monitorDone)
			for !stopped(stopRouters) {
				if !checkSnapshot(t, ctx, w.env.DB, cid) {
					return
				}
				nChecks.Add(1)
			}
		}()

		// Escalations: every va_assigned chat, from ten goroutines.
		order := rand.Perm(nChats)
		next := make(chan int64)
		for range 10 {
			escalations.Add(1)
			go func() {
				defer escalations.Done()
				for id := range next {
					_, err := w.svc.Escalate(ctx, id, chat.EscalationInput{Reason: "wants a human"})
					if conflictOK("escalate", id, err) {
						mu.Lock()
						escalated[id] = true
						mu.Unlock()
					}
				}
			}()
		}
		go func() {
			for _, i := range order {
				next <- chatIDs[i]
			}
			close(next)
		}()

		// Finishers: mostly chats operators have, some chats at any stage.
		const wantFinished = 50
		for g := range 2 {
			workers.Add(1)
			go func() {
				defer workers.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for !stopped(stopWork) {
					var id int64
					if rng.IntN(4) == 0 {
						id = chatIDs[rng.IntN(nChats)]
					} else if ids := assignedChats(); len(ids) > 0 {
						id = ids[rng.IntN(len(ids))]
					} else {
						time.Sleep(time.Millisecond)
						continue
					}
					_, err := w.svc.UpdateChatStatus(ctx, id, chat.StatusFinished, nil)
					if conflictOK("finish", id, err) {
						mu.Lock()
						finished[id] = true
						n := len(finished)
						mu.Unlock()
						if n >= wantFinished {
							return
						}
					}
					time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				}
			}()
		}

		// Forced escalations put assigned chats back in the queue.
		const wantForced = 30
		workers.Add(1)
		go func() {
			defer workers.Done()
			for nForced.Load() < wantForced && !stopped(stopWork) {
				ids := assignedChats()
				if len(ids) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				id := ids[rand.IntN(len(ids))]
				_, err := w.svc.Escalate(ctx, id, chat.EscalationInput{Reason: "another operator", Force: true})
				if conflictOK("force-escalate", id, err) {
					nForced.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()

		// New chats straight into the queue.
		workers.Add(1)
		go func() {
			defer workers.Done()
			for range 20 {
				u, err := w.svc.CreateClient(ctx, chat.NewEndUser{Name: "walk-in"})
				if err != nil {
					t.Errorf("create client: %v", err)
					return
				}
				c, err := w.svc.OpenChat(ctx, chat.NewChat{EndUserID: u.ID, MenuID: direct})
				if err != nil {
					t.Errorf("open chat: %v", err)
					return
				}
				mu.Lock()
				created = append(created, c.Chat.ID)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()

		// Flippers set operators offline or online at random: op0 and op2
		// from three goroutines at once (an operator's two browser tabs and
		// an admin), op3 and op5 from one each. They run until the other
		// workers are done.
		const wantFlips = 200
		for g, op := range []int64{ops[0], ops[0], ops[0], ops[2], ops[2], ops[2], ops[3], ops[5]} {
			workers.Add(1)
			go func() {
				defer workers.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 2))
				for !stopped(stopWork) {
					st := chat.OperatorOffline
					if rng.IntN(2) == 1 {
						st = chat.OperatorOnline
					}
					if _, err := w.svc.UpdateOperator(ctx, op, chat.OperatorUpdate{Status: &st}); err != nil {
						t.Errorf("set operator %d %s: %v", op, st, err)
						return
					}
					nFlips.Add(1)
					time.Sleep(time.Duration(rng.IntN(2)) * time.Millisecond)
				}
			}()
		}

		// The run ends when every chat was escalated (or finished first),
		// enough chats were finished and force-escalated, and the flippers
		// flipped enough.
		escalations.Wait()
		for {
			mu.Lock()
			nf, nc := len(finished), len(created)
			mu.Unlock()
			if (nf >= wantFinished && nForced.Load() >= wantForced && nFlips.Load() >= wantFlips && nc == 20) || t.Failed() {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(stopWork)
		workers.Wait()

		// Leave op0 offline and everyone else online, let the routers
		// finish their work, then stop them and route to a fixpoint.
		offline, online := chat.OperatorOffline, chat.OperatorOnline
		for _, op := range ops {
			st := &online
			if op == ops[0] {
				st = &offline
			}
			if _, err := w.svc.UpdateOperator(ctx, op, chat.OperatorUpdate{Status: st}); err != nil {
				t.Fatal(err)
			}
		}
		close(stopRouters)
		routers.Wait()
		<-monitorDone
		r := &chat.Router{Chats: w.svc, Log: w.log}
		for {
			n, err := r.RouteOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			nRouted.Add(int64(n))
		}
		if t.Failed() {
			return
		}
		if nChecks.Load() == 0 {
			t.Fatal("the monitor never completed a check")
		}
		if !checkSnapshot(t, ctx, w.env.DB, cid) {
			return
		}
		t.Logf("routed %d, finished %d, forced %d, flips %d, monitor checks %d",
			nRouted.Load(), len(finished), nForced.Load(), nFlips.Load(), nChecks.Load())

		all := append(append([]int64{}, chatIDs...), created...)
		checkFinal(t, w, all, escalated, finished, ops[0])
	})
}

// checkFinal checks the quiesced state against what the workers were told
// and replays every chat's event log.
func checkFinal(t *testing.T, w *world, all []int64, escalated, finished map[int64]bool, offlineOp int64) {
	t.Helper()
	ctx, q, cid := w.ctx, w.env.DB.Reader(), w.tn.CompanyID
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM chats WHERE company_id = ?`, cid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(all) {
		t.Errorf("%d chats in the database, %d opened", n, len(all))
	}
	// Nothing is left to route: no queued chat has a free operator.
	rows, err := q.Query(ctx, `SELECT c.id FROM chats c WHERE c.company_id = ? AND c.status = 'queued' AND EXISTS (
		SELECT 1 FROM operators o WHERE o.company_id = c.company_id AND o.status = 'online' AND o.load < o.capacity
		  AND (NOT EXISTS (SELECT 1 FROM menu_operators a WHERE a.menu_id = c.menu_id)
		       OR EXISTS (SELECT 1 FROM menu_operators b WHERE b.menu_id = c.menu_id AND b.operator_id = o.id)))`, cid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		t.Errorf("chat %d is queued although an operator of its menu has room", id)
	}
	rows.Close()

	escalationRows := map[int64]int{}
	rows, err = q.Query(ctx, `SELECT chat_id, COUNT(*) FROM escalations WHERE company_id = ? GROUP BY chat_id`, cid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var k int
		_ = rows.Scan(&id, &k)
		escalationRows[id] = k
	}
	rows.Close()

	for _, id := range all {
		c, err := w.svc.GetChat(ctx, id)
		if err != nil {
			t.Fatalf("chat %d: %v", id, err)
		}
		switch c.Status {
		case chat.StatusQueued, chat.StatusAssigned:
			if finished[id] {
				t.Errorf("chat %d was finished but is %s", id, c.Status)
			}
		case chat.StatusFinished:
			if !finished[id] {
				t.Errorf("chat %d is finished but no finish was acknowledged", id)
			}
		default:
			t.Errorf("chat %d ended up %s: lost on the way", id, c.Status)
		}
		if c.Status == chat.StatusAssigned && *c.OperatorID == offlineOp {
			t.Errorf("chat %d is assigned to offline operator %d", id, offlineOp)
		}

		evs, first, last, err := w.svc.EventsAfter(ctx, id, 0, chat.MaxEventsPage)
		if err != nil {
			t.Fatal(err)
		}
		if first != 1 || last != c.EventSeq || int64(len(evs)) != last {
			t.Errorf("chat %d: event log first %d, last %d, %d events, event_seq %d", id, first, last, len(evs), c.EventSeq)
			continue
		}
		// Replay the log: every status change starts from the status the
		// log last set, follows the state machine, and the log ends where
		// the chat is.
		status, op := "", int64(0)
		nEscalated := 0
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Errorf("chat %d: event %d has seq %d", id, i+1, e.Seq)
				break
			}
			var d struct {
				Status     string `json:"status"`
				Previous   string `json:"previous"`
				OperatorID int64  `json:"operator_id"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatalf("chat %d event %d: %v", id, e.Seq, err)
			}
			switch e.Type {
			case chat.EventChatCreated:
				if i != 0 {
					t.Errorf("chat %d: chat.created at seq %d", id, e.Seq)
				}
				status = d.Status
			case chat.EventChatStatus:
				if d.Previous != status {
					t.Errorf("chat %d event %d: %s -> %s, but the log had it %s", id, e.Seq, d.Previous, d.Status, status)
				}
				if !legal(status, d.Status) {
					t.Errorf("chat %d event %d: illegal %s -> %s", id, e.Seq, status, d.Status)
				}
				status, op = d.Status, d.OperatorID
			case chat.EventChatEscalated:
				nEscalated++
			}
		}
		if status != c.Status {
			t.Errorf("chat %d is %s but its event log ends %s", id, c.Status, status)
		}
		if c.Status == chat.StatusAssigned && op != *c.OperatorID {
			t.Errorf("chat %d is assigned to %d but its event log to %d", id, *c.OperatorID, op)
		}
		if nEscalated != escalationRows[id] {
			t.Errorf("chat %d: %d escalations, %d chat.escalated events", id, escalationRows[id], nEscalated)
		}
		if escalated[id] && nEscalated == 0 {
			t.Errorf("chat %d: escalation acknowledged but not logged", id)
		}
	}
	if t.Failed() {
		var ids []int64
		for id := range finished {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		t.Logf("finished: %v", ids)
	}
}

func legal(from, to string) bool {
	next := map[string][]string{
		chat.StatusVA:       {chat.StatusQueued, chat.StatusFinished, chat.StatusDismissed, chat.StatusTimedOut},
		chat.StatusQueued:   {chat.StatusAssigned, chat.StatusFinished, chat.StatusDismissed, chat.StatusTimedOut},
		chat.StatusAssigned: {chat.StatusQueued, chat.StatusFinished, chat.StatusDismissed, chat.StatusTimedOut},
	}
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// TestRouterWakeConcurrently: Wake is called from request goroutines while
// the router starts; the race detector checks it is safe.
func TestRouterWakeConcurrently(t *testing.T) {
	r := &chat.Router{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r.Wake()
		}()
	}
	close(start)
	wg.Wait()
}
