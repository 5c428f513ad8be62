package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/store"
)

// RecordingKey is where a call's recording is kept in the media store.
func RecordingKey(companyID int64, callUUID string) string {
	return fmt.Sprintf(RecordingPrefix+"%d/%s.wav", companyID, callUUID)
}

// RecordingContentType is the type recordings are stored with.
const RecordingContentType = "audio/wav"

// storeRecording puts a call's WAV into the media store and returns its
// key, or returns the WAV itself when it goes to the database instead: when
// there is no media store, or the store failed (the recording is kept
// rather than lost). It runs before the call's result is committed, so a
// result never names an object that was not written; a crash or a lost
// lease between the two leaves an object no call names (an orphan, which
// costs space but never a broken download).
func (s *Service) storeRecording(ctx context.Context, companyID int64, callUUID string, wav []byte) (key string, dbWAV []byte) {
	if len(wav) == 0 || s.Media == nil {
		return "", wav
	}
	key = RecordingKey(companyID, callUUID)
	if err := s.Media.Put(ctx, key, bytes.NewReader(wav), int64(len(wav)), RecordingContentType); err != nil {
		s.log().Error("recording not stored in the media store; keeping it in the database", "call_uuid", callUUID, "key", key, "error", err)
		return "", wav
	}
	return key, nil
}

// insertRecording keeps a call's WAV in the database, inside Finish's
// transaction.
func insertRecording(ctx context.Context, q store.Querier, callID, companyID int64, callUUID string, wav []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO call_recordings (call_id, company_id, file_name, wav) VALUES (?, ?, ?, ?)`,
		callID, companyID, callUUID+".wav", wav)
	return err
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
	if agent.ValidUUID("call_uuid", callUUID) != nil {
		return "", nil, notFound
	}
	var key string
	var dbName *string
	err = s.DB.Reader().QueryRow(ctx, `SELECT c.recording_key, r.file_name, r.wav FROM calls c LEFT JOIN call_recordings r ON r.call_id = c.id
		WHERE c.uuid = ? AND c.company_id = ?`, callUUID, cid).Scan(&key, &dbName, &wav)
	if errors.Is(err, store.ErrNoRows) {
		return "", nil, notFound
	}
	if err != nil {
		return "", nil, err
	}
	if key == "" {
		if dbName == nil {
			return "", nil, notFound // a call without a recording
		}
		return *dbName, wav, nil
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
