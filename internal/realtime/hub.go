// Package realtime serves the WebSocket stream of chat events (GET
// /v1/stream) and the end-user stream tokens (POST /v1/stream/tokens).
//
// One Hub per node subscribes once to the event bus (cluster-wide when
// NATS links the nodes) and fans each chat event out to the connections
// that watch the chat, or all chats of its company. A client resumes a chat
// from the last seq it saw: the hub replays the chat's event log from the
// database, then goes on with live events, with no gap and no duplicate.
// docs/realtime.md describes the protocol.
package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/jwt"
	"github.com/parley-cc/parley/internal/store"
)

// Config is what a hub needs. Zero limits take the defaults.
type Config struct {
	DB     *store.DB
	Chats  *chat.Service
	Tokens *auth.TokenService
	Bus    *events.Bus
	Log    *slog.Logger

	// QueueFrames and QueueBytes bound the frames waiting to be written to
	// one connection (default 1024 frames, 4 MiB). A client that lets them
	// fill up is closed with close code 4008 and resumes with "after".
	QueueFrames int
	QueueBytes  int
	// MaxChats bounds the chats one connection subscribes to (default 1000).
	MaxChats int
	// MaxUserConns bounds the connections one staff or operator user holds
	// open at once, on this node (default DefaultMaxUserConns); the next
	// one is refused with 429 before the upgrade.
	MaxUserConns int
	// PingEvery is how long a connection may stay silent before the server
	// pings it (default 30s); a ping unanswered for as long closes it.
	// Negative turns pings off.
	PingEvery time.Duration
	// WriteTimeout bounds one frame's write (default 10s).
	WriteTimeout time.Duration
	// BusBuffer is the hub's event buffer on the bus (default 65536).
	BusBuffer int
	// Now is the clock of end-user tokens (issue and expiry); nil is
	// time.Now.
	Now func() time.Time
}

// Hub is a node's realtime stream.
type Hub struct {
	Config

	key      []byte
	verifier *jwt.Verifier

	startOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	loopDone  chan struct{}
	handlers  sync.WaitGroup
	closed    atomic.Bool

	mu        sync.RWMutex
	conns     map[*conn]struct{}
	chats     map[int64]map[*conn]struct{} // explicit chat subscriptions
	companies map[int64]map[*conn]struct{} // "all" subscriptions
	callSubs  map[int64]map[*conn]struct{} // "calls" subscriptions (calls.go)
	// endUsers counts the open connections of each chat's end-user token:
	// a widget token is cheap to get, so its connections are capped.
	endUsers map[int64]int
	// users counts the open connections of each staff or operator user:
	// each may watch "all", so they are capped too.
	users map[int64]int

	// states caches chats' status, operator and menu for operators'
	// visibility, and sights the operators' sights; only the hub's loop
	// touches them.
	states map[int64]chatState
	sights map[int64]*heldSight

	stats Stats
}

// Stats are counters of a hub since it started.
type Stats struct {
	Connections   atomic.Int64 // open now
	Delivered     atomic.Int64 // event frames queued for clients
	SlowConsumers atomic.Int64 // connections closed for not keeping up
	Fills         atomic.Int64 // reads of the event log (resumes and gaps)
}

// New builds a hub, creating its token signing key at the first start.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.QueueFrames <= 0 {
		cfg.QueueFrames = 1024
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 4 << 20
	}
	if cfg.MaxChats <= 0 {
		cfg.MaxChats = 1000
	}
	if cfg.MaxUserConns <= 0 {
		cfg.MaxUserConns = DefaultMaxUserConns
	}
	if cfg.PingEvery == 0 {
		cfg.PingEvery = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.BusBuffer <= 0 {
		cfg.BusBuffer = 65536
	}
	key, err := loadKey(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Hub{Config: cfg, key: key,
		conns: map[*conn]struct{}{}, chats: map[int64]map[*conn]struct{}{}, companies: map[int64]map[*conn]struct{}{},
		endUsers: map[int64]int{}, users: map[int64]int{}, states: map[int64]chatState{}, sights: map[int64]*heldSight{}}
	h.verifier = jwt.NewVerifier(jwt.Rules{Issuer: issuer, Audience: endUserAudience, Leeway: leeway, Now: cfg.Now})
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.loopDone = make(chan struct{})
	return h, nil
}

// Stats returns the hub's counters.
func (h *Hub) Stats() *Stats { return &h.stats }

// Register mounts the stream and the token route.
func (h *Hub) Register(mux *http.ServeMux) {
	api.Route(mux, "GET /v1/stream", http.HandlerFunc(h.serveStream))
	api.Route(mux, "POST /v1/stream/tokens", api.LimitBody(4<<10,
		api.Bearer(h.Tokens, h.writeError, api.WriteErrors(h.writeError, h.issueToken))))
	for path, allow := range map[string]string{"/v1/stream": "GET", "/v1/stream/tokens": "POST"} {
		api.Route(mux, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			h.writeError(w, r, parley.Errorf(parley.EMETHOD, "%s is not allowed on %s; use %s.", r.Method, path, allow))
		}))
	}
}

