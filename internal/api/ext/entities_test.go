package ext_test

import (
	"testing"

	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/testenv"
)

type wireEntity struct {
	InitialEntityUUID string  `json:"initial_entity_uuid"`
	OutputEntityUUID  string  `json:"output_entity_uuid"`
	Name              string  `json:"name"`
	Synthesis         *bool   `json:"synthesis"`
	EntityType        *string `json:"entity_type"`
	NumberCell        int     `json:"number_cell"`
	AgentUUID         string  `json:"agent_uuid"`
}

type bulkAnswer struct {
	Added   []wireEntity `json:"added_entities"`
	Deleted []wireEntity `json:"deleted_entities"`
	Skipped []string     `json:"skipped"`
}

func TestInitialEntities(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		base := ext.Prefix + "/initial-entity"
		q := "?agent_uuid=" + ten.AgentUUID

		var msisdn wireEntity
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "msisdn", "synthesis": false}), 201).JSON(t, &msisdn)
		if msisdn.InitialEntityUUID == "" || msisdn.Name != "msisdn" || msisdn.Synthesis == nil || *msisdn.Synthesis || msisdn.AgentUUID != ten.AgentUUID {
			t.Fatalf("created: %+v", msisdn)
		}
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "msisdn"}), 409)
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"synthesis": true}), 409)

		// Bulk: duplicates of stored names and within the request are skipped.
		var bulk bulkAnswer
		mustStatus(t, env.Do(t, "POST", base+"/bulk"+q, ten.Token, map[string]any{"entities": []any{
			map[string]any{"name": "city", "synthesis": true}, map[string]any{"name": "msisdn"},
			map[string]any{"name": "имя"}, map[string]any{"name": "city"},
		}}), 200).JSON(t, &bulk)
		if len(bulk.Added) != 2 || bulk.Added[0].Name != "city" || !*bulk.Added[0].Synthesis || bulk.Added[1].Name != "имя" {
			t.Fatalf("bulk added: %+v", bulk)
		}
		if len(bulk.Skipped) != 2 || bulk.Skipped[0] != "msisdn" || bulk.Skipped[1] != "city" {
			t.Fatalf("bulk skipped: %+v", bulk.Skipped)
		}
		if bulk.Added[0].NumberCell != 1 || bulk.Added[1].NumberCell != 2 {
			t.Errorf("number_cell not assigned in order: %+v", bulk.Added)
		}
		// One invalid entity fails the whole request and stores nothing.
		mustStatus(t, env.Do(t, "POST", base+"/bulk"+q, ten.Token, map[string]any{"entities": []any{map[string]any{"name": "ok"}, map[string]any{"name": ""}}}), 409)
		mustStatus(t, env.Do(t, "POST", base+"/bulk"+q, ten.Token, map[string]any{"entities": []any{}}), 409)

		var list struct {
			Data []wireEntity `json:"data"`
		}
		mustStatus(t, env.Do(t, "GET", base+q, ten.Token, nil), 200).JSON(t, &list)
		if len(list.Data) != 3 || list.Data[0].Name != "msisdn" || list.Data[2].Name != "имя" {
			t.Fatalf("list: %+v", list.Data)
		}
		city := list.Data[1]

		var upd wireEntity
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"initial_entity_uuid": city.InitialEntityUUID, "name": "town", "synthesis": false}), 200).JSON(t, &upd)
		if upd.Name != "town" || *upd.Synthesis || upd.NumberCell != city.NumberCell {
			t.Fatalf("updated: %+v", upd)
		}
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"initial_entity_uuid": city.InitialEntityUUID, "name": "msisdn"}), 409)
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"initial_entity_uuid": "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10", "name": "x"}), 404)
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"name": "x"}), 409)

		// Delete by body, as the seed shows, and by query.
		mustStatus(t, env.Do(t, "DELETE", base, ten.Token, map[string]any{"initial_entity_uuid": city.InitialEntityUUID}), 204)
		mustStatus(t, env.Do(t, "DELETE", base, ten.Token, map[string]any{"initial_entity_uuid": city.InitialEntityUUID}), 404)
		mustStatus(t, env.Do(t, "DELETE", base+"?initial_entity_uuid="+list.Data[2].InitialEntityUUID, ten.Token, nil), 204)
		mustStatus(t, env.Do(t, "DELETE", base, ten.Token, nil), 409)

		// Bulk delete: present ones are deleted, absent ones skipped.
		gone := "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10"
		mustStatus(t, env.Do(t, "POST", base+"/bulk-delete", ten.Token, map[string]any{"initial_entities_uuid": []string{msisdn.InitialEntityUUID, gone}}), 200).JSON(t, &bulk)
		if len(bulk.Deleted) != 1 || bulk.Deleted[0].Name != "msisdn" || len(bulk.Skipped) != 1 || bulk.Skipped[0] != gone {
			t.Fatalf("bulk delete: %+v", bulk)
		}
		mustStatus(t, env.Do(t, "GET", base+q, ten.Token, nil), 200).JSON(t, &list)
		if len(list.Data) != 0 {
			t.Fatalf("left after deletes: %+v", list.Data)
		}
		mustStatus(t, env.Do(t, "POST", base+"/bulk-delete", ten.Token, map[string]any{"initial_entities_uuid": []string{"nope"}}), 409)
	})
}

