package agent

import (
	"context"
	"errors"
	"strconv"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

const maxNumberCell = 10000

func (k EntityKind) label() string {
	if k == Output {
		return "Output entity"
	}
	return "Initial entity"
}

// normalize validates a new entity and fills its defaults.
func (in *NewEntity) normalize(kind EntityKind) error {
	var err error
	if in.Name, err = parley.ValidName("name", in.Name, 100); err != nil {
		return err
	}
	switch {
	case kind == Initial:
		in.EntityType = "string"
	case in.EntityType == "":
		in.EntityType = "string"
	case !outputTypes[in.EntityType]:
		return parley.FieldError("entity_type", "must be one of string, integer, number, boolean, date, datetime; got %q", parley.Clip(in.EntityType))
	}
	if kind == Output {
		in.Synthesis = false
	}
	if in.NumberCell != nil {
		return validCount("number_cell", *in.NumberCell, maxNumberCell)
	}
	return nil
}

func scanEntity(s store.Scanner, kind EntityKind) (Entity, error) {
	e := Entity{Kind: kind}
	err := s.Scan(&e.UUID, &e.AgentUUID, &e.Name, &e.Synthesis, &e.EntityType, &e.NumberCell)
	return e, err
}

const entityColumns = `e.uuid, a.uuid, e.name, e.synthesis, e.entity_type, e.number_cell`

// ListEntities returns an agent's entities of one kind in column order.
func (s *Service) ListEntities(ctx context.Context, kind EntityKind, agentUUID string) ([]Entity, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out := []Entity{}
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		es, err := store.Collect(ctx, q, func(r store.Scanner) (Entity, error) { return scanEntity(r, kind) },
			`SELECT `+entityColumns+` FROM agent_entities e JOIN agents a ON a.id = e.agent_id
			WHERE e.agent_id = ? AND e.company_id = ? AND e.kind = ? ORDER BY e.number_cell, e.id`, aid, cid, string(kind))
		out = append(out, es...)
		return err
	})
	return out, err
}

// CreateEntity adds one entity; a name the agent already has is a conflict.
func (s *Service) CreateEntity(ctx context.Context, kind EntityKind, agentUUID string, in NewEntity) (*Entity, error) {
	res, err := s.addEntities(ctx, kind, agentUUID, []NewEntity{in})
	if err != nil {
		return nil, err
	}
	if len(res.Done) == 0 {
		return nil, parley.Errorf(parley.ECONFLICT, "%s %q already exists on this agent.", kind.label(), parley.Clip(in.Name))
	}
	return &res.Done[0], nil
}

// BulkCreateEntities adds many entities at once. Names the agent already
// has, or that repeat within the request, are reported in Skipped. An
// invalid entity fails the whole request before anything is stored.
func (s *Service) BulkCreateEntities(ctx context.Context, kind EntityKind, agentUUID string, in []NewEntity) (*BulkResult, error) {
	if len(in) == 0 {
		return nil, parley.FieldError("entities", "must hold at least one entity")
	}
	if len(in) > MaxBulkEntities {
		return nil, parley.Errorf(parley.EINVALID, "At most %d entities per request.", MaxBulkEntities)
	}
	return s.addEntities(ctx, kind, agentUUID, in)
}