// start subscribes to the bus and runs the fan-out loop, once, at the
// first connection: a node nobody watches pays nothing.
func (h *Hub) start() {
	h.startOnce.Do(func() {
		evs, stop := h.Bus.SubscribeCluster(h.BusBuffer)
		go func() {
			defer close(h.loopDone)
			defer stop()
			h.loop(evs)
		}()
		if h.PingEvery > 0 {
			go h.pinger()
		}
	})
}

func (h *Hub) loop(evs <-chan events.Event) {
	for {
		select {
		case <-h.ctx.Done():
			return
		case ev, ok := <-evs:
			if !ok {
				return
			}
			if ev.ChatID != 0 && ev.Seq > 0 && ev.CompanyID != 0 {
				h.dispatch(ev)
			} else if ev.ChatID != 0 && ev.CompanyID != 0 && ev.Type == chat.EventTyping {
				h.dispatchEphemeral(ev)
			} else if isTransferChange(ev) {
				h.dispatchTransfer(ev)
			}
		}
	}
}

// target is a connection an event may go to.
type target struct {
	c        *conn
	explicit bool // subscribed to the chat itself, not only to "all"
}

// dispatch fans one chat event out.
func (h *Hub) dispatch(ev events.Event) {
	var targets []target
	h.mu.RLock()
	explicit := h.chats[ev.ChatID]
	for c := range explicit {
		targets = append(targets, target{c, true})
	}
	for c := range h.companies[ev.CompanyID] {
		if _, dup := explicit[c]; !dup { // one delivery per connection
			targets = append(targets, target{c, false})
		}
	}
	h.mu.RUnlock()

	needState := false
	for _, t := range targets {
		if t.c.p.kind == kindOperator && t.c.p.company == ev.CompanyID {
			needState = true
			break
		}
	}
	before, after := h.track(ev, needState)
	if len(targets) == 0 {
		return
	}
	var frame []byte
	for _, t := range targets {
		p := t.c.p
		if p.company != ev.CompanyID {
			continue // never another company's event, whatever the index says
		}
		vb, va := h.sees(p, ev.ChatID, before), h.sees(p, ev.ChatID, after)
		if !vb && !va {
			continue
		}
		if frame == nil {
			data, err := jsonData(ev.Data)
			if err != nil {
				h.Log.Error("realtime: event data is not JSON", "event_type", ev.Type, "error", err)
				return
			}
			frame = eventFrame(ev.ChatID, ev.Seq, ev.Type, data, ev.At)
		}
		t.c.live(ev, frame, t.explicit, va)
	}
}

// dispatchEphemeral fans out an event that is not in the chat's log
// (typing): it goes, without a seq, to the connections that watch the chat
// now and see it, and is never replayed.
func (h *Hub) dispatchEphemeral(ev events.Event) {
	var targets []*conn
	h.mu.RLock()
	for c := range h.chats[ev.ChatID] {
		targets = append(targets, c)
	}
	for c := range h.companies[ev.CompanyID] {
		if _, dup := h.chats[ev.ChatID][c]; !dup {
			targets = append(targets, c)
		}
	}
	h.mu.RUnlock()
	var frame []byte
	for _, c := range targets {
		p := c.p
		if p.company != ev.CompanyID || !p.allowed(ev.Type, str(ev.Data["sender_type"])) {
			continue
		}
		if p.kind == kindOperator {
			st, ok := h.states[ev.ChatID]
			if !ok {
				if st = h.load(ev); st.known {
					h.states[ev.ChatID] = st
				}
			}
			if !h.sees(p, ev.ChatID, st) {
				continue
			}
		} else if !h.sees(p, ev.ChatID, chatState{}) {
			continue
		}
		if frame == nil {
			data, err := jsonData(ev.Data)
			if err != nil {
				return
			}
			frame = ephemeralFrame(ev.ChatID, ev.Type, data, ev.At)
		}
		c.ephemeral(ev.ChatID, frame)
	}
}

