package outbound_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// answeredCall uploads a dialog the sim callee answers, runs the dialer
// once and returns the call's UUID and its company's row id.
func answeredCall(t *testing.T, env *testenv.Env, ten *testenv.Tenant, msisdn string) (callUUID string, companyID int64) {
	t.Helper()
	id := upload(t, env, ten, ten.AgentUUID, map[string]any{"msisdn": msisdn, "sim_say": []string{"yes"}})
	if n := tick(t, env); n != 1 {
		t.Fatalf("%d calls started, want 1", n)
	}
	var stats []map[string]any
	mustStatus(t, env.Do(t, "GET", ext+"/statistic/dialog?dialog_uuid="+id, ten.Token, nil), 200).JSON(t, &stats)
	callUUID, _ = stats[0]["call_uuid"].(string)
	if err := env.DB.Reader().QueryRow(context.Background(), `SELECT company_id FROM calls WHERE uuid = ?`, callUUID).Scan(&companyID); err != nil {
		t.Fatal(err)
	}
	return callUUID, companyID
}

// download is GET /statistic/download/call, decoded.
func download(t *testing.T, env *testenv.Env, ten *testenv.Tenant, callUUID string) []byte {
	t.Helper()
	var out map[string]string
	mustStatus(t, env.Do(t, "GET", ext+"/statistic/download/call?call_uuid="+callUUID, ten.Token, nil), 200).JSON(t, &out)
	if len(out) != 2 || out["file_name"] != callUUID+".wav" {
		t.Fatalf("download/call answer: keys %v, file_name %q", len(out), out["file_name"])
	}
	wav, err := base64.StdEncoding.DecodeString(out["data"])
	if err != nil {
		t.Fatalf("download/call data: %v", err)
	}
	return wav
}

// checkRecordingInStore checks that the call's WAV is in the media store,
// that the call names it and the database holds no copy, and that
// download/call answers exactly the stored object.
func checkRecordingInStore(t *testing.T, env *testenv.Env, ten *testenv.Tenant, store media.Store, callUUID string, companyID int64) {
	t.Helper()
	ctx := context.Background()
	key := outbound.RecordingKey(companyID, callUUID)
	rc, info, err := store.Open(ctx, key)
	if err != nil {
		t.Fatalf("recording %s not in the media store: %v", key, err)
	}
	stored, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.ContentType != "audio/wav" || info.Size != int64(len(stored)) || len(stored) < 44 || string(stored[:4]) != "RIFF" || string(stored[8:12]) != "WAVE" {
		t.Fatalf("stored recording: %+v, %d bytes, header %q", info, len(stored), stored[:min(12, len(stored))])
	}
	var gotKey string
	var inDB int
	if err := env.DB.Reader().QueryRow(ctx, `SELECT c.recording_key, (SELECT COUNT(*) FROM call_recordings r WHERE r.call_id = c.id)
		FROM calls c WHERE c.uuid = ?`, callUUID).Scan(&gotKey, &inDB); err != nil {
		t.Fatal(err)
	}
	if gotKey != key || inDB != 0 {
		t.Errorf("call row: recording_key %q (want %q), %d recordings in the database (want 0)", gotKey, key, inDB)
	}
	if got := download(t, env, ten, callUUID); !bytes.Equal(got, stored) {
		t.Errorf("download/call answered %d bytes, not the %d stored", len(got), len(stored))
	}
}

func TestRecordingInMediaStore(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		clk := newClock(time.Now())
		env, ten := manualEnv(t, dsn, clk)
		if env.Dialogs.Media == nil {
			t.Fatal("the server gave the dialogs no media store")
		}
		callUUID, companyID := answeredCall(t, env, ten, "79990000101")
		checkRecordingInStore(t, env, ten, env.Media, callUUID, companyID)

		// Another company cannot download it.
		other := env.NewTenant(t, "Other")
		mustStatus(t, env.Do(t, "GET", ext+"/statistic/download/call?call_uuid="+callUUID, other.Token, nil), 404)
	})
}

