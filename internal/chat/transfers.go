package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// Call transfers: a live call the virtual agent hands to a human operator
// (issue 12). The table call_transfers is chat's because operators, their
// capacity and routing are: a ringing or talking transfer holds one unit
// of its operator's load, shared with chats, and the operator is chosen
// as a queued chat's is (online, free capacity, in the menu, least loaded
// then longest idle: candidate).
//
//	waiting ──offer──► ringing ──accept──► talking ──► ended
//	   ▲                  │
//	   └── ring timeout, decline, operator offline
//	waiting | ringing ──► ended (callee hung up, transfer timeout, failed)
//
// Every transition is one conditional UPDATE on the state (and operator)
// it read, so two nodes, or an accept racing a ring timeout, cannot both
// win: the loser changes nothing and is told so. A write transaction
// reads the clock once (tx.now). The agent's routing_channel_limit bounds
// its transfers that are not ended; StartTransfer counts them under the
// agent's row lock.

// TransferState is where a call transfer is.
type TransferState string

// Transfer states.
const (
	TransferWaiting TransferState = "waiting" // looking for an operator; the callee hears hold audio
	TransferRinging TransferState = "ringing" // offered to operator_id, who has ring_timeout to accept
	TransferTalking TransferState = "talking" // bridged to operator_id
	TransferEnded   TransferState = "ended"
)

// Transfer results (set when it ends, "accepted" once talked).
const (
	TransferAccepted       = "accepted"
	TransferTimeout        = "timeout"
	TransferLimit          = "limit"
	TransferCalleeHangup   = "callee_hangup"
	TransferOperatorHangup = "operator_hangup"
	TransferFailed         = "failed"
	TransferInterrupted    = "interrupted"
)

// Events of call transfers, published after commit. EventTransferChanged
// comes with every change (the stream's call_transfer frames); the other
// three mark the lifecycle (webhooks).
const (
	EventTransferChanged  = "call_transfer.changed"
	EventTransferOffered  = "call_transfer.offered"
	EventTransferAccepted = "call_transfer.accepted"
	EventTransferEnded    = "call_transfer.ended"
)

// ErrTransferLimit is StartTransfer's answer when the agent already has
// routing_channel_limit calls in transfer.
var ErrTransferLimit = errors.New("chat: the agent's routing_channel_limit is reached")

// MaxTransferNote bounds a disposition's note; MaxTransferEntities its
// output entities.
const (
	MaxTransferNote     = 4000
	MaxTransferEntities = 100
)

