package handover

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parley-cc/parley"
)

// Several nodes (issue 12, deployments): a live call is in the memory of
// the node that dialed it, while the operator's browser may talk to any
// node. What needs the call itself (answering the operator's or a
// supervisor's WebRTC offer, the in-call controls) is relayed to the node
// holding it: NATS request/reply on <prefix>.<node>, the node named by
// the transfer's lease. That node creates the WebRTC peer, so the answer
// carries its own ICE candidates (its PARLEY_PUBLIC_IP): media flows
// between the browser and the node holding the call, never through the
// relaying node. A listen, and the live view, find the node of a call
// the agent still talks from its dialog's lease (outbound.CallNode,
// CallingNodes).
//
// The request carries the caller (company, user, role) the relaying node
// authenticated; the holder runs the same method under it, so the chat
// domain checks the request again there. NATS is the cluster's internal
// bus, trusted like the database (docs/security.md).

// Relay carries a request to other nodes and returns the first reply
// (events.NATS); nil on a single node.
type Relay interface {
	Request(ctx context.Context, subject string, data []byte) ([]byte, error)
}

// RelayPrefix is the prefix of a cluster's handover subjects, beside its
// events' (events.NATSOptions.Subject): "parley.events" gives
// "parley.handover", so that clusters (or test runs) sharing a NATS server
// keep apart, and outside the events' subjects (<subject>.>).
func RelayPrefix(eventSubject string) string {
	if eventSubject == "" {
		eventSubject = "parley.events"
	}
	if p, ok := strings.CutSuffix(eventSubject, ".events"); ok {
		return p + ".handover"
	}
	return eventSubject + "-handover"
}

// RelaySubject is the subject node answers relayed requests on.
func (s *Service) RelaySubject(node string) string { return s.relayPrefix() + "." + node }

func (s *Service) relayPrefix() string {
	if s.RelayPrefix != "" {
		return s.RelayPrefix
	}
	return RelayPrefix("")
}

// relayTimeout bounds a relayed request: an answer gathers ICE candidates
// (a second or two), a hang-up waits for the transfer to end.
const relayTimeout = 20 * time.Second

// Relayed operations.
const (
	opAccept = "accept"
	opListen = "listen"
	opHangup = "hangup"
	opMute   = "mute"
	opHold   = "hold"
	opDTMF   = "dtmf"
	opLive   = "live" // the node's answered calls of the caller's company
)

type relayRequest struct {
	Op     string        `json:"op"`
	Caller parley.Caller `json:"caller"`
	ID     int64         `json:"id"` // transfer id; call id for listen
	SDP    string        `json:"sdp,omitempty"`
	Flag   bool          `json:"flag,omitempty"` // muted, held
	Digits string        `json:"digits,omitempty"`

	node string // where it goes (not sent)
}

type relayReply struct {
	SDP     string            `json:"sdp,omitempty"`
	Code    string            `json:"code,omitempty"`
	Message string            `json:"message,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
	Calls   []LiveCall        `json:"calls,omitempty"`
}

type relayedKey struct{}

// relayed reports whether ctx runs a request another node relayed here:
// it is never relayed on (no loops between nodes).
func relayed(ctx context.Context) bool { return ctx.Value(relayedKey{}) != nil }

// canRelay reports whether a request for a call this node does not hold
// may go to node.
func (s *Service) canRelay(ctx context.Context, node string) bool {
	return s.Relay != nil && !relayed(ctx) && node != "" && node != s.Node
}

// relay sends req to subject under the caller of ctx and returns the
// holder's answer (SDP) or its error as the holder put it.
func (s *Service) relay(ctx context.Context, subject string, req relayRequest) (string, error) {
	rep, err := s.relayReply(ctx, subject, req)
	if err != nil {
		return "", err
	}
	return rep.SDP, nil
}

// relayReply is relay returning the whole reply.
func (s *Service) relayReply(ctx context.Context, subject string, req relayRequest) (*relayReply, error) {
	c, ok := parley.CallerFrom(ctx)
	if !ok {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "No authenticated company.")
	}
	req.Caller = c
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	out, err := s.Relay.Request(rctx, subject, data)
	if err != nil {
		s.log().Warn("handover relay got no reply", "op", req.Op, "id", req.ID, "subject", subject, "error", err)
		switch req.Op {
		case opListen:
			return nil, parley.Errorf(parley.ENOTFOUND, "No live call %d (its node does not answer).", req.ID)
		case opLive:
			return nil, err
		}
		return nil, parley.Errorf(parley.ECONFLICT, "Call transfer %d is not held by a live node (its node does not answer).", req.ID)
	}
	var rep relayReply
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, err
	}
	if rep.Code != "" {
		if rep.Code == parley.EINTERNAL {
			return nil, errors.New("handover: the node holding the call failed: " + rep.Message)
		}
		return nil, &parley.Error{Code: rep.Code, Message: rep.Message, Fields: rep.Fields}
	}
	return &rep, nil
}

// ServeRelay answers a request another node relayed (the handler of
// s.RelaySubject(s.Node)).
func (s *Service) ServeRelay(data []byte) []byte {
	var req relayRequest
	if err := json.Unmarshal(data, &req); err != nil || req.Caller.CompanyID == 0 {
		s.log().Warn("malformed handover relay request ignored")
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	ctx = context.WithValue(parley.WithCaller(ctx, req.Caller), relayedKey{}, true)
	var rep relayReply
	var err error
	switch req.Op {
	case opAccept:
		rep.SDP, _, err = s.Accept(ctx, req.ID, req.SDP)
	case opListen:
		rep.SDP, err = s.Listen(ctx, req.ID, req.SDP)
	case opHangup:
		_, err = s.Hangup(ctx, req.ID)
	case opMute:
		_, err = s.Mute(ctx, req.ID, req.Flag)
	case opHold:
		_, err = s.Hold(ctx, req.ID, req.Flag)
	case opDTMF:
		_, err = s.DTMF(ctx, req.ID, req.Digits)
	case opLive:
		rep.Calls = s.localCalls(req.Caller.CompanyID)
	default:
		err = parley.Errorf(parley.EINVALID, "Unknown relayed operation %q.", req.Op)
	}
	if err != nil {
		rep = relayReply{Code: parley.ErrorCode(err), Message: parley.ErrorMessage(err)}
		var pe *parley.Error
		if errors.As(err, &pe) {
			rep.Fields = pe.Fields
		} else {
			s.log().Error("relayed handover request failed", "op", req.Op, "id", req.ID, "error", err)
		}
	}
	out, _ := json.Marshal(rep)
	return out
}
