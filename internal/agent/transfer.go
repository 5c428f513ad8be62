package agent

import (
	"context"
	"errors"
	"strings"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// TransferSettings say where and how an agent's calls are handed to a
// human (s.transfer(), issue 12). The agent's routing_channel_limit (the
// general settings) bounds its calls in transfer at once.
type TransferSettings struct {
	// MenuID is the menu whose operators take the calls; nil: any
	// operator of the company.
	MenuID *int64
	// HoldPrompt is spoken to the callee first while waiting, then hold
	// music plays.
	HoldPrompt string
	// RingTimeout is how long an offer rings for one operator before it
	// moves to the next; Timeout how long the callee waits at most before
	// s.transfer() returns False. Seconds.
	RingTimeout, Timeout int
	// ExternalTo, if set, sends the calls to this number or SIP URI over
	// the agent's trunk instead of to operators.
	ExternalTo string
}

// Limits of the transfer settings.
const (
	MaxHoldPrompt       = 500
	MaxRingTimeout      = 300
	MaxTransferTimeout  = 3600
	MaxExternalTarget   = 512
	DefaultRingTimeout  = 20
	DefaultTransferWait = 60
)

// TransferSettingsUpdate is a partial change; ClearMenu sets MenuID to nil.
type TransferSettingsUpdate struct {
	MenuID      *int64
	ClearMenu   bool
	HoldPrompt  *string
	RingTimeout *int
	Timeout     *int
	ExternalTo  *string
}

// LoadTransfer reads the transfer settings and routing_channel_limit of
// agent agentID (the dialer's call, by row id).
func LoadTransfer(ctx context.Context, q store.Querier, agentID int64) (*TransferSettings, int, error) {
	var t TransferSettings
	var limit int
	err := q.QueryRow(ctx, `SELECT transfer_menu_id, transfer_hold_prompt, transfer_ring_timeout, transfer_timeout, transfer_external_to, routing_channel_limit
		FROM agents WHERE id = ?`, agentID).ScanFound("Agent", &t.MenuID, &t.HoldPrompt, &t.RingTimeout, &t.Timeout, &t.ExternalTo, &limit)
	return &t, limit, err
}

// TransferOf reads agent agentID's transfer settings and its
// routing_channel_limit, for the node handing a call over.
func (s *Service) TransferOf(ctx context.Context, agentID int64) (*TransferSettings, int, error) {
	return LoadTransfer(ctx, s.DB.Reader(), agentID)
}

// GetTransfer reads the transfer settings of the caller's agent.
func (s *Service) GetTransfer(ctx context.Context, agentUUID string) (*TransferSettings, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	id, err := agentID(ctx, s.DB.Reader(), cid, agentUUID)
	if err != nil {
		return nil, err
	}
	t, _, err := LoadTransfer(ctx, s.DB.Reader(), id)
	return t, err
}

// UpdateTransfer applies a partial change of the caller's agent's transfer
// settings.
func (s *Service) UpdateTransfer(ctx context.Context, agentUUID string, u TransferSettingsUpdate) (*TransferSettings, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out *TransferSettings
	err = s.DB.Write(ctx, func(q store.Querier) error {
		id, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		t, _, err := LoadTransfer(ctx, q, id)
		if err != nil {
			return err
		}
		if u.ClearMenu {
			t.MenuID = nil
		} else if u.MenuID != nil {
			var one int
			err := q.QueryRow(ctx, `SELECT 1 FROM menus WHERE id = ? AND company_id = ?`, *u.MenuID, cid).Scan(&one)
			if errors.Is(err, store.ErrNoRows) {
				return parley.FieldError("menu_id", "names no menu of the company")
			} else if err != nil {
				return err
			}
			t.MenuID = u.MenuID
		}
		if u.HoldPrompt != nil {
			if err := parley.ValidText("hold_prompt", *u.HoldPrompt, MaxHoldPrompt); err != nil {
				return err
			}
			t.HoldPrompt = strings.TrimSpace(*u.HoldPrompt)
		}
		if u.RingTimeout != nil {
			if *u.RingTimeout < 5 || *u.RingTimeout > MaxRingTimeout {
				return parley.FieldError("ring_timeout_seconds", "must be from 5 to %d", MaxRingTimeout)
			}
			t.RingTimeout = *u.RingTimeout
		}
		if u.Timeout != nil {
			if *u.Timeout < 5 || *u.Timeout > MaxTransferTimeout {
				return parley.FieldError("transfer_timeout_seconds", "must be from 5 to %d", MaxTransferTimeout)
			}
			t.Timeout = *u.Timeout
		}
		if u.ExternalTo != nil {
			v := strings.TrimSpace(*u.ExternalTo)
			if len(v) > MaxExternalTarget || strings.ContainsAny(v, "\r\n\x00<> ") {
				return parley.FieldError("external_to", "must be a phone number or a SIP URI of at most %d bytes", MaxExternalTarget)
			}
			if v != "" && !strings.HasPrefix(strings.ToLower(v), "sip:") && !strings.HasPrefix(strings.ToLower(v), "sips:") && strings.Trim(v, "+0123456789") != "" {
				return parley.FieldError("external_to", "must be a phone number (+79990001122) or a sip: URI")
			}
			t.ExternalTo = v
		}
		if _, err := q.Exec(ctx, `UPDATE agents SET transfer_menu_id = ?, transfer_hold_prompt = ?, transfer_ring_timeout = ?, transfer_timeout = ?,
			transfer_external_to = ? WHERE id = ?`, t.MenuID, t.HoldPrompt, t.RingTimeout, t.Timeout, t.ExternalTo, id); err != nil {
			return err
		}
		out = t
		return nil
	})
	return out, err
}

// NameOf reads the name of agent agentID of the caller's company.
func (s *Service) NameOf(ctx context.Context, agentID int64) (string, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return "", err
	}
	var name string
	err = s.DB.Reader().QueryRow(ctx, `SELECT name FROM agents WHERE id = ? AND company_id = ?`, agentID, cid).ScanFound("Agent", &name)
	return name, err
}
