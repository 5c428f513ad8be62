package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/events"
)

const (
	// maxFrame bounds a client frame: a subscribe to 1000 chats fits.
	maxFrame = 64 << 10
	// fillPage is how many logged events one read of the log takes.
	fillPage = 200
	// StatusSlowConsumer closes a connection whose client does not read
	// its frames fast enough; it resumes with "after" on reconnect.
	StatusSlowConsumer websocket.StatusCode = 4008
)

// conn is one WebSocket client. Its frames wait in a bounded queue; a
// writer goroutine exists only while the queue is not empty, so an idle
// connection costs one goroutine (its reader) and a few hundred bytes.
type conn struct {
	hub      *Hub
	ws       *websocket.Conn
	p        *principal
	lastSeen atomic.Int64 // unix nanos of the last frame from the client
	pinging  atomic.Bool
	closed   atomic.Bool // written under mu; read without it by the writer

	mu      sync.Mutex
	space   sync.Cond // the queue drained or the connection closed
	queue   [][]byte
	qbytes  int
	writing bool
	all     bool
	subs    map[int64]*sub
	gen     uint64
}

// sub is a connection's subscription to one chat.
type sub struct {
	last     int64 // seq of the newest event accounted for: sent, or not meant for this client
	target   int64 // while filling: the newest seq known to exist
	filling  bool  // the log is being read; live events only raise target
	fresh    bool  // "from now": last is not known yet
	read     bool  // the log has been read once: target holds the chat's seq
	announce bool  // send "synced" when the first fill ends
	gen      uint64
}

// serveStream authenticates the request, upgrades it and runs the
// connection's reader until the client goes.
func (h *Hub) serveStream(w http.ResponseWriter, r *http.Request) {
	p, err := h.authenticate(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	api.Info(r.Context()).CompanyID = p.company
	if h.closed.Load() {
		h.writeError(w, r, parley.Errorf(parley.EINTERNAL, "The server is shutting down."))
		return
	}
	if ok, limit := h.reserve(p); !ok {
		what := "per user"
		if p.kind == kindEndUser {
			what = "per chat for its end user"
		}
		w.Header().Set("Retry-After", "10")
		api.WriteJSON(w, http.StatusTooManyRequests, api.NestedError{Error: api.NestedErrorDetail{Code: "too_many_connections",
			Message: fmt.Sprintf("At most %d connections %s; close one first.", limit, what)}})
		return
	}
	registered := false
	defer func() {
		if !registered {
			h.release(p) // from here on, remove releases it
		}
	}()
	h.start()
	c := &conn{hub: h, p: p}
	c.space.L = &c.mu
	c.lastSeen.Store(time.Now().UnixNano())
	// The HTTP server's read and write timeouts are for requests; a stream
	// lives on, with pings to find dead peers.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Any origin: the stream authenticates with tokens, never cookies,
		// so a foreign page cannot ride on a user's session.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
		OnPingReceived: func(context.Context, []byte) bool {
			c.lastSeen.Store(time.Now().UnixNano())
			return true
		},
	})
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(maxFrame)
	c.ws = ws
	if !h.add(c) {
		_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	registered = true
	// The reader runs in a goroutine of its own and the handler returns:
	// the HTTP server's goroutine, with its deep stack, the request and
	// the response buffers, is freed for the connection's lifetime.
	go func() {
		defer h.handlers.Done()
		defer c.finish()
		c.read()
	}()
}

