package agent

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// ListTimeSlots returns an agent's call windows. None means any time.
func (s *Service) ListTimeSlots(ctx context.Context, agentUUID string) ([]TimeSlot, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out := []TimeSlot{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		ts, err := store.Collect(ctx, q, func(r store.Scanner) (TimeSlot, error) {
			t := TimeSlot{AgentUUID: agentUUID}
			err := r.Scan(&t.UUID, &t.Day, &t.NotBefore, &t.NotAfter)
			return t, err
		}, `SELECT uuid, day, not_before, not_after FROM agent_time_slots
			WHERE agent_id = ? AND company_id = ? ORDER BY day, not_before, id`, aid, cid)
		out = append(out, ts...)
		return err
	})
	return out, err
}

// CreateTimeSlot adds a window. A client may choose the UUID; sending the
// same UUID and window again returns the stored slot (a safe retry), while
// the same UUID with another window is a conflict.
func (s *Service) CreateTimeSlot(ctx context.Context, agentUUID string, t TimeSlot) (*TimeSlot, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateSlot(t.Day, t.NotBefore, t.NotAfter); err != nil {
		return nil, err
	}
	if t.UUID == "" {
		t.UUID = uuid.NewString()
	} else if err := ValidUUID("time_slot_uuid", t.UUID); err != nil {
		return nil, err
	}
	t.AgentUUID = agentUUID
	err = s.DB.Write(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		var have TimeSlot
		var haveAgent int64
		err = q.QueryRow(ctx, `SELECT agent_id, day, not_before, not_after FROM agent_time_slots WHERE uuid = ? AND company_id = ?`, t.UUID, cid).
			Scan(&haveAgent, &have.Day, &have.NotBefore, &have.NotAfter)
		if err == nil {
			if haveAgent == aid && have.Day == t.Day && have.NotBefore == t.NotBefore && have.NotAfter == t.NotAfter {
				return nil
			}
			return parley.Errorf(parley.ECONFLICT, "Time slot %s already exists with other values.", t.UUID)
		} else if !errors.Is(err, store.ErrNoRows) {
			return err
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM agent_time_slots WHERE agent_id = ?`, aid).Scan(&n); err != nil {
			return err
		}
		if n >= MaxSlotsPerAgent {
			return parley.Errorf(parley.ECONFLICT, "An agent holds at most %d time slots.", MaxSlotsPerAgent)
		}
		_, err = q.Exec(ctx, `INSERT INTO agent_time_slots (uuid, company_id, agent_id, day, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?)`,
			t.UUID, cid, aid, t.Day, t.NotBefore, t.NotAfter)
		if errors.Is(err, store.ErrUnique) {
			// The UUID belongs to another company's slot: never say so.
			return parley.Errorf(parley.ECONFLICT, "time_slot_uuid %s cannot be used; omit it to get a fresh one.", t.UUID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.changed()
	return &t, nil
}

// UpdateTimeSlot replaces a window's day and times.
func (s *Service) UpdateTimeSlot(ctx context.Context, t TimeSlot) (*TimeSlot, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidUUID("time_slot_uuid", t.UUID); err != nil {
		return nil, err
	}
	if err := validateSlot(t.Day, t.NotBefore, t.NotAfter); err != nil {
		return nil, err
	}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		err := q.QueryRow(ctx, `SELECT a.uuid FROM agent_time_slots t JOIN agents a ON a.id = t.agent_id
			WHERE t.uuid = ? AND t.company_id = ?`, t.UUID, cid).Scan(&t.AgentUUID)
		if errors.Is(err, store.ErrNoRows) {
			return parley.Errorf(parley.ENOTFOUND, "Time slot %s not found.", t.UUID)
		} else if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE agent_time_slots SET day = ?, not_before = ?, not_after = ? WHERE uuid = ? AND company_id = ?`,
			t.Day, t.NotBefore, t.NotAfter, t.UUID, cid)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.changed()
	return &t, nil
}

// DeleteTimeSlot removes a window.
func (s *Service) DeleteTimeSlot(ctx context.Context, slotUUID string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if err := ValidUUID("time_slot_uuid", slotUUID); err != nil {
		return err
	}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `DELETE FROM agent_time_slots WHERE uuid = ? AND company_id = ?`, slotUUID, cid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "Time slot %s not found.", slotUUID)
		}
		return nil
	})
	if err == nil {
		s.changed()
	}
	return err
}