// TransferTurn is one line of the transcript an operator sees.
type TransferTurn struct {
	Who  string    `json:"who"` // agent, callee, operator
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Disposition is what the operator noted about the call.
type Disposition struct {
	Outputs map[string]string `json:"output_entities"`
	Note    string            `json:"note"`
}

// CallTransfer is one handover of a call to an operator.
type CallTransfer struct {
	ID, CompanyID, AgentID, DialogID, CallID int64
	CallUUID, AgentName, Phone, Reason, To   string
	MenuID                                   *int64
	State                                    TransferState
	Result                                   string
	OperatorID                               *int64
	OperatorName                             *string
	Tried                                    []int64
	Muted, Held                              bool
	Initial, Outputs                         map[string]string
	Transcript                               []TransferTurn
	Disposition                              *Disposition
	Node                                     string
	CreatedAt                                time.Time
	OfferedAt, AcceptedAt, EndedAt           *time.Time
	// Now is when the row was read, for the running durations.
	Now time.Time
}

// Live reports whether the transfer has not ended.
func (c *CallTransfer) Live() bool { return c.State != TransferEnded }

// Wait is how long the callee waited for an operator: until accepted, or
// until the end, or until now.
func (c *CallTransfer) Wait() time.Duration {
	end := c.Now
	switch {
	case c.AcceptedAt != nil:
		end = *c.AcceptedAt
	case c.EndedAt != nil:
		end = *c.EndedAt
	}
	return max(0, end.Sub(c.CreatedAt))
}

// Talk is how long the operator talked with the callee.
func (c *CallTransfer) Talk() time.Duration {
	if c.AcceptedAt == nil {
		return 0
	}
	end := c.Now
	if c.EndedAt != nil {
		end = *c.EndedAt
	}
	return max(0, end.Sub(*c.AcceptedAt))
}

// NewTransfer is a call entering transfer.
type NewTransfer struct {
	CompanyID, AgentID, DialogID, CallID int64
	CallUUID, Phone, Reason, To          string
	MenuID                               *int64
	Limit                                int // the agent's routing_channel_limit
	Initial, Outputs                     map[string]string
	Transcript                           []TransferTurn
	Node                                 string
	Lease                                time.Duration
}

const transferColumns = `t.id, t.company_id, t.agent_id, t.dialog_id, t.call_id, t.call_uuid, a.name, t.phone, t.reason, t.target, t.menu_id,
	t.state, t.result, t.operator_id, o.name, t.tried, t.muted, t.held, t.initial_entities, t.output_entities, t.transcript, t.disposition,
	t.node, t.created_at, t.offered_at, t.accepted_at, t.ended_at`

const transferFrom = ` FROM call_transfers t JOIN agents a ON a.id = t.agent_id LEFT JOIN operators o ON o.id = t.operator_id `

func scanTransfer(r store.Scanner) (*CallTransfer, error) {
	var c CallTransfer
	var tried, initial, outputs, transcript string
	var disp *string
	var created int64
	var offered, accepted, ended *int64
	if err := r.Scan(&c.ID, &c.CompanyID, &c.AgentID, &c.DialogID, &c.CallID, &c.CallUUID, &c.AgentName, &c.Phone, &c.Reason, &c.To, &c.MenuID,
		&c.State, &c.Result, &c.OperatorID, &c.OperatorName, &tried, &c.Muted, &c.Held, &initial, &outputs, &transcript, &disp,
		&c.Node, &created, &offered, &accepted, &ended); err != nil {
		return nil, err
	}
	c.Tried = parseTried(tried)
	_ = json.Unmarshal([]byte(initial), &c.Initial)
	_ = json.Unmarshal([]byte(outputs), &c.Outputs)
	_ = json.Unmarshal([]byte(transcript), &c.Transcript)
	if disp != nil {
		c.Disposition = &Disposition{}
		_ = json.Unmarshal([]byte(*disp), c.Disposition)
	}
	if c.Initial == nil {
		c.Initial = map[string]string{}
	}
	if c.Outputs == nil {
		c.Outputs = map[string]string{}
	}
	c.CreatedAt, c.OfferedAt, c.AcceptedAt, c.EndedAt = ms(created), msPtr(offered), msPtr(accepted), msPtr(ended)
	return &c, nil
}

func parseTried(s string) []int64 {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func formatTried(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// getTransfer reads transfer id of company cid.
func getTransfer(ctx context.Context, q store.Querier, cid, id int64, now time.Time) (*CallTransfer, error) {
	c, err := scanTransfer(q.QueryRow(ctx, `SELECT `+transferColumns+transferFrom+`WHERE t.id = ? AND t.company_id = ?`, id, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "Call transfer %d not found.", id)
	}
	if c != nil {
		c.Now = now
	}
	return c, err
}

// logTransfer queues the events of a change of c for after the commit.
// prev is the operator the transfer had before the change (0: none), so
// that an operator whose offer moved on is told.
func (t *tx) logTransfer(c *CallTransfer, prev int64, lifecycle string) {
	data := map[string]any{"transfer_id": c.ID, "call_uuid": c.CallUUID, "dialog_id": c.DialogID, "agent_id": c.AgentID,
		"state": string(c.State), "result": c.Result}
	if c.OperatorID != nil {
		data["operator_id"] = *c.OperatorID
	}
	if prev != 0 {
		data["previous_operator_id"] = prev
	}
	subject := strconv.FormatInt(c.ID, 10)
	t.events = append(t.events, events.Event{Type: EventTransferChanged, CompanyID: c.CompanyID, Subject: subject, Data: data, At: t.now})
	if lifecycle != "" {
		t.events = append(t.events, events.Event{Type: lifecycle, CompanyID: c.CompanyID, Subject: subject, Data: data, At: t.now})
	}
}

// StartTransfer records a call entering transfer, in state waiting, unless
// the agent has Limit transfers live already (ErrTransferLimit: nothing is
// written). The server's own work: the company comes with n.
func (s *Service) StartTransfer(ctx context.Context, n NewTransfer) (*CallTransfer, error) {
	if n.To == "" {
		n.To = "operators"
	}
	initial, _ := json.Marshal(nonNil(n.Initial))
	outputs, _ := json.Marshal(nonNil(n.Outputs))
	turns := n.Transcript
	if turns == nil {
		turns = []TransferTurn{}
	}
	transcript, _ := json.Marshal(turns)
	var out *CallTransfer
	err := s.write(ctx, n.CompanyID, func(t *tx) error {
		// Two calls of one agent entering transfer at once: the agent's row
		// lock makes the second count the first.
		if err := t.LockRows(ctx, store.LockNoKeyUpdate, "agents", "id = ? AND company_id = ?", n.AgentID, n.CompanyID); err != nil {
			return err
		}
		var live int
		// A transfer of a node that died is dead before the sweep ends
		// it: it does not count once its lease ran out, nor when it is
		// this dialog's (a dialog has one call at a time: its call was cut
		// off and the dialog is being retried, maybe before the leases of
		// the dead node's transfers run out).
		if err := t.QueryRow(ctx, `SELECT COUNT(*) FROM call_transfers WHERE agent_id = ? AND state <> ? AND lease_until >= ? AND dialog_id <> ?`,
			n.AgentID, TransferEnded, t.nowMS(), n.DialogID).Scan(&live); err != nil {
			return err
		}
		if live >= n.Limit {
			return ErrTransferLimit
		}
		now := t.nowMS()
		var id int64
		if err := t.QueryRow(ctx, `INSERT INTO call_transfers (company_id, agent_id, dialog_id, call_id, call_uuid, phone, reason, target, menu_id,
			state, initial_entities, output_entities, transcript, node, lease_until, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			n.CompanyID, n.AgentID, n.DialogID, n.CallID, n.CallUUID, n.Phone, n.Reason, n.To, n.MenuID, TransferWaiting,
			string(initial), string(outputs), string(transcript), n.Node, t.now.Add(n.Lease).UnixMilli(), now, now).Scan(&id); err != nil {
			return err
		}
		c, err := getTransfer(ctx, t.Querier, n.CompanyID, id, t.now)
		if err != nil {
			return err
		}
		t.logTransfer(c, 0, "")
		out = c
		return nil
	})
	return out, err
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Transfer reads transfer id of company cid for the server's own work
// (the node holding the call); no sight applies.
func (s *Service) Transfer(ctx context.Context, cid, id int64) (*CallTransfer, error) {
	return getTransfer(ctx, s.DB.Reader(), cid, id, s.now())
}

// OfferTransfer offers waiting transfer id to the best free operator who
// has not rung for it yet, and returns that operator (0: none free). The
// operator's load takes the call at once.
func (s *Service) OfferTransfer(ctx context.Context, cid, id int64) (int64, error) {
	var offered int64
	err := s.retry(ctx, func() error {
		offered = 0
		return s.write(ctx, cid, func(t *tx) error {
			c, err := getTransfer(ctx, t.Querier, cid, id, t.now)
			if err != nil {
				return err
			}
			if c.State != TransferWaiting {
				return nil
			}
			op, err := transferCandidate(ctx, t.Querier, cid, c.MenuID, c.Tried)
			if errors.Is(err, store.ErrNoRows) {
				return nil
			} else if err != nil {
				return err
			}
			if err := lockOperator(ctx, t.Querier, cid, op); err != nil {
				return err
			}
			now := t.nowMS()
			res, err := t.Exec(ctx, `UPDATE operators SET load = load + 1, last_assigned_at = ?, updated_at = ?
				WHERE id = ? AND company_id = ? AND load < capacity AND status = 'online'`, now, now, op, cid)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n != 1 {
				return errRaced
			}
			tried := formatTried(append(c.Tried, op))
			res, err = t.Exec(ctx, `UPDATE call_transfers SET state = ?, operator_id = ?, tried = ?, offered_at = ?, updated_at = ?
				WHERE id = ? AND state = ?`, TransferRinging, op, tried, now, now, id, TransferWaiting)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errRaced
			}
			c, err = getTransfer(ctx, t.Querier, cid, id, t.now)
			if err != nil {
				return err
			}
			t.logTransfer(c, 0, EventTransferOffered)
			offered = op
			return nil
		})
	})
	return offered, err
}

// transferCandidate is candidate for a call: the menu's best operator who
// is not in tried.
func transferCandidate(ctx context.Context, q store.Querier, cid int64, menu *int64, tried []int64) (int64, error) {
	var m int64
	if menu != nil {
		m = *menu
	}
	args := []any{cid, m, m}
	not := ""
	for _, id := range tried {
		not += " AND o.id <> ?"
		args = append(args, id)
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT o.id FROM operators o
		WHERE o.company_id = ? AND o.status = 'online' AND o.load < o.capacity AND `+servesSQL("?", "o.id")+not+`
		ORDER BY o.load, o.last_assigned_at, o.id LIMIT 1`, args...).Scan(&id)
	return id, err
}

// unring moves transfer c, ringing for op, back to waiting and releases
// op; false if it was not ringing for op any more.
func (t *tx) unring(ctx context.Context, c *CallTransfer, op int64) (bool, error) {
	res, err := t.Exec(ctx, `UPDATE call_transfers SET state = ?, operator_id = NULL, updated_at = ? WHERE id = ? AND state = ? AND operator_id = ?`,
		TransferWaiting, t.nowMS(), c.ID, TransferRinging, op)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	if err := t.release(ctx, op); err != nil {
		return false, err
	}
	c.State, c.OperatorID, c.OperatorName = TransferWaiting, nil, nil
	t.logTransfer(c, op, "")
	return true, nil
}

// RingTimeout takes transfer id back from operator op, who let it ring
// out; false if it was not ringing for op any more (accepted meanwhile).
func (s *Service) RingTimeout(ctx context.Context, cid, id, op int64) (bool, error) {
	var moved bool
	err := s.write(ctx, cid, func(t *tx) error {
		if err := lockOperator(ctx, t.Querier, cid, op); err != nil {
			return err
		}
		c, err := getTransfer(ctx, t.Querier, cid, id, t.now)
		if err != nil {
			return err
		}
		moved, err = t.unring(ctx, c, op)
		return err
	})
	return moved, err
}

// unringOperator moves every transfer ringing for op back to waiting, in
// the transaction that took op offline.
func (t *tx) unringOperator(ctx context.Context, op int64) error {
	cs, err := store.Collect(ctx, t.Querier, scanTransfer, `SELECT `+transferColumns+transferFrom+`WHERE t.company_id = ? AND t.operator_id = ? AND t.state = ?`,
		t.cid, op, TransferRinging)
	if err != nil {
		return err
	}
	for _, c := range cs {
		c.Now = t.now
		if _, err := t.unring(ctx, c, op); err != nil {
			return err
		}
	}
	return nil
}

// callerTransfer reads transfer id for the caller: staff see the
// company's, an operator the ones whose operator they are (ringing for
// them, talking or talked). me is the caller's operator (0 for staff).
func callerTransfer(ctx context.Context, q store.Querier, cid, id int64, now time.Time) (c *CallTransfer, me int64, err error) {
	op, err := callerOperator(ctx, q, cid)
	if err != nil {
		return nil, 0, err
	}
	c, err = getTransfer(ctx, q, cid, id, now)
	if err != nil {
		return nil, 0, err
	}
	if op != nil {
		me = *op
		if c.OperatorID == nil || *c.OperatorID != me {
			return nil, 0, parley.Errorf(parley.ENOTFOUND, "Call transfer %d not found.", id)
		}
	}
	return c, me, nil
}

// GetTransfer reads a transfer the caller may see.
func (s *Service) GetTransfer(ctx context.Context, id int64) (*CallTransfer, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	c, _, err := callerTransfer(ctx, s.DB.Reader(), cid, id, s.now())
	return c, err
}

// TransferFilter selects transfers: "live", "ended" or "all" ("" is all).
type TransferFilter struct {
	State         string
	Limit, Offset int
}

// ListTransfers lists the transfers the caller may see, newest first, and
// how many there are.
func (s *Service) ListTransfers(ctx context.Context, f TransferFilter) ([]*CallTransfer, int, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, 0, err
	}
	q := s.DB.Reader()
	op, err := callerOperator(ctx, q, cid)
	if err != nil {
		return nil, 0, err
	}
	where := `WHERE t.company_id = ?`
	args := []any{cid}
	if op != nil {
		where += ` AND t.operator_id = ?`
		args = append(args, *op)
	}
	switch f.State {
	case "", "all":
	case "live":
		where += ` AND t.state <> '` + string(TransferEnded) + `'`
	case "ended":
		where += ` AND t.state = '` + string(TransferEnded) + `'`
	default:
		return nil, 0, parley.FieldError("state", "must be live, ended or all, got %q", parley.Clip(f.State))
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = 100
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM call_transfers t `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	cs, err := store.Collect(ctx, q, scanTransfer, `SELECT `+transferColumns+transferFrom+where+` ORDER BY t.id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, max(0, f.Offset))...)
	now := s.now()
	for _, c := range cs {
		c.Now = now
	}
	return cs, total, err
}

// LiveTransfers lists the company's transfers that have not ended, for
// the supervisor's live view (staff only).
func (s *Service) LiveTransfers(ctx context.Context) ([]*CallTransfer, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := staffOnly(ctx, s.DB.Reader(), cid); err != nil {
		return nil, err
	}
	cs, err := store.Collect(ctx, s.DB.Reader(), scanTransfer, `SELECT `+transferColumns+transferFrom+`WHERE t.company_id = ? AND t.state <> ? ORDER BY t.id`,
		cid, TransferEnded)
	now := s.now()
	for _, c := range cs {
		c.Now = now
	}
	return cs, err
}

// staffOnly refuses operators: the live view and listening are the
// supervisors'.
func staffOnly(ctx context.Context, q store.Querier, cid int64) error {
	op, err := callerOperator(ctx, q, cid)
	if err != nil {
		return err
	}
	if op != nil {
		return parley.Errorf(parley.EFORBIDDEN, "Only admin and api users see the live calls.")
	}
	return nil
}

// StaffOnly is staffOnly for the caller, for the node's live-call view.
func (s *Service) StaffOnly(ctx context.Context) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	return staffOnly(ctx, s.DB.Reader(), cid)
}

// AcceptTransfer is the caller (an operator) taking transfer id that rings
// for them: talking from now. 403 for a caller who is not an operator, 409
// when it does not ring for them (taken, moved on, ended).
func (s *Service) AcceptTransfer(ctx context.Context, id int64) (*CallTransfer, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out *CallTransfer
	err = s.write(ctx, cid, func(t *tx) error {
		op, err := callerOperator(ctx, t.Querier, cid)
		if err != nil {
			return err
		}
		if op == nil {
			return parley.Errorf(parley.EFORBIDDEN, "Only an operator accepts a call.")
		}
		c, err := getTransfer(ctx, t.Querier, cid, id, t.now)
		if err != nil {
			return err
		}
		res, err := t.Exec(ctx, `UPDATE call_transfers SET state = ?, result = ?, accepted_at = ?, updated_at = ?
			WHERE id = ? AND state = ? AND operator_id = ?`, TransferTalking, TransferAccepted, t.nowMS(), t.nowMS(), id, TransferRinging, *op)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return parley.Errorf(parley.ECONFLICT, "Call transfer %d is not ringing for you (state %s).", id, c.State)
		}
		if c, err = getTransfer(ctx, t.Querier, cid, id, t.now); err != nil {
			return err
		}
		t.logTransfer(c, 0, EventTransferAccepted)
		out = c
		return nil
	})
	return out, err
}

// DeclineTransfer is the caller (an operator) refusing transfer id that
// rings for them: it is offered to the next operator.
func (s *Service) DeclineTransfer(ctx context.Context, id int64) (*CallTransfer, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out *CallTransfer
	err = s.write(ctx, cid, func(t *tx) error {
		op, err := callerOperator(ctx, t.Querier, cid)
		if err != nil {
			return err
		}
		if op == nil {
			if _, err := getTransfer(ctx, t.Querier, cid, id, t.now); err != nil {
				return err
			}
			return parley.Errorf(parley.EFORBIDDEN, "Only an operator declines a call.")
		}
		if err := lockOperator(ctx, t.Querier, cid, *op); err != nil {
			return err
		}
		c, _, err := callerTransfer(ctx, t.Querier, cid, id, t.now)
		if err != nil {
			return err
		}
		ok, err := t.unring(ctx, c, *op)
		if err != nil {
			return err
		}
		if !ok {
			return parley.Errorf(parley.ECONFLICT, "Call transfer %d is not ringing for you (state %s).", id, c.State)
		}
		out = c
		return nil
	})
	return out, err
}

// EndTransfer ends transfer id with result (the node holding the call:
// callee hung up, operator hung up, timeout, failed), releasing its
// operator. Ending an ended transfer changes nothing.
func (s *Service) EndTransfer(ctx context.Context, cid, id int64, result string) (*CallTransfer, error) {
	var out *CallTransfer
	err := s.write(ctx, cid, func(t *tx) error {
		c, err := getTransfer(ctx, t.Querier, cid, id, t.now)
		if err != nil {
			return err
		}
		out, err = t.endTransferLocked(ctx, cid, c, result)
		return err
	})
	return out, err
}

// endTransferLocked ends c after locking its operator's row, whose
// capacity the end gives back.
func (t *tx) endTransferLocked(ctx context.Context, cid int64, c *CallTransfer, result string) (*CallTransfer, error) {
	if c.OperatorID != nil {
		if err := lockOperator(ctx, t.Querier, cid, *c.OperatorID); err != nil {
			return nil, err
		}
	}
	return t.endTransfer(ctx, c, result, false)
}

// ExpireTransfer ends transfer id with result (the transfer timeout)
// unless an operator took it first: a talking (or ended) transfer comes
// back unchanged. The row decides between an accept and the timeout that
// arrive together: exactly one of AcceptTransfer and ExpireTransfer
// changes it, and the other sees what the first did.
func (s *Service) ExpireTransfer(ctx context.Context, cid, id int64, result string) (*CallTransfer, error) {
	var out *CallTransfer
	err := s.retry(ctx, func() error {
		return s.write(ctx, cid, func(t *tx) error {
			c, err := getTransfer(ctx, t.Querier, cid, id, t.now)
			if err != nil {
				return err
			}
			if c.State == TransferTalking || !c.Live() {
				out = c
				return nil
			}
			out, err = t.endTransferLocked(ctx, cid, c, result)
			return err
		})
	})
	return out, err
}

// endTransfer ends c unless it has ended already; the accepted result of
// a talked transfer stays unless force (interrupted).
func (t *tx) endTransfer(ctx context.Context, c *CallTransfer, result string, force bool) (*CallTransfer, error) {
	if !c.Live() {
		return c, nil
	}
	if c.State == TransferTalking && !force {
		result = TransferAccepted
	}
	res, err := t.Exec(ctx, `UPDATE call_transfers SET state = ?, result = ?, ended_at = ?, updated_at = ?, lease_until = 0 WHERE id = ? AND state = ?`,
		TransferEnded, result, t.nowMS(), t.nowMS(), c.ID, c.State)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, errRaced
	}
	if c.OperatorID != nil && (c.State == TransferRinging || c.State == TransferTalking) {
		if err := t.release(ctx, *c.OperatorID); err != nil {
			return nil, err
		}
	}
	c2, err := getTransfer(ctx, t.Querier, c.CompanyID, c.ID, t.now)
	if err != nil {
		return nil, err
	}
	t.logTransfer(c2, 0, EventTransferEnded)
	return c2, nil
}