// read handles the client's frames until the connection ends.
func (c *conn) read() {
	for {
		typ, data, err := c.ws.Read(c.hub.ctx)
		if err != nil {
			return
		}
		c.lastSeen.Store(time.Now().UnixNano())
		if typ != websocket.MessageText {
			c.sendError(parley.EMALFORMED, "Frames must be JSON text.", 0, nil)
			continue
		}
		var f clientFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.sendError(parley.EMALFORMED, "A frame must be a JSON object with a \"type\".", 0, nil)
			continue
		}
		switch f.Type {
		case cSubscribe:
			c.subscribe(f)
		case cUnsubscribe:
			c.unsubscribe(f)
		case cPing:
			c.send(encode(idFrame{Type: sPong, ID: f.ID}))
		default:
			c.sendError(parley.EINVALID, "Unknown frame type "+quote(f.Type)+"; use subscribe, unsubscribe or ping.", 0, f.ID)
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(parley.Clip(s))
	return string(b)
}

func (c *conn) subscribe(f clientFrame) {
	if f.Calls {
		if c.p.kind == kindEndUser {
			c.sendError(parley.EFORBIDDEN, "An end-user token watches its own chat only.", 0, f.ID)
			return
		}
		c.hub.indexCalls(c)
		c.send(encode(subscribedFrame{Type: sSubscribed, ChatIDs: []int64{}, Calls: true, ID: f.ID}))
		if !f.All && len(f.Chats) == 0 {
			return
		}
	}
	if !f.All && len(f.Chats) == 0 {
		c.sendError(parley.EINVALID, `A subscribe frame names "chats", or says "all": true or "calls": true.`, 0, f.ID)
		return
	}
	if len(f.Chats) > c.hub.MaxChats {
		c.sendError(parley.EINVALID, "At most "+itoa(c.hub.MaxChats)+" chats per connection.", 0, f.ID)
		return
	}
	if f.All {
		if c.p.kind == kindEndUser {
			c.sendError(parley.EFORBIDDEN, "An end-user token watches its own chat only.", 0, f.ID)
		} else {
			// The answer is queued before the first event can be.
			c.mu.Lock()
			if !c.all {
				c.all = true
				c.hub.indexAll(c)
			}
			c.enqueueLocked(encode(subscribedFrame{Type: sSubscribed, ChatIDs: []int64{}, All: true, ID: f.ID}))
			c.mu.Unlock()
		}
		if len(f.Chats) == 0 {
			return
		}
	}
	type started struct {
		id  int64
		gen uint64
	}
	var ok []int64
	var fills []started
	ctx, cancel := context.WithTimeout(c.p.ctx(c.hub.ctx), 10*time.Second)
	defer cancel()
	for _, rq := range f.Chats {
		if rq.ChatID <= 0 {
			c.sendError(parley.EINVALID, "chat_id must be a positive integer.", 0, f.ID)
			continue
		}
		if rq.After != nil && *rq.After < 0 {
			c.sendError(parley.EINVALID, "after must not be negative.", rq.ChatID, f.ID)
			continue
		}
		if err := c.visible(ctx, rq.ChatID); err != nil {
			c.sendError(parley.ErrorCode(err), parley.ErrorMessage(err), rq.ChatID, f.ID)
			continue
		}
		c.mu.Lock()
		if c.subs == nil {
			c.subs = map[int64]*sub{}
		}
		if _, again := c.subs[rq.ChatID]; !again && len(c.subs) >= c.hub.MaxChats {
			c.mu.Unlock()
			c.sendError(parley.EINVALID, "At most "+itoa(c.hub.MaxChats)+" chats per connection.", rq.ChatID, f.ID)
			continue
		}
		// Subscribing again restarts the chat from the given seq.
		c.gen++
		s := &sub{filling: true, announce: true, gen: c.gen}
		if rq.After == nil {
			s.fresh = true
		} else {
			s.last = *rq.After
		}
		c.subs[rq.ChatID] = s
		c.mu.Unlock()
		c.hub.indexChat(c, rq.ChatID)
		ok = append(ok, rq.ChatID)
		fills = append(fills, started{rq.ChatID, s.gen})
	}
	if len(ok) > 0 {
		c.send(encode(subscribedFrame{Type: sSubscribed, ChatIDs: ok, ID: f.ID}))
	}
	for _, s := range fills {
		c.fill(s.id, s.gen)
	}
}

// visible checks at subscribe time that the principal may watch chat id:
// the chat domain reads it for the principal, and refuses an operator a
// chat outside their sight as every API family does. Another company's
// chat is not found, like a chat that does not exist.
func (c *conn) visible(ctx context.Context, id int64) error {
	if c.p.kind == kindEndUser && id != c.p.chat {
		return parley.Errorf(parley.ENOTFOUND, "Chat %d not found.", id)
	}
	ch, err := c.hub.Chats.GetChat(ctx, id)
	if err != nil {
		return err
	}
	if ch.CompanyID != c.p.company {
		return parley.Errorf(parley.ENOTFOUND, "Chat %d not found.", id)
	}
	return nil
}

func (c *conn) unsubscribe(f clientFrame) {
	if !f.All && len(f.ChatIDs) == 0 {
		c.sendError(parley.EINVALID, `An unsubscribe frame names "chat_ids" or says "all": true.`, 0, f.ID)
		return
	}
	c.mu.Lock()
	gone := []int64{}
	for _, id := range f.ChatIDs {
		if _, ok := c.subs[id]; ok {
			delete(c.subs, id)
			gone = append(gone, id)
		}
	}
	all := f.All && c.all
	if f.All {
		c.all = false
	}
	c.mu.Unlock()
	for _, id := range gone {
		c.hub.dropChat(c, id)
	}
	if all {
		c.hub.dropAll(c)
	}
	c.send(encode(unsubscribedFrame{Type: sUnsubscribed, ChatIDs: gone, All: all, Reason: reasonRequested, ID: f.ID}))
}

// live takes a live event from the hub. explicit says the connection
// subscribed to the chat itself; visibleAfter that the principal still
// sees the chat after the event.
func (c *conn) live(ev events.Event, frame []byte, explicit, visibleAfter bool) {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return
	}
	s := c.subs[ev.ChatID]
	if !explicit {
		// "all": the chat's own subscription, if any, delivers it.
		if s == nil && c.all && c.p.allowed(ev.Type, str(ev.Data["sender_type"])) {
			c.enqueueLocked(frame)
			c.hub.stats.Delivered.Add(1)
		}
		c.mu.Unlock()
		return
	}
	if s == nil {
		c.mu.Unlock()
		return
	}
	fill := false
	switch {
	case s.filling:
		s.target = max(s.target, ev.Seq)
	case ev.Seq <= s.last:
		// sent already, from the log
	case ev.Seq == s.last+1:
		if c.p.allowed(ev.Type, str(ev.Data["sender_type"])) {
			c.enqueueLocked(frame)
			c.hub.stats.Delivered.Add(1)
		}
		s.last = ev.Seq
	default:
		// Events went by unseen (published out of order by concurrent
		// writers, or lost on the way): read them from the log.
		s.filling, s.target, fill = true, ev.Seq, true
	}
	gen, dropped := s.gen, false
	if !visibleAfter {
		delete(c.subs, ev.ChatID)
		c.enqueueLocked(encode(unsubscribedFrame{Type: sUnsubscribed, ChatIDs: []int64{ev.ChatID}, Reason: reasonNotVisible}))
		dropped, fill = true, false
	}
	c.mu.Unlock()
	if dropped {
		c.hub.dropChat(c, ev.ChatID)
	}
	if fill {
		go c.fill(ev.ChatID, gen)
	}
}

