package ext

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
)

// The handlers below serve both entity kinds; they differ only in the name
// of the UUID field.

type handlerFunc = func(h *Handler, w http.ResponseWriter, r *http.Request) error

func entityList(kind agent.EntityKind) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		es, err := h.Agents.ListEntities(r.Context(), kind, agentParam(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, dataList[entity]{Data: toEntities(es)})
		return nil
	}
}

func entityCreate(kind agent.EntityKind) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		var in entityBody
		if err := decode(r, &in); err != nil {
			return err
		}
		e, err := h.Agents.CreateEntity(r.Context(), kind, agentParam(r), in.newEntity())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toEntity(*e))
		return nil
	}
}

func entityUpdate(kind agent.EntityKind) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		var in entityBody
		if err := decode(r, &in); err != nil {
			return err
		}
		id := in.uuid(kind)
		if id == nil {
			return parley.FieldError(string(kind)+"_entity_uuid", "is required")
		}
		e, err := h.Agents.UpdateEntity(r.Context(), kind, *id, agent.EntityUpdate{
			Name: in.Name, Synthesis: in.Synthesis, EntityType: in.EntityType, NumberCell: api.IntPtr(in.NumberCell),
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toEntity(*e))
		return nil
	}
}

// entityDelete takes the UUID in the body, as the seed shows, or in the
// query for clients that cannot send a DELETE body.
func entityDelete(kind agent.EntityKind) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		var in entityBody
		present, err := decodeOptional(r, &in)
		if err != nil {
			return err
		}
		id := ""
		if present && in.uuid(kind) != nil {
			id = *in.uuid(kind)
		} else if !present {
			id = r.URL.Query().Get(string(kind) + "_entity_uuid")
		}
		if id == "" {
			return parley.FieldError(string(kind)+"_entity_uuid", "is required")
		}
		if err := h.Agents.DeleteEntity(r.Context(), kind, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func entityBulkAdd(kind agent.EntityKind) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		var in bulkBody
		if err := decode(r, &in); err != nil {
			return err
		}
		return h.bulkAdd(w, r, kind, in.Entities)
	}
}

func (h *Handler) bulkAdd(w http.ResponseWriter, r *http.Request, kind agent.EntityKind, in []entityBody) error {
	if in == nil {
		return parley.FieldError("entities", "is required")
	}
	news := make([]agent.NewEntity, len(in))
	for i, b := range in {
		news[i] = b.newEntity()
	}
	res, err := h.Agents.BulkCreateEntities(r.Context(), kind, agentParam(r), news)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, bulkAdded{AddedEntities: toEntities(res.Done), Skipped: res.Skipped})
	return nil
}

// entityBulkDelete is POST /initial-entity/bulk-delete. The seed gives it no
// agent_uuid; when one is given, only that agent's entities are deleted.
func entityBulkDelete(kind agent.EntityKind) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		var in bulkBody
		if err := decode(r, &in); err != nil {
			return err
		}
		ids := in.InitialEntitiesUUID
		if kind == agent.Output {
			ids = in.OutputEntitiesUUID
		}
		if ids == nil {
			return parley.FieldError(string(kind)+"_entities_uuid", "is required")
		}
		res, err := h.Agents.BulkDeleteEntities(r.Context(), kind, agentParam(r), ids)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, bulkDeleted{DeletedEntities: toEntities(res.Done), Skipped: res.Skipped})
		return nil
	}
}

// outputBulk is POST /output-entity/bulk, which the seed uses both to add
// ({"entities": [...]}) and to delete ({"output_entities_uuid": [...]}).
func (h *Handler) outputBulk(w http.ResponseWriter, r *http.Request) error {
	var in bulkBody
	if err := decode(r, &in); err != nil {
		return err
	}
	switch {
	case in.Entities != nil && in.OutputEntitiesUUID != nil:
		return parley.Errorf(parley.EINVALID, "Send either entities (to add) or output_entities_uuid (to delete), not both.")
	case in.Entities != nil:
		return h.bulkAdd(w, r, agent.Output, in.Entities)
	case in.OutputEntitiesUUID != nil:
		if agentParam(r) == "" {
			return parley.FieldError("agent_uuid", "is required")
		}
		res, err := h.Agents.BulkDeleteEntities(r.Context(), agent.Output, agentParam(r), in.OutputEntitiesUUID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, bulkDeleted{DeletedEntities: toEntities(res.Done), Skipped: res.Skipped})
		return nil
	}
	return parley.Errorf(parley.EINVALID, "Send entities (to add) or output_entities_uuid (to delete).")
}