// TransferControl is what the operator who talks (or an admin) may do to a
// transfer by hand: the node holding the call does it to the call too.
type TransferControl struct {
	Muted, Held *bool
}

// ControlTransfer records a mute or hold of a talking transfer.
func (s *Service) ControlTransfer(ctx context.Context, id int64, ctl TransferControl) (*CallTransfer, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out *CallTransfer
	err = s.write(ctx, cid, func(t *tx) error {
		c, _, err := callerTransfer(ctx, t.Querier, cid, id, t.now)
		if err != nil {
			return err
		}
		if c.State != TransferTalking {
			return parley.Errorf(parley.ECONFLICT, "Call transfer %d is not talking (state %s).", id, c.State)
		}
		muted, held := c.Muted, c.Held
		if ctl.Muted != nil {
			muted = *ctl.Muted
		}
		if ctl.Held != nil {
			held = *ctl.Held
		}
		if _, err := t.Exec(ctx, `UPDATE call_transfers SET muted = ?, held = ?, updated_at = ? WHERE id = ?`, muted, held, t.nowMS(), id); err != nil {
			return err
		}
		if c, err = getTransfer(ctx, t.Querier, cid, id, t.now); err != nil {
			return err
		}
		t.logTransfer(c, 0, "")
		out = c
		return nil
	})
	return out, err
}

