package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultSubject is the subject prefix of a cluster's events: every node
// publishes its events on <subject>.<company id> and subscribes to
// <subject>.>. Clusters (or test runs) sharing a NATS server use distinct
// prefixes.
const DefaultSubject = "parley.events"

const (
	// nodeHeader names the node that published an event.
	nodeHeader = "Parley-Node"
	// forwardBuffer bounds the events waiting to go out to NATS; past it
	// they are dropped (and counted) rather than blocking a state change.
	forwardBuffer = 65536
)

// NATS links a node's Bus to the other nodes of a cluster through a NATS
// server. Every event published on the local bus is sent to NATS (the
// Forward hook); every event another node sent is injected into the local
// bus as a Remote event, so SubscribeCluster subscribers (the realtime
// hub) see the whole cluster's events exactly once each, while Subscribe
// subscribers (webhooks) keep seeing only their own node's.
//
// Own events never come back: the connection is opened with NoEcho, and
// messages carry the publishing node's id, which is checked as well.
//
// Delivery is at most once, like the local bus: an event lost on the way
// (NATS down, a slow node) is not retried. The realtime stream detects the
// gap from the chat's seq and reads the missed events from the database.
type NATS struct {
	nc     *nats.Conn
	sub    *nats.Subscription
	bus    *Bus
	node   string
	prefix string // subject prefix with its trailing dot
	log    *slog.Logger

	out       chan Event
	done      chan struct{}
	closeOnce sync.Once

	sent, received, dropped atomic.Int64
}

// NATSOptions say where the cluster's events go.
type NATSOptions struct {
	URL     string // nats://host:4222 (several separated by commas)
	Subject string // subject prefix; default DefaultSubject
	Node    string // this node's unique id
	Log     *slog.Logger
}

// ConnectNATS connects to the NATS server and links bus to the cluster as
// o.Node. It fails when the server cannot be reached; once connected, it
// reconnects by itself for as long as the node runs.
func ConnectNATS(bus *Bus, o NATSOptions) (*NATS, error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	if o.Node == "" {
		return nil, errors.New("events: NATS needs a node id")
	}
	if o.Subject == "" {
		o.Subject = DefaultSubject
	}
	if strings.ContainsAny(o.Subject, "*> \t") || strings.HasSuffix(o.Subject, ".") || strings.HasPrefix(o.Subject, ".") {
		return nil, fmt.Errorf("events: NATS subject prefix %q: want dot-separated tokens without wildcards", o.Subject)
	}
	node := o.Node
	n := &NATS{bus: bus, node: node, prefix: o.Subject + ".", log: log, out: make(chan Event, forwardBuffer), done: make(chan struct{})}
	nc, err := nats.Connect(o.URL,
		nats.Name("parley "+node),
		nats.NoEcho(),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected; events of other nodes are missed until it reconnects", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "server", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS error", "error", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("events: connect to NATS: %w", err)
	}
	n.nc = nc
	n.sub, err = nc.Subscribe(n.prefix+">", n.receive)
	if err == nil {
		// Generous limits: a node that falls behind loses events (and
		// says so through the error handler) instead of growing forever.
		err = n.sub.SetPendingLimits(forwardBuffer, 256<<20)
	}
	if err == nil {
		err = nc.FlushTimeout(5 * time.Second) // the subscription is in place before we report ready
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("events: subscribe to NATS: %w", err)
	}
	go n.send()
	bus.Forward(func(ev Event) {
		select {
		case n.out <- ev:
		default:
			n.dropped.Add(1)
		}
	})
	log.Info("NATS linked", "server", nc.ConnectedUrlRedacted(), "subject", o.Subject, "node", node)
	return n, nil
}

// send publishes the local events in order until Close.
func (n *NATS) send() {
	defer close(n.done)
	for ev := range n.out {
		data, err := json.Marshal(ev)
		if err != nil {
			n.log.Error("event not sent to NATS: data is not JSON", "event_type", ev.Type, "error", err)
			n.dropped.Add(1)
			continue
		}
		msg := &nats.Msg{Subject: n.prefix + strconv.FormatInt(ev.CompanyID, 10), Data: data, Header: nats.Header{}}
		msg.Header.Set(nodeHeader, n.node)
		if err := n.nc.PublishMsg(msg); err != nil {
			n.dropped.Add(1)
			continue
		}
		n.sent.Add(1)
	}
}

// receive injects another node's event into the local bus.
func (n *NATS) receive(m *nats.Msg) {
	if m.Header.Get(nodeHeader) == n.node {
		return // our own, should NoEcho ever be lost
	}
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.UseNumber() // ids stay integers, not float64
	if err := dec.Decode(&ev); err != nil || ev.Type == "" {
		n.log.Warn("malformed event from NATS ignored", "subject", m.Subject)
		return
	}
	n.received.Add(1)
	n.bus.Inject(ev)
}

// Stats counts events sent to NATS, received from other nodes, and dropped
// on the way out (buffer full or NATS refusing them).
func (n *NATS) Stats() (sent, received, dropped int64) {
	return n.sent.Load(), n.received.Load(), n.dropped.Load()
}

// Close unlinks the bus, sends what is still queued and closes the
// connection.
func (n *NATS) Close() {
	n.closeOnce.Do(func() {
		n.bus.Forward(nil) // no Publish can reach out after this returns
		close(n.out)
		<-n.done
		_ = n.sub.Unsubscribe()
		_ = n.nc.FlushTimeout(2 * time.Second)
		n.nc.Close()
	})
}

// Node-to-node requests. Besides events, a cluster's nodes ask each other
// for work only one of them can do (the node holding a live call answers
// an operator's WebRTC offer for it): NATS request/reply, on subjects the
// asking package names. Replies are at most once, like events: a request
// that gets none fails with ErrNoReply and the caller decides.

// ErrNoReply is Request's answer when no node replied in time (or none
// listens on the subject).
var ErrNoReply = errors.New("events: no node replied")

// maxReplying bounds the requests a node works on at once; past it a
// request waits in the subscription's queue (NATS' pending limits).
const maxReplying = 64

// Request sends data to subject and returns the first reply, or
// ErrNoReply once ctx ends (give it a deadline).
func (n *NATS) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(nodeHeader, n.node)
	m, err := n.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, fmt.Errorf("%w on %s", ErrNoReply, subject)
	case err != nil:
		return nil, fmt.Errorf("events: request on %s: %w", subject, err)
	}
	return m.Data, nil
}

// Reply answers the requests sent to subject with fn, each in its own
// goroutine (at most maxReplying at once), until the returned stop. fn
// returning nil sends no reply: on a subject several nodes listen to, the
// ones that cannot help stay silent and the one that can answers.
func (n *NATS) Reply(subject string, fn func(data []byte) []byte) (stop func(), err error) {
	sem := make(chan struct{}, maxReplying)
	sub, err := n.nc.Subscribe(subject, func(m *nats.Msg) {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			if out := fn(m.Data); out != nil && m.Reply != "" {
				if err := m.Respond(out); err != nil {
					n.log.Warn("NATS reply not sent", "subject", subject, "error", err)
				}
			}
		}()
	})
	if err == nil {
		err = n.nc.FlushTimeout(5 * time.Second) // in place before the caller goes on
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		return nil, fmt.Errorf("events: subscribe to %s: %w", subject, err)
	}
	return func() {
		_ = sub.Unsubscribe()
		_ = n.nc.FlushTimeout(2 * time.Second) // gone from the server: requests get no-responders
	}, nil
}
