package v1

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/handover"
)

// Call transfers (issue 12; the contract is /work/notes/transfer-api.md,
// documented in openapi.json): an operator sees the calls offered to
// them and the ones they talk or talked, admin and api users the
// company's.

type transferTurnDTO struct {
	Who  string `json:"who"`
	Text string `json:"text"`
	At   string `json:"at"`
}

type dispositionDTO struct {
	OutputEntities map[string]string `json:"output_entities"`
	Note           string            `json:"note"`
}

type transferDTO struct {
	ID              int64             `json:"id"`
	DialogID        int64             `json:"dialog_id"`
	CallID          int64             `json:"call_id"`
	AgentID         int64             `json:"agent_id"`
	AgentName       string            `json:"agent_name"`
	Phone           string            `json:"phone"`
	Reason          string            `json:"reason"`
	To              string            `json:"to"`
	State           string            `json:"state"`
	Result          string            `json:"result"`
	OperatorID      *int64            `json:"operator_id"`
	OperatorName    *string           `json:"operator_name"`
	Muted           bool              `json:"muted"`
	Held            bool              `json:"held"`
	CreatedAt       string            `json:"created_at"`
	OfferedAt       *string           `json:"offered_at"`
	AcceptedAt      *string           `json:"accepted_at"`
	EndedAt         *string           `json:"ended_at"`
	WaitSeconds     float64           `json:"wait_seconds"`
	TalkSeconds     float64           `json:"talk_seconds"`
	InitialEntities map[string]string `json:"initial_entities"`
	OutputEntities  map[string]string `json:"output_entities"`
	Transcript      []transferTurnDTO `json:"transcript"`
	Disposition     *dispositionDTO   `json:"disposition"`
}

// ToTransfer is the wire shape of a transfer (the stream sends it too).
func ToTransfer(c *chat.CallTransfer) any { return toTransfer(c) }