// CheckTransferCaller checks that the caller may act on transfer id (see
// callerTransfer) and returns it.
func (s *Service) CheckTransferCaller(ctx context.Context, id int64) (*CallTransfer, error) {
	return s.GetTransfer(ctx, id)
}

// SetDisposition stores the operator's disposition of transfer id, while
// talking or after the end, by the operator who talked or staff.
func (s *Service) SetDisposition(ctx context.Context, id int64, d Disposition) (*CallTransfer, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if len(d.Note) > MaxTransferNote {
		return nil, parley.FieldError("note", "must be at most %d bytes", MaxTransferNote)
	}
	if len(d.Outputs) > MaxTransferEntities {
		return nil, parley.FieldError("output_entities", "must have at most %d entries", MaxTransferEntities)
	}
	for k, v := range d.Outputs {
		if k == "" || len(k) > MaxName || len(v) > MaxContact {
			return nil, parley.FieldError("output_entities", "names are 1-%d bytes and values at most %d", MaxName, MaxContact)
		}
	}
	if d.Outputs == nil {
		d.Outputs = map[string]string{}
	}
	b, _ := json.Marshal(d)
	var out *CallTransfer
	err = s.write(ctx, cid, func(t *tx) error {
		c, _, err := callerTransfer(ctx, t.Querier, cid, id, t.now)
		if err != nil {
			return err
		}
		if c.AcceptedAt == nil {
			return parley.Errorf(parley.ECONFLICT, "Call transfer %d was never talked: nothing to dispose (state %s).", id, c.State)
		}
		if _, err := t.Exec(ctx, `UPDATE call_transfers SET disposition = ?, updated_at = ? WHERE id = ?`, string(b), t.nowMS(), id); err != nil {
			return err
		}
		if c, err = getTransfer(ctx, t.Querier, cid, id, t.now); err != nil {
			return err
		}
		t.logTransfer(c, 0, "")
		out = c
		return nil
	})
	return out, err
}

