package dialog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// StatRow is the statistics of one finished dialog: its identity and the
// output entities its script filled in.
type StatRow struct {
	DialogUUID string
	CallUUID   string
	MSISDN     string
	Status     string
	Result     string
	Message    string // why a failed dialog failed
	FinishedAt time.Time
	Outputs    map[string]string
}

// ErrNoDialogData is the seed's 404 for statistics not (yet) there.
var ErrNoDialogData = &parley.Error{Code: parley.ENOTFOUND, Message: "No data for dialog report"}

const statColumns = `d.uuid, d.last_call_uuid, d.msisdn, d.status, d.result, d.message, d.finished_at, d.outputs`

func scanStat(rows interface{ Scan(...any) error }) (StatRow, error) {
	var r StatRow
	var finished int64
	var outputs string
	if err := rows.Scan(&r.DialogUUID, &r.CallUUID, &r.MSISDN, &r.Status, &r.Result, &r.Message, &finished, &outputs); err != nil {
		return r, err
	}
	r.FinishedAt = time.UnixMilli(finished).UTC()
	r.Outputs = map[string]string{}
	if err := json.Unmarshal([]byte(outputs), &r.Outputs); err != nil {
		return r, fmt.Errorf("dialog %s: stored outputs: %w", r.DialogUUID, err)
	}
	return r, nil
}

// finished is the condition for a dialog to have statistics: it ended
// after at least one call.
const finished = `d.status IN ('done', 'failed') AND d.last_call_uuid <> ''`

// DialogStats returns the statistics of one dialog.
func (s *Service) DialogStats(ctx context.Context, dialogUUID string) (*StatRow, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := agent.ValidUUID("dialog_uuid", dialogUUID); err != nil {
		return nil, err
	}
	r, err := scanStat(s.DB.Reader().QueryRow(ctx, `SELECT `+statColumns+` FROM dialogs d
		WHERE d.uuid = ? AND d.company_id = ? AND `+finished, dialogUUID, cid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoDialogData
	}
	return &r, err
}

// GroupStats returns the statistics of a bulk's finished dialogs.
func (s *Service) GroupStats(ctx context.Context, bulkUUID string, fn func(StatRow) error) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if err := agent.ValidUUID("bulk_uuid", bulkUUID); err != nil {
		return err
	}
	rows, err := s.DB.Reader().Query(ctx, `SELECT `+statColumns+` FROM dialogs d JOIN dialog_bulks b ON b.id = d.bulk_id
		WHERE b.uuid = ? AND b.company_id = ? AND d.company_id = ? AND `+finished+` ORDER BY d.id`, bulkUUID, cid, cid)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		r, err := scanStat(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n == 0 {
		return ErrNoDialogData
	}
	return nil
}

// reportLayouts are the seed's four time formats (Python strftime
// '%Y-%m-%d %H:%M:%S.%f' and friends), read as UTC.
var reportLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999"}

// ParseReportTime parses a dialog-report bound.
func ParseReportTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range reportLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, parley.FieldError(field, "%q is not \"YYYY-MM-DD HH:MM:SS[.ffffff]\" or \"YYYY-MM-DDTHH:MM:SS[.ffffff]\"", parley.Clip(s))
}

// Report returns a page of an agent's finished dialogs with finished time
// in [start, end], and how many there are in all.
func (s *Service) Report(ctx context.Context, agentUUID string, start, end time.Time, limit, offset int) ([]StatRow, int, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, 0, err
	}
	if end.Before(start) {
		return nil, 0, parley.FieldError("end", "is before start")
	}
	if limit < 1 || limit > 1000 {
		return nil, 0, parley.FieldError("limit", "must be from 1 to 1000")
	}
	if offset < 0 {
		return nil, 0, parley.FieldError("offset", "must not be negative")
	}
	out := []StatRow{}
	total := 0
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agent.IDByUUID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		where := ` FROM dialogs d WHERE d.agent_id = ? AND d.finished_at >= ? AND d.finished_at <= ? AND ` + finished
		args := []any{aid, start.UnixMilli(), end.UnixMilli()}
		if err := q.QueryRow(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+statColumns+where+` ORDER BY d.finished_at, d.id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanStat(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, total, err
}

// Recording returns a call's WAV recording: from the media store when the
// call names a key there, else from call_recordings (calls recorded before
// recordings moved to the media store, or when the store refused one).
func (s *Service) Recording(ctx context.Context, callUUID string) (fileName string, wav []byte, err error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return "", nil, err
	}
	notFound := &parley.Error{Code: parley.ENOTFOUND, Message: "Cannot find dialog for call_uuid " + parley.Clip(callUUID)}
	if _, err := uuidOK(callUUID); err != nil {
		return "", nil, notFound
	}
	var key string
	var dbName sql.NullString
	err = s.DB.Reader().QueryRow(ctx, `SELECT c.recording_key, r.file_name, r.wav FROM calls c LEFT JOIN call_recordings r ON r.call_id = c.id
		WHERE c.uuid = ? AND c.company_id = ?`, callUUID, cid).Scan(&key, &dbName, &wav)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, notFound
	}
	if err != nil {
		return "", nil, err
	}
	if key == "" {
		if !dbName.Valid {
			return "", nil, notFound // a call without a recording
		}
		return dbName.String, wav, nil
	}
	if s.Media == nil {
		return "", nil, fmt.Errorf("recording %s: no media store configured", key)
	}
	rc, _, err := s.Media.Open(ctx, key)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return "", nil, fmt.Errorf("recording %s of call %s is missing from the media store", key, callUUID)
	}
	if err != nil {
		return "", nil, fmt.Errorf("recording %s: %w", key, err)
	}
	defer rc.Close()
	if wav, err = io.ReadAll(rc); err != nil {
		return "", nil, fmt.Errorf("recording %s: %w", key, err)
	}
	return callUUID + ".wav", wav, nil
}

// Turn is one transcript entry of a call.
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
	out := []Turn{}
	if _, err := uuidOK(callUUID); err != nil {
		return out, nil
	}
	rows, err := s.DB.Reader().Query(ctx, `SELECT t.action, t.data, t.at, c.uuid, d.uuid, a.uuid FROM call_turns t
		JOIN calls c ON c.id = t.call_id JOIN dialogs d ON d.id = c.dialog_id JOIN agents a ON a.id = c.agent_id
		WHERE c.uuid = ? AND c.company_id = ? ORDER BY t.seq`, callUUID, cid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t Turn
		var data sql.NullString
		var at int64
		if err := rows.Scan(&t.Action, &data, &at, &t.CallUUID, &t.DialogUUID, &t.AgentUUID); err != nil {
			return nil, err
		}
		if data.Valid {
			t.Data = json.RawMessage(data.String)
		}
		t.At = time.UnixMilli(at).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

func uuidOK(s string) (string, error) { return s, agent.ValidUUID("call_uuid", s) }