func toTransfer(c *chat.CallTransfer) transferDTO {
	state := string(c.State)
	if c.State == chat.TransferTalking && c.Held {
		state = "held"
	}
	d := transferDTO{ID: c.ID, DialogID: c.DialogID, CallID: c.CallID, AgentID: c.AgentID, AgentName: c.AgentName, Phone: c.Phone,
		Reason: c.Reason, To: c.To, State: state, Result: c.Result, OperatorID: c.OperatorID, OperatorName: c.OperatorName,
		Muted: c.Muted, Held: c.Held, CreatedAt: api.Time(c.CreatedAt), OfferedAt: api.TimePtr(c.OfferedAt),
		AcceptedAt: api.TimePtr(c.AcceptedAt), EndedAt: api.TimePtr(c.EndedAt),
		WaitSeconds: round1(c.Wait().Seconds()), TalkSeconds: round1(c.Talk().Seconds()),
		InitialEntities: c.Initial, OutputEntities: c.Outputs, Transcript: make([]transferTurnDTO, 0, len(c.Transcript))}
	for _, t := range c.Transcript {
		d.Transcript = append(d.Transcript, transferTurnDTO{Who: t.Who, Text: t.Text, At: api.Time(t.At)})
	}
	if c.Disposition != nil {
		d.Disposition = &dispositionDTO{OutputEntities: c.Disposition.Outputs, Note: c.Disposition.Note}
		if d.Disposition.OutputEntities == nil {
			d.Disposition.OutputEntities = map[string]string{}
		}
	}
	return d
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func (h *Handler) listTransfers(w http.ResponseWriter, r *http.Request) error {
	limit, err := api.QueryInt(r, "limit", 100, chat.MaxPage)
	if err != nil {
		return err
	}
	offset, err := api.QueryInt(r, "offset", 0, 1<<30)
	if err != nil {
		return err
	}
	cs, total, err := h.Chats.ListTransfers(r.Context(), chat.TransferFilter{State: r.URL.Query().Get("state"), Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := struct {
		Items []transferDTO `json:"items"`
		Total int           `json:"total"`
	}{Items: make([]transferDTO, 0, len(cs)), Total: total}
	for _, c := range cs {
		out.Items = append(out.Items, toTransfer(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getTransfer(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "transferId")
	if err != nil {
		return err
	}
	c, err := h.Chats.GetTransfer(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTransfer(c))
	return nil
}

// handover is the node's handover, or a 503-like refusal without one.
func (h *Handler) handover() (*handover.Service, error) {
	if h.Handover == nil {
		return nil, parley.Errorf(parley.ECONFLICT, "This node does not hand calls over.")
	}
	return h.Handover, nil
}

// offer reads what accept and listen share: the path's id, the body's
// WebRTC offer (what describes names it in the error when it is missing),
// and the node's handover.
func (h *Handler) offer(r *http.Request, pathName, describes string) (int64, string, *handover.Service, error) {
	id, err := api.PathID(r, pathName)
	if err != nil {
		return 0, "", nil, err
	}
	var in struct {
		SDP string `json:"sdp"`
	}
	if err := decode(r, &in); err != nil {
		return 0, "", nil, err
	}
	if in.SDP == "" {
		return 0, "", nil, parley.FieldError("sdp", "is required: %s", describes)
	}
	ho, err := h.handover()
	return id, in.SDP, ho, err
}

func (h *Handler) acceptTransfer(w http.ResponseWriter, r *http.Request) error {
	id, sdp, ho, err := h.offer(r, "transferId", "the browser's offer once ICE gathering is complete")
	if err != nil {
		return err
	}
	answer, c, err := ho.Accept(r.Context(), id, sdp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sdp": answer, "transfer": toTransfer(c)})
	return nil
}

// transferAction decodes the body into in (nil: an empty object) and
// answers the transfer act returns.
func (h *Handler) transferAction(w http.ResponseWriter, r *http.Request, in any, act func(ho *handover.Service, id int64) (*chat.CallTransfer, error)) error {
	id, err := api.PathID(r, "transferId")
	if err != nil {
		return err
	}
	if in == nil {
		in = &struct{}{}
	}
	if r.ContentLength != 0 {
		if err := decode(r, in); err != nil {
			return err
		}
	}
	ho, err := h.handover()
	if err != nil {
		return err
	}
	c, err := act(ho, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTransfer(c))
	return nil
}

func (h *Handler) declineTransfer(w http.ResponseWriter, r *http.Request) error {
	return h.transferAction(w, r, nil, func(ho *handover.Service, id int64) (*chat.CallTransfer, error) { return ho.Decline(r.Context(), id) })
}

func (h *Handler) hangupTransfer(w http.ResponseWriter, r *http.Request) error {
	return h.transferAction(w, r, nil, func(ho *handover.Service, id int64) (*chat.CallTransfer, error) { return ho.Hangup(r.Context(), id) })
}

func (h *Handler) muteTransfer(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Muted *bool `json:"muted"`
	}
	return h.transferAction(w, r, &in, func(ho *handover.Service, id int64) (*chat.CallTransfer, error) {
		if in.Muted == nil {
			return nil, parley.FieldError("muted", "is required: true or false")
		}
		return ho.Mute(r.Context(), id, *in.Muted)
	})
}

func (h *Handler) holdTransfer(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Held *bool `json:"held"`
	}
	return h.transferAction(w, r, &in, func(ho *handover.Service, id int64) (*chat.CallTransfer, error) {
		if in.Held == nil {
			return nil, parley.FieldError("held", "is required: true or false")
		}
		return ho.Hold(r.Context(), id, *in.Held)
	})
}

func (h *Handler) dtmfTransfer(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Digits string `json:"digits"`
	}
	return h.transferAction(w, r, &in, func(ho *handover.Service, id int64) (*chat.CallTransfer, error) {
		return ho.DTMF(r.Context(), id, in.Digits)
	})
}

func (h *Handler) disposeTransfer(w http.ResponseWriter, r *http.Request) error {
	var in dispositionDTO
	return h.transferAction(w, r, &in, func(ho *handover.Service, id int64) (*chat.CallTransfer, error) {
		return ho.Disposition(r.Context(), id, chat.Disposition{Outputs: in.OutputEntities, Note: in.Note})
	})
}

type liveCallDTO struct {
	DialogID  int64        `json:"dialog_id"`
	CallID    int64        `json:"call_id"`
	AgentID   int64        `json:"agent_id"`
	AgentName string       `json:"agent_name"`
	Phone     string       `json:"phone"`
	State     string       `json:"state"`
	Transfer  *transferDTO `json:"transfer"`
	StartedAt string       `json:"started_at"`
}

type agentLoadDTO struct {
	AgentID             int64  `json:"agent_id"`
	AgentName           string `json:"agent_name"`
	InTransfer          int    `json:"in_transfer"`
	RoutingChannelLimit int    `json:"routing_channel_limit"`
}

func (h *Handler) liveCalls(w http.ResponseWriter, r *http.Request) error {
	ho, err := h.handover()
	if err != nil {
		return err
	}
	calls, loads, err := ho.LiveCalls(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Items    []liveCallDTO  `json:"items"`
		PerAgent []agentLoadDTO `json:"per_agent"`
	}{Items: make([]liveCallDTO, 0, len(calls)), PerAgent: make([]agentLoadDTO, 0, len(loads))}
	for _, c := range calls {
		d := liveCallDTO{DialogID: c.DialogID, CallID: c.CallID, AgentID: c.AgentID, AgentName: c.AgentName, Phone: c.Phone, State: c.State,
			StartedAt: api.Time(c.StartedAt)}
		if c.Transfer != nil {
			t := toTransfer(c.Transfer)
			d.Transfer = &t
		}
		out.Items = append(out.Items, d)
	}
	for _, l := range loads {
		out.PerAgent = append(out.PerAgent, agentLoadDTO{AgentID: l.AgentID, AgentName: l.AgentName, InTransfer: l.InTransfer, RoutingChannelLimit: l.RoutingChannelLimit})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) listenCall(w http.ResponseWriter, r *http.Request) error {
	id, sdp, ho, err := h.offer(r, "callId", "a receive-only offer once ICE gathering is complete")
	if err != nil {
		return err
	}
	answer, err := ho.Listen(r.Context(), id, sdp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"sdp": answer})
	return nil
}