// RenewTransfers extends the leases of the live transfers node holds.
func (s *Service) RenewTransfers(ctx context.Context, node string, lease time.Duration) error {
	return s.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `UPDATE call_transfers SET lease_until = ? WHERE node = ? AND state <> ?`,
			s.now().Add(lease).UnixMilli(), node, TransferEnded)
		return err
	})
}

// SweepTransfers ends as interrupted the live transfers whose node's lease
// ran out (the node died holding the call) and releases their operators.
// Every node runs it; the conditional UPDATE makes each row end once.
func (s *Service) SweepTransfers(ctx context.Context) (int, error) {
	type job struct{ id, cid int64 }
	jobs, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (j job, err error) {
		err = r.Scan(&j.id, &j.cid)
		return j, err
	}, `SELECT id, company_id FROM call_transfers WHERE state <> ? AND lease_until < ? LIMIT 500`, TransferEnded, s.now().UnixMilli())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		err := s.retry(ctx, func() error {
			return s.write(ctx, j.cid, func(t *tx) error {
				c, err := getTransfer(ctx, t.Querier, j.cid, j.id, t.now)
				if err != nil || !c.Live() {
					return err
				}
				if c.OperatorID != nil {
					if err := lockOperator(ctx, t.Querier, j.cid, *c.OperatorID); err != nil {
						return err
					}
				}
				if _, err := t.endTransfer(ctx, c, TransferInterrupted, true); err != nil {
					return err
				}
				n++
				return nil
			})
		})
		if err != nil {
			return n, fmt.Errorf("sweep transfer %d: %w", j.id, err)
		}
	}
	return n, nil
}
