// Package outbound owns the outbound lifecycle: dialogs from their upload
// (one by one, or in bulk through import tasks) through the dialer's calls
// to their statistics row. It is the only writer of dialogs, dialog_bulks,
// selections, import_tasks, import_rows, calls, call_turns and
// call_recordings; everything else goes through its API.
//
// A dialog walks the state machine of state.go. The API's transitions:
//
//	Create, StartImport (+ Importer)  -> queued
//	Claim                             queued  -> calling (a call row, leased)
//	Finish                            calling -> done | failed | queued (retry)
//	RecoverExpired                    calling -> queued (the call interrupted)
//	Stop / Return                     queued <-> stopped
//	Remove                            queued | stopped -> removed
//
// The dialer (internal/dialer) is a loop over Claim, a trunk, the script and
// Finish; it holds no SQL of its own.
package outbound

import (
	"log/slog"
	"time"

	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/store"
)

// Service manages the dialogs of the caller's company, and the dialer's
// side of them (claims, leases, outcomes) across companies.
type Service struct {
	DB *store.DB
	// Now is the clock of every transaction of the service and its
	// importer (one reading per transaction); nil is time.Now.
	Now func() time.Time
	// Bus, if set, hears every transition (import.*, call.*, dialog.*).
	Bus *events.Bus
	// Imported is called after a group upload is stored, so that the
	// importer starts on it at once instead of at its next poll.
	Imported func()
	// Queued is called after dialogs were queued or returned, or a call
	// ended (a channel freed, a retry scheduled), so that an idle dialer
	// looks now instead of at its next safety poll.
	Queued func()
	// Media is where recordings go (calls.recording_key); nil keeps them
	// in call_recordings, where recordings without a key are read from.
	Media media.Store
	// Log hears what goes wrong without failing a request (a recording
	// kept in the database, a dialog recovered); nil is slog.Default().
	Log *slog.Logger
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// publish announces a change on the bus, if there is one.
func (s *Service) publish(typ string, companyID int64, subject string, data map[string]any) {
	if s.Bus != nil {
		s.Bus.Publish(events.Event{Type: typ, CompanyID: companyID, Subject: subject, Data: data})
	}
}
