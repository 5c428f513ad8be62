package ext

import (
	"encoding/json"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
)

// Wire shapes of the External API, kept apart from the domain types so that
// the seed's field names never leak into the core.

type agentItem struct {
	AgentUUID string `json:"agent_uuid"`
	Name      string `json:"name"`
}

type generalSettings struct {
	AgentUUID           string   `json:"agent_uuid"`
	CompanyUUID         string   `json:"company_uuid"`
	Name                string   `json:"name"`
	Description         string   `json:"description"`
	Delay               string   `json:"delay"`
	RecallCount         int      `json:"recall_count"`
	TrunkName           string   `json:"trunk_name"`
	Flag                string   `json:"flag"`
	RecordPath          string   `json:"record_path"`
	RoutingChannelLimit int      `json:"routing_channel_limit"`
	TotalChannelLimit   int      `json:"total_channel_limit"`
	PoolName            string   `json:"pool_name"`
	Language            string   `json:"language"`
	ASR                 string   `json:"asr"`
	TTS                 string   `json:"tts"`
	Speed               *float64 `json:"speed"`
	Pitch               *float64 `json:"pitch"`
	Emotion             *string  `json:"emotion"`
	RecordStorageTime   string   `json:"record_storage_time"`
	Timezone            string   `json:"timezone"`
}

func toGeneral(a *agent.Agent) generalSettings {
	return generalSettings{
		AgentUUID: a.UUID, CompanyUUID: a.CompanyUUID, Name: a.Name, Description: a.Description,
		Delay: agent.FormatDelay(a.DelayMinutes), RecallCount: a.RecallCount, TrunkName: a.TrunkName, Flag: a.Flag,
		RecordPath: a.RecordPath, RoutingChannelLimit: a.RoutingChannelLimit, TotalChannelLimit: a.TotalChannelLimit,
		PoolName: a.PoolName, Language: a.Language, ASR: a.ASR, TTS: a.TTS, Speed: a.Speed, Pitch: a.Pitch,
		Emotion: a.Emotion, RecordStorageTime: a.RecordStorageTime, Timezone: a.Timezone,
	}
}

// generalUpdate is the PUT body. Read-only settings a client sends back
// after a GET (name, trunk_name, timezone...) are accepted and ignored;
// any other field is refused.
type generalUpdate struct {
	readOnlySettings
	Delay               *string  `json:"delay"`
	RecallCount         *api.Int `json:"recall_count"`
	Flag                *string  `json:"flag"`
	CompanyUUID         *string  `json:"company_uuid"`
	RoutingChannelLimit *api.Int `json:"routing_channel_limit"`
	TotalChannelLimit   *api.Int `json:"total_channel_limit"`
	Language            *string  `json:"language"`
	ASR                 *string  `json:"asr"`
	TTS                 *string  `json:"tts"`
}

// readOnlySettings are the settings GET shows that PUT does not change:
// accepted, whatever their value, and ignored.
type readOnlySettings struct {
	AgentUUID         json.RawMessage `json:"agent_uuid"`
	Name              json.RawMessage `json:"name"`
	Description       json.RawMessage `json:"description"`
	TrunkName         json.RawMessage `json:"trunk_name"`
	RecordPath        json.RawMessage `json:"record_path"`
	PoolName          json.RawMessage `json:"pool_name"`
	Speed             json.RawMessage `json:"speed"`
	Pitch             json.RawMessage `json:"pitch"`
	Emotion           json.RawMessage `json:"emotion"`
	RecordStorageTime json.RawMessage `json:"record_storage_time"`
	Timezone          json.RawMessage `json:"timezone"`
}

func (u generalUpdate) domain() agent.SettingsUpdate {
	return agent.SettingsUpdate{
		Delay: u.Delay, RecallCount: api.IntPtr(u.RecallCount), Flag: u.Flag, CompanyUUID: u.CompanyUUID,
		RoutingChannelLimit: api.IntPtr(u.RoutingChannelLimit), TotalChannelLimit: api.IntPtr(u.TotalChannelLimit),
		Language: u.Language, ASR: u.ASR, TTS: u.TTS,
	}
}

// generalUpdated is the PUT answer: the editable settings.
type generalUpdated struct {
	Delay               string `json:"delay"`
	RecallCount         int    `json:"recall_count"`
	Flag                string `json:"flag"`
	CompanyUUID         string `json:"company_uuid"`
	RoutingChannelLimit int    `json:"routing_channel_limit"`
	TotalChannelLimit   int    `json:"total_channel_limit"`
	Language            string `json:"language"`
	ASR                 string `json:"asr"`
	TTS                 string `json:"tts"`
}

