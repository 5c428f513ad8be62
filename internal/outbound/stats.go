package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	Status     DialogState
	Result     string
	Message    string // why a failed dialog failed
	FinishedAt time.Time
	Outputs    map[string]string
	// Transfer is set for a call a human took (result "transferred").
	Transfer *TransferStat
}

// TransferStat is a transferred call's part of the statistics.
type TransferStat struct {
	OperatorID               int64
	OperatorName             string
	WaitSeconds, TalkSeconds float64
	Note                     string            // the operator's disposition note
	Outputs                  map[string]string // the operator's disposition entities
}

// ErrNoDialogData is the seed's 404 for statistics not (yet) there.
var ErrNoDialogData = &parley.Error{Code: parley.ENOTFOUND, Message: "No data for dialog report"}

const statColumns = `d.uuid, d.last_call_uuid, d.msisdn, d.status, d.result, d.message, d.finished_at, d.outputs,
	tc.transfer_operator_id, tc.transfer_operator_name, tc.transfer_wait_ms, tc.transfer_talk_ms, tc.transfer_disposition`

// statJoin brings a dialog's last call's transfer into statColumns.
const statJoin = ` LEFT JOIN calls tc ON tc.uuid = d.last_call_uuid `

func scanStat(s store.Scanner) (StatRow, error) {
	var r StatRow
	var finished int64
	var outputs string
	var opID *int64
	var opName *string
	var waitMS, talkMS *int64
	var disp *string
	if err := s.Scan(&r.DialogUUID, &r.CallUUID, &r.MSISDN, &r.Status, &r.Result, &r.Message, &finished, &outputs,
		&opID, &opName, &waitMS, &talkMS, &disp); err != nil {
		return r, err
	}
	if opID != nil {
		r.Transfer = &TransferStat{OperatorID: *opID, Outputs: map[string]string{}}
		if opName != nil {
			r.Transfer.OperatorName = *opName
		}
		if waitMS != nil {
			r.Transfer.WaitSeconds = float64(*waitMS) / 1000
		}
		if talkMS != nil {
			r.Transfer.TalkSeconds = float64(*talkMS) / 1000
		}
		if disp != nil {
			var d struct {
				Outputs map[string]string `json:"output_entities"`
				Note    string            `json:"note"`
			}
			if json.Unmarshal([]byte(*disp), &d) == nil {
				r.Transfer.Note = d.Note
				if d.Outputs != nil {
					r.Transfer.Outputs = d.Outputs
				}
			}
		}
	}
	r.FinishedAt = time.UnixMilli(finished).UTC()
	r.Outputs = map[string]string{}
	if err := json.Unmarshal([]byte(outputs), &r.Outputs); err != nil {
		return r, fmt.Errorf("dialog %s: stored outputs: %w", r.DialogUUID, err)
	}
	return r, nil
}

// DialogStats returns the statistics of one dialog.
func (s *Service) DialogStats(ctx context.Context, dialogUUID string) (*StatRow, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := agent.ValidUUID("dialog_uuid", dialogUUID); err != nil {
		return nil, err
	}
	r, err := scanStat(s.DB.Reader().QueryRow(ctx, `SELECT `+statColumns+` FROM dialogs d`+statJoin+`
		WHERE d.uuid = ? AND d.company_id = ? AND `+sqlFinished, dialogUUID, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, s.noDataYet(ctx, cid, "d.uuid = ?", dialogUUID)
	}
	return &r, err
}

// noDataYet is ErrNoDialogData, saying why when the dialogs asked about
// (the first one matching where) have not finished: a client polling
// statistics learns that they wait for a time slot, a retry, a channel.
func (s *Service) noDataYet(ctx context.Context, cid int64, where string, arg any) error {
	var msg string
	err := s.DB.Read(ctx, func(q store.Querier) error {
		var aid, next int64
		var st DialogState
		var attempts int
		var result string
		err := q.QueryRow(ctx, `SELECT d.agent_id, d.status, d.next_attempt_at, d.attempts, d.result FROM dialogs d
			WHERE `+where+` AND d.company_id = ? AND d.status IN `+sqlPending+` ORDER BY d.id LIMIT 1`, arg, cid).
			Scan(&aid, &st, &next, &attempts, &result)
		if err != nil {
			return err
		}
		a, err := agent.LoadDialing(ctx, q, aid)
		if err != nil {
			return err
		}
		var live int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM dialogs WHERE agent_id = ? AND status = 'calling'`, aid).Scan(&live); err != nil {
			return err
		}
		msg = Explain(st, time.UnixMilli(next), attempts, result, a, live, s.now()).Message
		return nil
	})
	if errors.Is(err, store.ErrNoRows) {
		return ErrNoDialogData
	} else if err != nil {
		return err
	}
	return &parley.Error{Code: ErrNoDialogData.Code, Message: ErrNoDialogData.Message + ": not finished yet. " + msg}
}

// GroupStats streams the statistics of a bulk's finished dialogs to fn,
// so that a large bulk is never held in memory whole.
func (s *Service) GroupStats(ctx context.Context, bulkUUID string, fn func(StatRow) error) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if err := agent.ValidUUID("bulk_uuid", bulkUUID); err != nil {
		return err
	}
	n := 0
	err = store.Each(ctx, s.DB.Reader(), func(sc store.Scanner) error {
		r, err := scanStat(sc)
		if err != nil {
			return err
		}
		n++
		return fn(r)
	}, `SELECT `+statColumns+` FROM dialogs d JOIN dialog_bulks b ON b.id = d.bulk_id`+statJoin+`
		WHERE b.uuid = ? AND b.company_id = ? AND d.company_id = ? AND `+sqlFinished+` ORDER BY d.id`, bulkUUID, cid, cid)
	if err != nil {
		return err
	}
	if n == 0 {
		return s.noDataYet(ctx, cid, "d.bulk_id = (SELECT id FROM dialog_bulks WHERE uuid = ? AND company_id = d.company_id)", bulkUUID)
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
	var out []StatRow
	total := 0
	err = s.DB.Read(ctx, func(q store.Querier) error {
		aid, err := agent.IDByUUID(ctx, q, cid, agentUUID)
		if err != nil {
			return err
		}
		where := ` FROM dialogs d WHERE d.agent_id = ? AND d.finished_at >= ? AND d.finished_at <= ? AND ` + sqlFinished
		args := []any{aid, start.UnixMilli(), end.UnixMilli()}
		if err := q.QueryRow(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, scanStat, `SELECT `+statColumns+` FROM dialogs d`+statJoin+strings.TrimPrefix(where, ` FROM dialogs d`)+` ORDER BY d.finished_at, d.id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		return err
	})
	if out == nil && err == nil {
		out = []StatRow{}
	}
	return out, total, err
}

// SetTransferDisposition stores the operator's disposition (JSON: output
// entities and a note) of call callUUID's transfer, for the statistics.
// The server's work for the chat domain's SetDisposition, scoped to the
// company it names.
func (s *Service) SetTransferDisposition(ctx context.Context, companyID int64, callUUID, disposition string) error {
	return s.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `UPDATE calls SET transfer_disposition = ? WHERE uuid = ? AND company_id = ?`, disposition, callUUID, companyID)
		return err
	})
}

// CallIDs finds the row ids of call callUUID and its dialog.
func (s *Service) CallIDs(ctx context.Context, callUUID string) (callID, dialogID int64, err error) {
	err = s.DB.Reader().QueryRow(ctx, `SELECT id, dialog_id FROM calls WHERE uuid = ?`, callUUID).Scan(&callID, &dialogID)
	return callID, dialogID, err
}