// track keeps the cached state of ev's chat and returns it before and
// after ev. A chat not in the cache is read from the database only when an
// operator's connection needs it (needed).
func (h *Hub) track(ev events.Event, needed bool) (before, after chatState) {
	st, ok := h.states[ev.ChatID]
	if !ok {
		if !needed {
			return chatState{}, chatState{}
		}
		st = h.load(ev)
		if !st.known {
			return st, st
		}
		after = st
		before = st
		// The row is at least as new as ev: work out the state before ev
		// from what ev says.
		switch ev.Type {
		case chat.EventChatCreated:
			before = chatState{}
		case chat.EventChatStatus:
			prev, _ := ev.Data["previous"].(string)
			before = chatState{status: prev, menu: st.menu, known: true}
			if chat.Final(str(ev.Data["status"])) {
				before.operator = st.operator // ending keeps the operator
			} else {
				before.operator = num(ev.Data["previous_operator_id"])
			}
		}
		if len(h.states) >= maxStates {
			clear(h.states)
		}
		h.states[ev.ChatID] = st
		return before, after
	}
	before = st
	switch {
	case ev.Seq > st.seq+1 && needed:
		// Events went by unseen (a full bus buffer): the cache may be
		// stale, so read the chat again.
		if fresh := h.load(ev); fresh.known {
			st = fresh
		} else {
			st = apply(st, ev)
		}
		h.states[ev.ChatID] = st
	case ev.Seq > st.seq:
		st = apply(st, ev)
		h.states[ev.ChatID] = st
	}
	return before, st
}

// maxStates bounds the visibility cache; past it, it starts over.
const maxStates = 100_000

// apply moves a chat's state along one of its events.
func apply(st chatState, ev events.Event) chatState {
	st.seq = ev.Seq
	switch ev.Type {
	case chat.EventChatCreated:
		st.status, st.operator, st.menu = str(ev.Data["status"]), 0, num(ev.Data["menu_id"])
	case chat.EventChatStatus:
		st.status = str(ev.Data["status"])
		switch st.status {
		case chat.StatusAssigned:
			st.operator = num(ev.Data["operator_id"])
		case chat.StatusQueued, chat.StatusVA:
			st.operator = 0
		}
	}
	return st
}

// load reads a chat's state from the database.
func (h *Hub) load(ev events.Event) chatState {
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	ctx = parley.WithCaller(ctx, parley.Caller{CompanyID: ev.CompanyID, Role: parley.RoleAdmin})
	c, err := h.Chats.GetChat(ctx, ev.ChatID)
	if err != nil {
		if parley.ErrorCode(err) != parley.ENOTFOUND && h.ctx.Err() == nil {
			h.Log.Warn("realtime: chat state not read; operators miss this event", "chat_id", ev.ChatID, "error", err)
		}
		return chatState{}
	}
	return stateOf(c)
}

func stateOf(c *chat.Chat) chatState {
	st := chatState{status: c.Status, seq: c.EventSeq, known: true}
	if c.OperatorID != nil {
		st.operator = *c.OperatorID
	}
	if c.MenuID != nil {
		st.menu = *c.MenuID
	}
	return st
}

// heldSight is an operator's sight as the hub's loop keeps it.
type heldSight struct {
	sight  *chat.Sight
	loaded time.Time
}

// Sights are taken again this often, so that a change of a menu's
// operators reaches the streams; a sight that meets a menu it does not
// know (created since) is taken again at once, at most once a second.
const (
	sightTTL   = 10 * time.Second
	sightRetry = time.Second
)

// sight returns operator p's sight, taken again when it is old or does not
// know menu. Only the loop calls it. nil when none could ever be read.
func (h *Hub) sight(p *principal, menu int64) *chat.Sight {
	held := h.sights[p.operator]
	now := time.Now()
	if held != nil {
		age := now.Sub(held.loaded)
		if age < sightTTL && (held.sight.Knows(menu) || age < sightRetry) {
			return held.sight
		}
	}
	ctx, cancel := context.WithTimeout(p.ctx(h.ctx), 5*time.Second)
	defer cancel()
	g, err := h.Chats.Sight(ctx)
	if err != nil {
		if h.ctx.Err() == nil {
			h.Log.Warn("realtime: operator's sight not read; keeping the last one", "operator_id", p.operator, "error", err)
		}
		if held == nil {
			return nil
		}
		held.loaded = now // not again at once
		return held.sight
	}
	if len(h.sights) >= maxStates {
		clear(h.sights)
	}
	h.sights[p.operator] = &heldSight{sight: g, loaded: now}
	return g
}

