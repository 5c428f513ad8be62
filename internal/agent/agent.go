// Package agent manages virtual agents and their settings: general settings,
// ASR/TTS credentials, call time slots, and initial and output entities.
// Every method is scoped to the company of the caller in ctx.
package agent

import "time"

// Agent is a virtual agent (robot) of a company.
type Agent struct {
	ID                  int64
	UUID                string
	CompanyID           int64
	CompanyUUID         string
	Name                string
	Description         string
	DelayMinutes        int // pause before the next attempt
	RecallCount         int
	TrunkName           string
	Flag                string
	RecordPath          string
	RoutingChannelLimit int
	TotalChannelLimit   int
	PoolName            string
	Language            string
	ASR                 string
	TTS                 string
	Speed               *float64
	Pitch               *float64
	Emotion             *string
	RecordStorageTime   string
	Timezone            string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// NewAgent is what creating an agent takes. Zero values take defaults.
type NewAgent struct {
	Name        string
	Description string
	Timezone    string
	Language    string
	TrunkName   string
	PoolName    string
}

// SettingsUpdate is a partial change of the editable general settings; a nil
// field is left as it is. The other settings are read-only through the API.
type SettingsUpdate struct {
	Delay               *string // "hh:mm"
	RecallCount         *int
	Flag                *string
	CompanyUUID         *string
	RoutingChannelLimit *int
	TotalChannelLimit   *int
	Language            *string
	ASR                 *string
	TTS                 *string
}

// Credential is an ASR or TTS key of an agent.
type Credential struct {
	UUID      string
	AgentUUID string
	Name      string
	Platform  string
	KeyType   string // "asr" or "tts"
	Value     string
}

// CredentialUpdate changes a credential; nil fields stay.
type CredentialUpdate struct {
	UUID      *string // must match the path if given
	AgentUUID *string // must match the credential's agent if given
	Name      *string
	Platform  *string
	KeyType   *string
	Value     *string
}

// TimeSlot is a window in which the agent may call, on one weekday in the
// agent's time zone. NotAfter before NotBefore means the window runs past
// midnight into the next day.
type TimeSlot struct {
	UUID      string
	AgentUUID string
	Day       int    // ISO weekday: 1 Monday ... 7 Sunday
	NotBefore string // "hh:mm"
	NotAfter  string // "hh:mm"; "24:00" allowed
}

// EntityKind tells initial entities (dialog inputs) from output entities
// (what a script fills in).
type EntityKind string

const (
	Initial EntityKind = "initial"
	Output  EntityKind = "output"
)

// Entity is an initial or output entity of an agent.
type Entity struct {
	UUID       string
	AgentUUID  string
	Kind       EntityKind
	Name       string
	Synthesis  bool   // initial entities: synthesize the value with the agent's TTS
	EntityType string // output entities: the value's type
	NumberCell int    // column number in upload files and reports
}

// NewEntity is what creating an entity takes. A nil NumberCell takes the
// next free column.
type NewEntity struct {
	Name       string
	Synthesis  bool
	EntityType string
	NumberCell *int
}

// EntityUpdate changes an entity; nil fields stay.
type EntityUpdate struct {
	Name       *string
	Synthesis  *bool
	EntityType *string
	NumberCell *int
}

// BulkResult reports a bulk add or delete: what was done, and the names (on
// add) or UUIDs (on delete) that were skipped.
type BulkResult struct {
	Done    []Entity
	Skipped []string
}

// Limits on what one agent can hold, so that a runaway client cannot grow a
// tenant without bound.
const (
	MaxEntitiesPerAgent  = 1000
	MaxBulkEntities      = 1000
	MaxSlotsPerAgent     = 200
	MaxCredentialsPerAgt = 100
	MaxListLimit         = 1000
)