func TestOutputEntities(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		base := ext.Prefix + "/output-entity"
		q := "?agent_uuid=" + ten.AgentUUID

		var e wireEntity
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "answer", "entity_type": "boolean", "number_cell": 5}), 201).JSON(t, &e)
		if e.OutputEntityUUID == "" || *e.EntityType != "boolean" || e.NumberCell != 5 || e.Synthesis != nil {
			t.Fatalf("created: %+v", e)
		}
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"name": "x", "entity_type": "blob"}), 409)

		// One URI adds for "entities" and deletes for "output_entities_uuid".
		var bulk bulkAnswer
		mustStatus(t, env.Do(t, "POST", base+"/bulk"+q, ten.Token, map[string]any{"entities": []any{
			map[string]any{"name": "reason"}, map[string]any{"name": "answer", "entity_type": "string"},
		}}), 200).JSON(t, &bulk)
		if len(bulk.Added) != 1 || bulk.Added[0].Name != "reason" || *bulk.Added[0].EntityType != "string" || bulk.Added[0].NumberCell != 6 {
			t.Fatalf("bulk add: %+v", bulk)
		}
		if len(bulk.Skipped) != 1 || bulk.Skipped[0] != "answer" {
			t.Fatalf("bulk add skipped: %+v", bulk.Skipped)
		}
		mustStatus(t, env.Do(t, "POST", base+"/bulk"+q, ten.Token, map[string]any{"entities": []any{}, "output_entities_uuid": []string{}}), 409)
		mustStatus(t, env.Do(t, "POST", base+"/bulk"+q, ten.Token, map[string]any{}), 409)

		// The seed's underscore spelling reaches the same methods.
		mustStatus(t, env.Do(t, "PUT", ext.Prefix+"/output_entity", ten.Token, map[string]any{"output_entity_uuid": e.OutputEntityUUID, "entity_type": "integer"}), 200).JSON(t, &e)
		if *e.EntityType != "integer" || e.Name != "answer" {
			t.Fatalf("updated: %+v", e)
		}
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"output_entity_uuid": e.OutputEntityUUID, "name": "reason"}), 409)

		gone := "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10"
		mustStatus(t, env.Do(t, "POST", base+"/bulk"+q, ten.Token, map[string]any{"output_entities_uuid": []string{e.OutputEntityUUID, gone}}), 200).JSON(t, &bulk)
		if len(bulk.Deleted) != 1 || bulk.Deleted[0].OutputEntityUUID != e.OutputEntityUUID || len(bulk.Skipped) != 1 {
			t.Fatalf("bulk delete: %+v", bulk)
		}
		mustStatus(t, env.Do(t, "DELETE", ext.Prefix+"/output_entity", ten.Token, map[string]any{"output_entity_uuid": e.OutputEntityUUID}), 404)

		var list struct {
			Data []wireEntity `json:"data"`
		}
		mustStatus(t, env.Do(t, "GET", base+q, ten.Token, nil), 200).JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].Name != "reason" {
			t.Fatalf("list: %+v", list.Data)
		}
		mustStatus(t, env.Do(t, "DELETE", base, ten.Token, map[string]any{"output_entity_uuid": list.Data[0].OutputEntityUUID}), 204)

		// Initial and output entities are separate namespaces.
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/initial-entity"+q, ten.Token, map[string]any{"name": "reason"}), 201).JSON(t, &e)
		mustStatus(t, env.Do(t, "DELETE", base, ten.Token, map[string]any{"output_entity_uuid": e.InitialEntityUUID}), 404)
	})
}

