package agent

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Service manages agents and their settings within the caller's company.
type Service struct {
	DB *store.DB
	// Now is the service's clock; nil is time.Now. A transaction reads it
	// once.
	Now func() time.Time
	// MaxChannelLimit is the installation's ceiling for an agent's
	// total_channel_limit and routing_channel_limit
	// (PARLEY_MAX_CHANNEL_LIMIT); 0 is DefaultMaxChannelLimit.
	MaxChannelLimit int
	// Changed is called after an agent's dialing settings or time slots
	// changed (a channel limit raised, a slot opened), so that an idle
	// dialer looks now; nil: nobody listens.
	Changed func()
}

func (s *Service) changed() {
	if s.Changed != nil {
		s.Changed()
	}
}

// DefaultMaxChannelLimit is the ceiling of channel limits when the
// installation sets none: more calls than one node places at once by
// default (see the dialer's call cap), so a tenant cannot ask for the
// whole cluster.
const DefaultMaxChannelLimit = 1000

func (s *Service) maxChannelLimit() int {
	if s.MaxChannelLimit > 0 {
		return s.MaxChannelLimit
	}
	return DefaultMaxChannelLimit
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Every read is scoped to the caller's company, so the company's UUID comes
// from the caller rather than from a join.
const agentColumns = `a.id, a.uuid, a.company_id, a.name, a.description, a.delay_minutes, a.recall_count,
	a.trunk_name, a.flag, a.record_path, a.routing_channel_limit, a.total_channel_limit, a.pool_name,
	a.language, a.asr, a.tts, a.speed, a.pitch, a.emotion, a.record_storage_time, a.timezone,
	a.created_at, a.updated_at`

func scanAgent(s store.Scanner) (*Agent, error) {
	a := &Agent{}
	var created, updated int64
	err := s.Scan(&a.ID, &a.UUID, &a.CompanyID, &a.Name, &a.Description, &a.DelayMinutes, &a.RecallCount,
		&a.TrunkName, &a.Flag, &a.RecordPath, &a.RoutingChannelLimit, &a.TotalChannelLimit, &a.PoolName,
		&a.Language, &a.ASR, &a.TTS, &a.Speed, &a.Pitch, &a.Emotion, &a.RecordStorageTime, &a.Timezone, &created, &updated)
	if err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return a, nil
}

// noAccess is the seed's 403 "no access": returned both for an agent of
// another company and for one that does not exist, so that the answer never
// tells whether a UUID exists elsewhere.
func noAccess(agentUUID string) error {
	return parley.Errorf(parley.EFORBIDDEN, "No access to agent %s.", agentUUID)
}

// Create adds an agent to the caller's company.
func (s *Service) Create(ctx context.Context, in NewAgent) (*Agent, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	name, err := parley.ValidName("name", in.Name, 200)
	if err != nil {
		return nil, err
	}
	if err := parley.ValidText("description", in.Description, 2000); err != nil {
		return nil, err
	}
	if in.Timezone == "" {
		in.Timezone = "UTC"
	}
	if err := ValidTimezone(in.Timezone); err != nil {
		return nil, err
	}
	lang := "en-US"
	if in.Language != "" {
		if lang, err = CanonicalLanguage(in.Language); err != nil {
			return nil, err
		}
	}
	trunk, pool := in.TrunkName, in.PoolName
	if trunk == "" {
		trunk = "sim"
	}
	if pool == "" {
		pool = "default"
	}
	if _, err := parley.ValidName("trunk_name", trunk, 100); err != nil {
		return nil, err
	}
	if _, err := parley.ValidName("pool_name", pool, 100); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	err = s.DB.Write(ctx, func(q store.Querier) error {
		now := s.now().UnixMilli()
		_, err := q.Exec(ctx, `INSERT INTO agents (uuid, company_id, name, description, trunk_name, pool_name, language, timezone, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, cid, name, in.Description, trunk, pool, lang, in.Timezone, now, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// List returns the caller's agents in creation order.
func (s *Service) List(ctx context.Context, limit, offset int) ([]*Agent, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := store.Collect(ctx, s.DB.Reader(), scanAgent, `SELECT `+agentColumns+` FROM agents a
		WHERE a.company_id = ? ORDER BY a.id LIMIT ? OFFSET ?`, cid, limit, offset)
	if err != nil {
		return nil, err
	}
	for _, a := range out {
		a.CompanyUUID = companyUUID(ctx)
	}
	if out == nil {
		out = []*Agent{}
	}
	return out, nil
}

// Get returns one agent of the caller's company.
func (s *Service) Get(ctx context.Context, agentUUID string) (*Agent, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidUUID("agent_uuid", agentUUID); err != nil {
		return nil, err
	}
	return getAgent(ctx, s.DB.Reader(), cid, agentUUID)
}

func getAgent(ctx context.Context, q store.Querier, cid int64, agentUUID string) (*Agent, error) {
	a, err := scanAgent(q.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents a WHERE a.uuid = ? AND a.company_id = ?`, agentUUID, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, noAccess(agentUUID)
	} else if err != nil {
		return nil, err
	}
	a.CompanyUUID = companyUUID(ctx)
	return a, nil
}

func companyUUID(ctx context.Context) string {
	c, _ := parley.CallerFrom(ctx)
	return c.CompanyUUID
}

// IDByUUID resolves an agent UUID to its row id within the company, inside
// the caller's transaction. Other domains (dialogs) use it so that every
// agent-scoped method answers "no access" the same way.
func IDByUUID(ctx context.Context, q store.Querier, companyID int64, agentUUID string) (int64, error) {
	return agentID(ctx, q, companyID, agentUUID)
}

// agentID resolves an agent UUID to its row id within the company.
func agentID(ctx context.Context, q store.Querier, cid int64, agentUUID string) (int64, error) {
	if err := ValidUUID("agent_uuid", agentUUID); err != nil {
		return 0, err
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM agents WHERE uuid = ? AND company_id = ?`, agentUUID, cid).Scan(&id)
	if errors.Is(err, store.ErrNoRows) {
		return 0, noAccess(agentUUID)
	}
	return id, err
}

// Limit of the editable recall counter; channel limits have the
// installation's ceiling (Service.MaxChannelLimit).
const maxRecallCount = 100

// UpdateSettings applies a partial change of the general settings.
func (s *Service) UpdateSettings(ctx context.Context, agentUUID string, u SettingsUpdate) (*Agent, error) {
	caller, ok := parley.CallerFrom(ctx)
	if !ok {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "No authenticated company.")
	}
	if err := ValidUUID("agent_uuid", agentUUID); err != nil {
		return nil, err
	}
	if u.CompanyUUID != nil && *u.CompanyUUID != caller.CompanyUUID {
		// Moving an agent to another tenant would hand it, and its dialogs,
		// to that tenant; only the caller's own company is accepted.
		return nil, parley.Errorf(parley.EFORBIDDEN, "No access to company %s.", parley.Clip(*u.CompanyUUID))
	}
	var result *Agent
	err := s.DB.Write(ctx, func(q store.Querier) error {
		a, err := getAgent(ctx, q, caller.CompanyID, agentUUID)
		if err != nil {
			return err
		}
		if u.Delay != nil {
			if a.DelayMinutes, err = ParseDelay(*u.Delay); err != nil {
				return err
			}
		}
		if u.RecallCount != nil {
			if err := validCount("recall_count", *u.RecallCount, maxRecallCount); err != nil {
				return err
			}
			a.RecallCount = *u.RecallCount
		}
		if u.RoutingChannelLimit != nil {
			if err := validCount("routing_channel_limit", *u.RoutingChannelLimit, s.maxChannelLimit()); err != nil {
				return err
			}
			a.RoutingChannelLimit = *u.RoutingChannelLimit
		}
		if u.TotalChannelLimit != nil {
			if err := validCount("total_channel_limit", *u.TotalChannelLimit, s.maxChannelLimit()); err != nil {
				return err
			}
			a.TotalChannelLimit = *u.TotalChannelLimit
		}
		if u.Flag != nil {
			if err := parley.ValidText("flag", *u.Flag, 100); err != nil {
				return err
			}
			a.Flag = *u.Flag
		}
		if u.Language != nil {
			if a.Language, err = CanonicalLanguage(*u.Language); err != nil {
				return err
			}
		}
		if u.TTS != nil {
			if err := validateTTS(*u.TTS); err != nil {
				return err
			}
			a.TTS = *u.TTS
		}
		if u.ASR != nil {
			isCred, err := validateASR(*u.ASR)
			if err != nil {
				return err
			}
			if isCred {
				var n int
				if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM agent_credentials WHERE uuid = ? AND agent_id = ? AND key_type = 'asr'`,
					*u.ASR, a.ID).Scan(&n); err != nil {
					return err
				}
				if n == 0 {
					return parley.FieldError("asr", "no ASR credential %s on this agent", *u.ASR)
				}
			}
			a.ASR = *u.ASR
		}
		a.UpdatedAt = s.now().Truncate(time.Millisecond)
		_, err = q.Exec(ctx, `UPDATE agents SET delay_minutes = ?, recall_count = ?, flag = ?, routing_channel_limit = ?,
			total_channel_limit = ?, language = ?, asr = ?, tts = ?, updated_at = ? WHERE id = ? AND company_id = ?`,
			a.DelayMinutes, a.RecallCount, a.Flag, a.RoutingChannelLimit, a.TotalChannelLimit, a.Language, a.ASR, a.TTS,
			a.UpdatedAt.UnixMilli(), a.ID, caller.CompanyID)
		result = a
		return err
	})
	if err == nil {
		s.changed()
	}
	return result, err
}
