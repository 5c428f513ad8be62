package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-cc/parley/internal/store"
)

// Dialing is what the dialer needs of an agent to call its dialogs: the
// channel limit, retries, time slots on the agent's wall clock, and how
// calls speak. It is an internal read by row id, not scoped to a caller:
// the dialer works for every company and finds agents through the dialogs
// it claims.
type Dialing struct {
	ID           int64
	CompanyID    int64
	UUID         string
	Location     *time.Location // the agent's time zone; UTC if tzdata lost it
	ChannelLimit int            // total_channel_limit: live calls at most
	RecallCount  int            // attempts after the first
	Delay        time.Duration  // between attempts
	TrunkName    string
	TTS          string // "voice@platform"
	Language     string
	Slots        []TimeSlot // none: any time
}

// Dialing reads the dialing settings and time slots of the agent with row
// id agentID.
func (s *Service) Dialing(ctx context.Context, agentID int64) (d *Dialing, err error) {
	err = s.DB.Read(ctx, func(q store.Querier) error {
		d, err = LoadDialing(ctx, q, agentID)
		return err
	})
	return d, err
}

// LoadDialing reads the dialing settings and time slots of agent agentID
// inside the caller's transaction (the outbound queue explains its waits
// with them).
func LoadDialing(ctx context.Context, q store.Querier, agentID int64) (*Dialing, error) {
	d := &Dialing{ID: agentID}
	var tz string
	var delayMin int
	err := q.QueryRow(ctx, `SELECT company_id, uuid, timezone, total_channel_limit, recall_count, delay_minutes, trunk_name, tts, language
		FROM agents WHERE id = ?`, agentID).ScanFound("Agent", &d.CompanyID, &d.UUID, &tz, &d.ChannelLimit, &d.RecallCount, &delayMin,
		&d.TrunkName, &d.TTS, &d.Language)
	if err != nil {
		return nil, fmt.Errorf("agent %d: %w", agentID, err)
	}
	d.Delay = time.Duration(delayMin) * time.Minute
	if d.Location, err = time.LoadLocation(tz); err != nil {
		d.Location = time.UTC // validated on write; a zone removed from tzdata later falls back to UTC
	}
	d.Slots, err = store.Collect(ctx, q, func(r store.Scanner) (t TimeSlot, err error) {
		t.AgentUUID = d.UUID
		err = r.Scan(&t.UUID, &t.Day, &t.NotBefore, &t.NotAfter)
		return t, err
	}, `SELECT uuid, day, not_before, not_after FROM agent_time_slots WHERE agent_id = ? ORDER BY day, not_before, id`, agentID)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Runnable reads the script a call of agent agentID runs (see LoadRunnable).
func (s *Service) Runnable(ctx context.Context, agentID int64, name string) (*Runnable, error) {
	return LoadRunnable(ctx, s.DB.Reader(), agentID, name)
}

// Speech reads the speech settings and unmasked keys of agent agentID, for
// a call's voice and recognizer (see LoadSpeech).
func (s *Service) Speech(ctx context.Context, agentID int64) (*Speech, error) {
	return LoadSpeech(ctx, s.DB.Reader(), agentID)
}

// InitialEntityNames returns the names of agent agentID's initial entities,
// inside the caller's transaction: the keys an upload row may carry.
func InitialEntityNames(ctx context.Context, q store.Querier, agentID int64) (map[string]bool, error) {
	names, err := store.Collect(ctx, q, func(r store.Scanner) (n string, err error) {
		err = r.Scan(&n)
		return n, err
	}, `SELECT name FROM agent_entities WHERE agent_id = ? AND kind = 'initial'`, agentID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}