func TestTimeSlots(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		base := ext.Prefix + "/agent-settings/time-slot"
		q := "?agent_uuid=" + ten.AgentUUID

		var slots []map[string]any
		mustStatus(t, env.Do(t, "GET", base+q, ten.Token, nil), 200).JSON(t, &slots)
		if slots == nil || len(slots) != 0 {
			t.Fatalf("a new agent has slots (or null instead of []): %v", slots)
		}
		type slot struct {
			TimeSlotUUID string `json:"time_slot_uuid"`
			Day          int    `json:"day"`
			NotBefore    string `json:"not_before"`
			NotAfter     string `json:"not_after"`
		}
		var night slot
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"day": 5, "not_before": "22:00", "not_after": "02:00"}), 201).JSON(t, &night)
		if night.TimeSlotUUID == "" || night.Day != 5 || night.NotBefore != "22:00" || night.NotAfter != "02:00" {
			t.Fatalf("created: %+v", night)
		}
		// A client-chosen UUID makes the create safely retryable.
		mine := "0b6c2f55-8a3d-4b7e-9f10-2a1b3c4d5e6f"
		body := map[string]any{"time_slot_uuid": mine, "day": 1, "not_before": "09:00", "not_after": "24:00"}
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, body), 201)
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, body), 201)
		mustStatus(t, env.Do(t, "POST", base+q, ten.Token, map[string]any{"time_slot_uuid": mine, "day": 2, "not_before": "09:00", "not_after": "10:00"}), 409)

		for _, bad := range []map[string]any{
			{"day": 0, "not_before": "09:00", "not_after": "10:00"},
			{"day": 8, "not_before": "09:00", "not_after": "10:00"},
			{"day": 1, "not_before": "24:00", "not_after": "10:00"},
			{"day": 1, "not_before": "9:00", "not_after": "10:00"},
			{"day": 1, "not_before": "09:00", "not_after": "24:30"},
			{"day": 1, "not_before": "09:00", "not_after": "09:00"},
			{"not_before": "09:00", "not_after": "10:00"},
			{"day": 1, "not_after": "10:00"},
		} {
			if r := env.Do(t, "POST", base+q, ten.Token, bad); r.Status != 409 {
				t.Errorf("POST %v: status %d, want 409: %s", bad, r.Status, r.Body)
			}
		}

		// PUT answers 201, as the seed shows.
		var upd slot
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"time_slot_uuid": night.TimeSlotUUID, "day": "6", "not_before": "21:00", "not_after": "23:00"}), 201).JSON(t, &upd)
		if upd.Day != 6 || upd.NotBefore != "21:00" || upd.TimeSlotUUID != night.TimeSlotUUID {
			t.Fatalf("updated: %+v", upd)
		}
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"day": 6, "not_before": "21:00", "not_after": "23:00"}), 409)
		mustStatus(t, env.Do(t, "PUT", base, ten.Token, map[string]any{"time_slot_uuid": "6f1d2b44-1c54-4a36-9c7a-3c3f8d5d2a10", "day": 6, "not_before": "21:00", "not_after": "23:00"}), 404)

		var list []slot
		mustStatus(t, env.Do(t, "GET", base+q, ten.Token, nil), 200).JSON(t, &list)
		if len(list) != 2 || list[0].TimeSlotUUID != mine || list[1].Day != 6 {
			t.Fatalf("list: %+v", list)
		}
		mustStatus(t, env.Do(t, "DELETE", base, ten.Token, map[string]any{"time_slot_uuid": mine}), 204)
		mustStatus(t, env.Do(t, "DELETE", base+"?time_slot_uuid="+night.TimeSlotUUID, ten.Token, nil), 204)
		mustStatus(t, env.Do(t, "DELETE", base, ten.Token, map[string]any{"time_slot_uuid": mine}), 404)
		mustStatus(t, env.Do(t, "GET", base+q, ten.Token, nil), 200).JSON(t, &list)
		if len(list) != 0 {
			t.Fatalf("left after deletes: %+v", list)
		}
	})
}
