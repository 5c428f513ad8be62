package outbound

import (
	"context"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/store"
)

// RecordingOrphanGrace is how old an object under recordings/ must be
// before the janitor judges it: a recording is written just before the
// transaction that commits its call's result, so anything older than this
// that no call names was left by a crash or a lost lease.
const RecordingOrphanGrace = 24 * time.Hour

// RecordingPrefix is where recordings live in the media store.
const RecordingPrefix = "recordings/"

// RecordingsReferenced tells which of keys a call names as its recording,
// across companies: the janitor's orphan sweep (media.SweepOrphans) keeps
// those.
func (s *Service) RecordingsReferenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	named, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (k string, err error) {
		err = r.Scan(&k)
		return k, err
	}, `SELECT recording_key FROM calls WHERE recording_key <> '' AND recording_key IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")+`)`, args...)
	for _, k := range named {
		out[k] = true
	}
	return out, err
}