type newAgentBody struct {
	CompanyUUID string `json:"company_uuid"` // optional; must be the caller's
	Name        string `json:"name"`
	Description string `json:"description"`
	Timezone    string `json:"timezone"`
	Language    string `json:"language"`
	TrunkName   string `json:"trunk_name"`
	PoolName    string `json:"pool_name"`
}

type credential struct {
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	Platform  string `json:"platform"`
	AgentUUID string `json:"agent_uuid"`
	KeyType   string `json:"key_type"`
	Value     string `json:"value"`
}

func toCredential(c agent.Credential) credential {
	return credential{UUID: c.UUID, Name: c.Name, Platform: c.Platform, AgentUUID: c.AgentUUID, KeyType: c.KeyType, Value: c.Value}
}

type credentialBody struct {
	UUID      *string `json:"uuid"`
	Name      *string `json:"name"`
	Platform  *string `json:"platform"`
	AgentUUID *string `json:"agent_uuid"`
	KeyType   *string `json:"key_type"`
	Value     *string `json:"value"`
}

type timeSlot struct {
	TimeSlotUUID string `json:"time_slot_uuid"`
	Day          int    `json:"day"`
	NotBefore    string `json:"not_before"`
	NotAfter     string `json:"not_after"`
}

func toSlot(t agent.TimeSlot) timeSlot {
	return timeSlot{TimeSlotUUID: t.UUID, Day: t.Day, NotBefore: t.NotBefore, NotAfter: t.NotAfter}
}

type timeSlotBody struct {
	TimeSlotUUID *string  `json:"time_slot_uuid"`
	Day          *api.Int `json:"day"`
	NotBefore    *string  `json:"not_before"`
	NotAfter     *string  `json:"not_after"`
}

// entity is both entity kinds on the wire: the UUID key and the one
// kind-specific field differ.
type entity struct {
	InitialEntityUUID string  `json:"initial_entity_uuid,omitempty"`
	OutputEntityUUID  string  `json:"output_entity_uuid,omitempty"`
	Name              string  `json:"name"`
	Synthesis         *bool   `json:"synthesis,omitempty"`
	EntityType        *string `json:"entity_type,omitempty"`
	NumberCell        int     `json:"number_cell"`
	AgentUUID         string  `json:"agent_uuid"`
}

func toEntity(e agent.Entity) entity {
	out := entity{Name: e.Name, NumberCell: e.NumberCell, AgentUUID: e.AgentUUID}
	if e.Kind == agent.Initial {
		out.InitialEntityUUID = e.UUID
		syn := e.Synthesis
		out.Synthesis = &syn
	} else {
		out.OutputEntityUUID = e.UUID
		typ := e.EntityType
		out.EntityType = &typ
	}
	return out
}

func toEntities(es []agent.Entity) []entity {
	out := make([]entity, len(es))
	for i, e := range es {
		out[i] = toEntity(e)
	}
	return out
}

type entityBody struct {
	InitialEntityUUID *string  `json:"initial_entity_uuid"`
	OutputEntityUUID  *string  `json:"output_entity_uuid"`
	Name              *string  `json:"name"`
	Synthesis         *bool    `json:"synthesis"`
	EntityType        *string  `json:"entity_type"`
	NumberCell        *api.Int `json:"number_cell"`
}

func (b entityBody) uuid(kind agent.EntityKind) *string {
	if kind == agent.Initial {
		return b.InitialEntityUUID
	}
	return b.OutputEntityUUID
}

func (b entityBody) newEntity() agent.NewEntity {
	e := agent.NewEntity{NumberCell: api.IntPtr(b.NumberCell)}
	if b.Name != nil {
		e.Name = *b.Name
	}
	if b.Synthesis != nil {
		e.Synthesis = *b.Synthesis
	}
	if b.EntityType != nil {
		e.EntityType = *b.EntityType
	}
	return e
}

type bulkBody struct {
	Entities            []entityBody `json:"entities"`
	InitialEntitiesUUID []string     `json:"initial_entities_uuid"`
	OutputEntitiesUUID  []string     `json:"output_entities_uuid"`
}

type bulkAdded struct {
	AddedEntities []entity `json:"added_entities"`
	Skipped       []string `json:"skipped"`
}

type bulkDeleted struct {
	DeletedEntities []entity `json:"deleted_entities"`
	Skipped         []string `json:"skipped"`
}

type dataList[T any] struct {
	Data []T `json:"data"`
}