// fill sends a chat's logged events after the subscription's last seq
// until it has caught up with every seq seen live meanwhile; then live
// events flow again. Nothing is sent twice and nothing is skipped: live
// events only raise the target while the log is read.
func (c *conn) fill(id int64, gen uint64) {
	ctx := c.p.ctx(c.hub.ctx)
	for {
		c.mu.Lock()
		s := c.subs[id]
		if c.closed.Load() || s == nil || s.gen != gen {
			c.mu.Unlock()
			return
		}
		if s.read && s.last >= s.target {
			s.filling = false
			if s.announce {
				s.announce = false
				c.enqueueLocked(encode(syncedFrame{Type: sSynced, ChatID: id, Seq: s.last}))
			}
			c.mu.Unlock()
			return
		}
		after, fresh := s.last, s.fresh
		c.mu.Unlock()

		readAfter, limit := after, fillPage
		if fresh {
			readAfter, limit = math.MaxInt32, 1 // only the chat's newest seq (seq is a 32-bit column)
		}
		c.hub.stats.Fills.Add(1)
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		evs, first, last, err := c.hub.Chats.EventsAfter(rctx, id, readAfter, limit)
		cancel()

		c.mu.Lock()
		s = c.subs[id]
		if c.closed.Load() || s == nil || s.gen != gen {
			c.mu.Unlock()
			return
		}
		if err != nil {
			delete(c.subs, id)
			code := parley.ErrorCode(err)
			if code == parley.EINTERNAL && ctx.Err() == nil {
				c.hub.Log.Error("realtime: event log not read", "chat_id", id, "error", err)
			}
			c.enqueueLocked(encode(errorFrame{Type: sError, Code: code, Message: parley.ErrorMessage(err), ChatID: id}))
			c.enqueueLocked(encode(unsubscribedFrame{Type: sUnsubscribed, ChatIDs: []int64{id}, Reason: reasonGone}))
			c.mu.Unlock()
			c.hub.dropChat(c, id)
			return
		}
		s.target, s.read = max(s.target, last), true
		switch {
		case fresh:
			s.fresh, s.last = false, last
		case after > last:
			c.enqueueLocked(encode(resyncFrame{Type: sResync, ChatID: id, Reason: reasonAhead, Seq: last}))
			s.last = last
		case chat.Resync(after, first, last) || (len(evs) == 0 && after < last):
			c.enqueueLocked(encode(resyncFrame{Type: sResync, ChatID: id, Reason: reasonPurged, Seq: last}))
			s.last = last
		default:
			for _, e := range evs {
				if e.Seq <= s.last {
					continue
				}
				if !c.waitSpaceLocked(id, gen) {
					c.mu.Unlock()
					return
				}
				if c.p.kind != kindEndUser || c.p.allowed(e.Type, chat.EventSender(e.Type, e.Data)) {
					c.enqueueLocked(logFrame(e))
					c.hub.stats.Delivered.Add(1)
				}
				s.last = e.Seq
			}
		}
		c.mu.Unlock()
	}
}

