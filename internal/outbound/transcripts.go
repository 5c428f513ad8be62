package outbound

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// Turn is one transcript entry of a call, as stored.
type Turn struct {
	Action     string // say, listen, set, transfer, hangup, ...
	Data       json.RawMessage
	At         time.Time
	CallUUID   string
	DialogUUID string
	AgentUUID  string
}

// Transcript returns a call's turns in order; an unknown call has none.
func (s *Service) Transcript(ctx context.Context, callUUID string) ([]Turn, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if agent.ValidUUID("call_uuid", callUUID) != nil {
		return []Turn{}, nil
	}
	out, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (t Turn, err error) {
		var data *string
		var at int64
		if err = r.Scan(&t.Action, &data, &at, &t.CallUUID, &t.DialogUUID, &t.AgentUUID); err != nil {
			return t, err
		}
		if data != nil {
			t.Data = json.RawMessage(*data)
		}
		t.At = time.UnixMilli(at).UTC()
		return t, nil
	}, `SELECT t.action, t.data, t.at, c.uuid, d.uuid, a.uuid FROM call_turns t
		JOIN calls c ON c.id = t.call_id JOIN dialogs d ON d.id = c.dialog_id JOIN agents a ON a.id = c.agent_id
		WHERE c.uuid = ? AND c.company_id = ? ORDER BY t.seq`, callUUID, cid)
	if out == nil && err == nil {
		out = []Turn{}
	}
	return out, err
}