// ---- connection registry ----

// add registers a connection; its handler must call h.handlers.Done when
// it ends. It fails once the hub is closing.
func (h *Hub) add(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed.Load() {
		return false
	}
	h.handlers.Add(1)
	h.conns[c] = struct{}{}
	h.stats.Connections.Add(1)
	return true
}

// MaxEndUserConns bounds the connections open at once with one chat's
// end-user tokens (a widget in a few tabs needs a handful).
const MaxEndUserConns = 16

// DefaultMaxUserConns is the default of Config.MaxUserConns: a console in
// a few tabs, a supervisor page and an integration or two.
const DefaultMaxUserConns = 16

// reserve takes one of p's connection slots: its chat's for an end user,
// its user's otherwise. It reports the limit when none is left.
func (h *Hub) reserve(p *principal) (ok bool, limit int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	counts, key, limit := h.slotOf(p)
	if counts[key] >= limit {
		return false, limit
	}
	counts[key]++
	return true, limit
}

// slotOf is the count p's connections are held against, its key and limit.
func (h *Hub) slotOf(p *principal) (counts map[int64]int, key int64, limit int) {
	if p.kind == kindEndUser {
		return h.endUsers, p.chat, MaxEndUserConns
	}
	return h.users, p.caller.UserID, h.MaxUserConns
}

func (h *Hub) release(p *principal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked(p)
}

func (h *Hub) releaseLocked(p *principal) {
	counts, key, _ := h.slotOf(p)
	if counts[key] <= 1 {
		delete(counts, key)
		return
	}
	counts[key]--
}

// remove forgets a connection and all its subscriptions.
func (h *Hub) remove(c *conn, chats []int64, all bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.stats.Connections.Add(-1)
	h.releaseLocked(c.p)
	for _, id := range chats {
		h.unindexChat(c, id)
	}
	if all {
		h.unindexAll(c)
	}
	h.unindexCalls(c)
}

func (h *Hub) indexChat(c *conn, id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.chats[id]
	if m == nil {
		m = map[*conn]struct{}{}
		h.chats[id] = m
	}
	m[c] = struct{}{}
}

func (h *Hub) unindexChat(c *conn, id int64) {
	if m := h.chats[id]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(h.chats, id)
		}
	}
}

func (h *Hub) dropChat(c *conn, id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unindexChat(c, id)
}

func (h *Hub) indexAll(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.companies[c.p.company]
	if m == nil {
		m = map[*conn]struct{}{}
		h.companies[c.p.company] = m
	}
	m[c] = struct{}{}
}

func (h *Hub) unindexAll(c *conn) {
	if m := h.companies[c.p.company]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(h.companies, c.p.company)
		}
	}
}

func (h *Hub) dropAll(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unindexAll(c)
}

// pinger pings connections that have been silent for PingEvery.
func (h *Hub) pinger() {
	t := time.NewTicker(max(h.PingEvery/3, 10*time.Millisecond))
	defer t.Stop()
	var cs []*conn
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		cs = cs[:0]
		h.mu.RLock()
		for c := range h.conns {
			cs = append(cs, c)
		}
		h.mu.RUnlock()
		now := time.Now().UnixNano()
		for _, c := range cs {
			if now-c.lastSeen.Load() >= int64(h.PingEvery) && c.pinging.CompareAndSwap(false, true) {
				go c.ping()
			}
		}
		clear(cs)
	}
}

// Close ends every connection (close code 1001) and stops the hub. Call
// it before the database closes: connections read it.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed.Load() {
		h.mu.Unlock()
		return
	}
	h.closed.Store(true)
	cs := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.shut(websocket.StatusGoingAway, "server shutting down")
	}
	wait := func(d time.Duration) {
		done := make(chan struct{})
		go func() { h.handlers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(d):
		}
	}
	wait(3 * time.Second) // close handshakes
	h.cancel()            // then cut what is left
	wait(2 * time.Second)
	h.startOnce.Do(func() { close(h.loopDone) }) // never started: nothing to wait for
	<-h.loopDone
}

// jsonData encodes an event's data object.
func jsonData(d map[string]any) ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(d)
}

// str and num read event data fields, which are Go values on the node
// that published the event and JSON-decoded ones (json.Number) on others.
func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	}
	return 0
}