// waitSpaceLocked waits until the queue is at most half full, so that a
// replay leaves room for live events of other chats; it reports whether
// the subscription is still the same.
func (c *conn) waitSpaceLocked(id int64, gen uint64) bool {
	for !c.closed.Load() && (len(c.queue) >= c.hub.QueueFrames/2 || c.qbytes >= c.hub.QueueBytes/2) {
		c.space.Wait()
	}
	s := c.subs[id]
	return !c.closed.Load() && s != nil && s.gen == gen
}

// ephemeral queues an unlogged event of a chat the connection watches:
// subscribed to it, or to "all". It is sent once, never replayed.
func (c *conn) ephemeral(chatID int64, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs[chatID] == nil && !c.all {
		return
	}
	c.enqueueLocked(frame)
	c.hub.stats.Delivered.Add(1)
}

func (c *conn) send(frame []byte) {
	c.mu.Lock()
	c.enqueueLocked(frame)
	c.mu.Unlock()
}

func (c *conn) sendError(code, msg string, chatID int64, id json.RawMessage) {
	c.send(encode(errorFrame{Type: sError, Code: code, Message: msg, ChatID: chatID, ID: id}))
}

// enqueueLocked queues a frame and starts the writer if it is not
// running. A full queue means the client does not keep up: it is closed
// rather than silently losing events.
func (c *conn) enqueueLocked(frame []byte) {
	if c.closed.Load() {
		return
	}
	if len(c.queue) >= c.hub.QueueFrames || (c.qbytes+len(frame) > c.hub.QueueBytes && len(c.queue) > 0) {
		c.hub.stats.SlowConsumers.Add(1)
		c.closeLocked(StatusSlowConsumer, "slow consumer: reconnect and resume with after")
		return
	}
	c.queue = append(c.queue, frame)
	c.qbytes += len(frame)
	if !c.writing {
		c.writing = true
		go c.write()
	}
}

// write sends the queued frames, then exits.
func (c *conn) write() {
	for {
		c.mu.Lock()
		if c.closed.Load() || len(c.queue) == 0 {
			c.writing = false
			c.queue, c.qbytes = nil, 0 // an idle connection keeps no buffer
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue, c.qbytes = nil, 0
		c.space.Broadcast()
		c.mu.Unlock()
		for i, f := range batch {
			if c.closed.Load() {
				break
			}
			ctx, cancel := context.WithTimeout(c.hub.ctx, c.hub.WriteTimeout)
			err := c.ws.Write(ctx, websocket.MessageText, f)
			cancel()
			batch[i] = nil
			if err != nil {
				c.mu.Lock()
				c.closeLocked(-1, "")
				c.mu.Unlock()
				break
			}
		}
	}
}

// ping checks a silent client is still there.
func (c *conn) ping() {
	defer c.pinging.Store(false)
	ctx, cancel := context.WithTimeout(c.hub.ctx, c.hub.PingEvery)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		c.mu.Lock()
		c.closeLocked(-1, "")
		c.mu.Unlock()
		return
	}
	c.lastSeen.Store(time.Now().UnixNano())
}

// shut closes the connection with a close frame.
func (c *conn) shut(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	c.closeLocked(code, reason)
	c.mu.Unlock()
}

// closeLocked marks the connection closed and closes the socket in the
// background: with a close handshake for code >= 0, at once otherwise.
// The reader then returns and finish unregisters the connection.
func (c *conn) closeLocked(code websocket.StatusCode, reason string) {
	if c.closed.Load() {
		return
	}
	c.closed.Store(true)
	c.queue, c.qbytes = nil, 0
	c.space.Broadcast()
	if code < 0 {
		go c.ws.CloseNow()
		return
	}
	go c.ws.Close(code, reason)
}

// finish runs when the reader returns: the connection is gone.
func (c *conn) finish() {
	c.mu.Lock()
	c.closed.Store(true)
	c.queue, c.qbytes = nil, 0
	c.space.Broadcast()
	ids := make([]int64, 0, len(c.subs))
	for id := range c.subs {
		ids = append(ids, id)
	}
	all := c.all
	c.mu.Unlock()
	c.hub.remove(c, ids, all)
	_ = c.ws.CloseNow()
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