func (s *Service) addEntities(ctx context.Context, kind EntityKind, agentUUID string, in []NewEntity) (*BulkResult, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	for i := range in {
		if err := in[i].normalize(kind); err != nil {
			if pe, ok := err.(*parley.Error); ok && len(in) > 1 {
				pe.Message = "entities[" + strconv.Itoa(i) + "]." + pe.Message
			}
			return nil, err
		}
	}
	res := &BulkResult{Done: []Entity{}, Skipped: []string{}}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		aid, err := agentID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		type named struct {
			name string
			cell int
		}
		have, err := store.Collect(ctx, q, func(r store.Scanner) (n named, err error) {
			err = r.Scan(&n.name, &n.cell)
			return n, err
		}, `SELECT name, number_cell FROM agent_entities WHERE agent_id = ? AND kind = ?`, aid, string(kind))
		if err != nil {
			return err
		}
		existing := map[string]bool{}
		next := 0
		for _, n := range have {
			existing[n.name] = true
			next = max(next, n.cell+1)
		}
		for _, e := range in {
			if existing[e.Name] {
				res.Skipped = append(res.Skipped, e.Name)
				continue
			}
			if len(existing) >= MaxEntitiesPerAgent {
				return parley.Errorf(parley.ECONFLICT, "An agent holds at most %d %s entities.", MaxEntitiesPerAgent, kind)
			}
			cell := next
			if e.NumberCell != nil {
				cell = *e.NumberCell
			}
			next = max(next, cell+1)
			ent := Entity{UUID: uuid.NewString(), AgentUUID: agentUUID, Kind: kind, Name: e.Name, Synthesis: e.Synthesis, EntityType: e.EntityType, NumberCell: cell}
			if _, err := q.Exec(ctx, `INSERT INTO agent_entities (uuid, company_id, agent_id, kind, name, synthesis, entity_type, number_cell)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ent.UUID, cid, aid, string(kind), ent.Name, ent.Synthesis, ent.EntityType, ent.NumberCell); err != nil {
				return err
			}
			existing[e.Name] = true
			res.Done = append(res.Done, ent)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// UpdateEntity edits one entity. Renaming onto a name the agent already has
// is a conflict.
func (s *Service) UpdateEntity(ctx context.Context, kind EntityKind, entityUUID string, u EntityUpdate) (*Entity, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidUUID(string(kind)+"_entity_uuid", entityUUID); err != nil {
		return nil, err
	}
	var out Entity
	err = s.DB.Write(ctx, func(q store.Querier) error {
		e, err := scanEntity(q.QueryRow(ctx, `SELECT `+entityColumns+` FROM agent_entities e JOIN agents a ON a.id = e.agent_id
			WHERE e.uuid = ? AND e.company_id = ? AND e.kind = ?`, entityUUID, cid, string(kind)), kind)
		if errors.Is(err, store.ErrNoRows) {
			return parley.Errorf(parley.ENOTFOUND, "%s %s not found.", kind.label(), entityUUID)
		} else if err != nil {
			return err
		}
		in := NewEntity{Name: e.Name, Synthesis: e.Synthesis, EntityType: e.EntityType, NumberCell: &e.NumberCell}
		if u.Name != nil {
			in.Name = *u.Name
		}
		if u.Synthesis != nil {
			in.Synthesis = *u.Synthesis
		}
		if u.EntityType != nil {
			in.EntityType = *u.EntityType
		}
		if u.NumberCell != nil {
			in.NumberCell = u.NumberCell
		}
		if err := in.normalize(kind); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE agent_entities SET name = ?, synthesis = ?, entity_type = ?, number_cell = ?
			WHERE uuid = ? AND company_id = ?`, in.Name, in.Synthesis, in.EntityType, *in.NumberCell, entityUUID, cid)
		if errors.Is(err, store.ErrUnique) {
			return parley.Errorf(parley.ECONFLICT, "%s %q already exists on this agent.", kind.label(), parley.Clip(in.Name))
		} else if err != nil {
			return err
		}
		out = Entity{UUID: e.UUID, AgentUUID: e.AgentUUID, Kind: kind, Name: in.Name, Synthesis: in.Synthesis, EntityType: in.EntityType, NumberCell: *in.NumberCell}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEntity removes one entity.
func (s *Service) DeleteEntity(ctx context.Context, kind EntityKind, entityUUID string) error {
	res, err := s.BulkDeleteEntities(ctx, kind, "", []string{entityUUID})
	if err != nil {
		return err
	}
	if len(res.Done) == 0 {
		return parley.Errorf(parley.ENOTFOUND, "%s %s not found.", kind.label(), entityUUID)
	}
	return nil
}

// BulkDeleteEntities removes entities by UUID, limited to one agent when
// agentUUID is set. UUIDs not found (or another company's) are Skipped.
func (s *Service) BulkDeleteEntities(ctx context.Context, kind EntityKind, agentUUID string, uuids []string) (*BulkResult, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if len(uuids) == 0 {
		return nil, parley.FieldError(string(kind)+"_entities_uuid", "must hold at least one UUID")
	}
	if len(uuids) > MaxBulkEntities {
		return nil, parley.Errorf(parley.EINVALID, "At most %d entities per request.", MaxBulkEntities)
	}
	for i, id := range uuids {
		if err := ValidUUID(string(kind)+"_entities_uuid["+strconv.Itoa(i)+"]", id); err != nil {
			return nil, err
		}
	}
	res := &BulkResult{Done: []Entity{}, Skipped: []string{}}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		var aid int64
		if agentUUID != "" {
			if aid, err = agentID(ctx, q, cid, agentUUID); err != nil {
				return err
			}
		}
		seen := map[string]bool{}
		for _, id := range uuids {
			if seen[id] {
				continue
			}
			seen[id] = true
			e, err := scanEntity(q.QueryRow(ctx, `SELECT `+entityColumns+` FROM agent_entities e JOIN agents a ON a.id = e.agent_id
				WHERE e.uuid = ? AND e.company_id = ? AND e.kind = ? AND (? = 0 OR e.agent_id = ?)`, id, cid, string(kind), aid, aid), kind)
			if errors.Is(err, store.ErrNoRows) {
				res.Skipped = append(res.Skipped, id)
				continue
			} else if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `DELETE FROM agent_entities WHERE uuid = ? AND company_id = ?`, id, cid); err != nil {
				return err
			}
			res.Done = append(res.Done, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