// TestRecordingInDatabaseStillServed: recordings stored in call_recordings
// (before the media store, or without one) are still answered.
func TestRecordingInDatabaseStillServed(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		clk := newClock(time.Now())
		env, ten := manualEnv(t, dsn, clk)
		store := env.Dialogs.Media
		env.Dialogs.Media = nil // records as before the media store
		callUUID, companyID := answeredCall(t, env, ten, "79990000102")
		env.Dialogs.Media = store

		ctx := context.Background()
		var key string
		var legacy []byte
		if err := env.DB.Reader().QueryRow(ctx, `SELECT c.recording_key, r.wav FROM calls c JOIN call_recordings r ON r.call_id = c.id
			WHERE c.uuid = ?`, callUUID).Scan(&key, &legacy); err != nil {
			t.Fatalf("the recording is not in call_recordings: %v", err)
		}
		if key != "" || string(legacy[:4]) != "RIFF" {
			t.Fatalf("recording_key %q, recording %q...", key, legacy[:min(4, len(legacy))])
		}
		if _, err := store.Stat(ctx, outbound.RecordingKey(companyID, callUUID)); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("a database recording is in the media store too: %v", err)
		}
		if got := download(t, env, ten, callUUID); !bytes.Equal(got, legacy) {
			t.Errorf("download/call answered %d bytes, not the %d in the database", len(got), len(legacy))
		}

		// Both kinds side by side: the next call goes to the media store.
		next, _ := answeredCall(t, env, ten, "79990000103")
		checkRecordingInStore(t, env, ten, store, next, companyID)
	})
}

// failingStore refuses every Put: a media outage.
type failingStore struct{ media.Store }

func (failingStore) Put(context.Context, string, io.Reader, int64, string) error {
	return parley.Errorf(parley.EINTERNAL, "store down")
}

// TestRecordingKeptWhenStoreFails: a recording the media store refuses is
// kept in the database rather than lost.
func TestRecordingKeptWhenStoreFails(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := manualEnv(t, dsn, newClock(time.Now()))
		env.Dialogs.Media = failingStore{env.Dialogs.Media}
		callUUID, _ := answeredCall(t, env, ten, "79990000104")
		if wav := download(t, env, ten, callUUID); len(wav) < 44 || string(wav[:4]) != "RIFF" {
			t.Errorf("download/call after a failed Put: %d bytes", len(wav))
		}
	})
}

// TestRecordingInS3 runs the server with the S3 media backend (gofakes3 in
// process): the dialer writes the recording there and download/call reads
// it back.
func TestRecordingInS3(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		backend := s3mem.New()
		if err := backend.CreateBucket("parley-media"); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gofakes3.New(backend).Server())
		t.Cleanup(srv.Close)
		clk := newClock(time.Now())
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true, Configure: func(c *server.Config) {
			c.Media.Backend = "s3"
			c.Media.S3 = media.S3Config{Endpoint: srv.URL, Bucket: "parley-media", AccessKey: "AKIAPARLEYTEST",
				SecretKey: "parley-test-secret", Region: "eu-west-1"}
		}})
		env.Dialer.Now, env.Dialogs.Now = clk.Now, clk.Now
		if _, ok := env.Media.(*media.S3); !ok {
			t.Fatalf("media store %T, want S3", env.Media)
		}
		ten := env.NewTenant(t, "Acme")
		callUUID, companyID := answeredCall(t, env, ten, "79990000105")
		checkRecordingInStore(t, env, ten, env.Media, callUUID, companyID)
		// The object is in the bucket itself.
		obj, err := backend.HeadObject("parley-media", outbound.RecordingKey(companyID, callUUID))
		if err != nil || obj.Size <= 44 {
			t.Fatalf("S3 object: %+v, %v", obj, err)
		}
	})
}
