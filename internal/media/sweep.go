package media

import (
	"context"
	"time"
)

// sweepBatch is how many candidate keys one call of a Referenced callback
// judges.
const sweepBatch = 500

// Referenced tells which of keys something still names (a call's
// recording, a chat's photo); the others are orphans.
type Referenced func(ctx context.Context, keys []string) (map[string]bool, error)

// SweepOrphans deletes the objects under prefix last written before
// before that referenced does not name: what a crash left between writing
// an object and committing the row that names it. Objects written since
// are never judged, so before must leave room for any write still on its
// way to its commit. It reports how many it deleted.
func SweepOrphans(ctx context.Context, s Store, prefix string, before time.Time, referenced Referenced) (int, error) {
	deleted := 0
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		named, err := referenced(ctx, batch)
		if err != nil {
			return err
		}
		for _, k := range batch {
			if named[k] {
				continue
			}
			if err := s.Delete(ctx, k); err != nil {
				return err
			}
			deleted++
		}
		batch = batch[:0]
		return nil
	}
	err := s.List(ctx, prefix, func(o Object) error {
		if !o.Modified.Before(before) {
			return nil
		}
		batch = append(batch, o.Key)
		if len(batch) < sweepBatch {
			return nil
		}
		return flush()
	})
	if err != nil {
		return deleted, err
	}
	return deleted, flush()
}
