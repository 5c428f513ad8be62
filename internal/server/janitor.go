package server

import (
	"context"
	"time"

	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/outbound"
)

// janitorInterval is how often every node purges housekeeping data;
// orphanEvery how many of its passes go by between sweeps of the media
// store for orphans (listing the store costs more than a DELETE).
const (
	janitorInterval = 10 * time.Minute
	orphanEvery     = 6
)

// Purged counts what one pass of the janitor deleted.
type Purged struct {
	IdempotencyKeys int64 // older than chat.IdempotencyKeyTTL
	RefreshTokens   int64 // expired for over auth.RefreshRetention
	ChatEvents      int64 // older than chat.EventRetention
	// Uploads: chat upload forms expired unused (with their objects), and
	// objects at the keys of used forms.
	Uploads chat.PurgedUploads
}

// Purge deletes, as of now, the housekeeping data whose time has passed,
// through the purge functions of the packages that own it. Every node runs
// it; the deletes are idempotent, so nodes running it at once do no harm.
func (s *Server) Purge(ctx context.Context, now time.Time) (p Purged, err error) {
	if p.IdempotencyKeys, err = s.Chats.PurgeIdempotencyKeys(ctx, now.Add(-chat.IdempotencyKeyTTL)); err != nil {
		return p, err
	}
	if p.RefreshTokens, err = s.Tokens.PurgeRefreshTokens(ctx, now.Add(-auth.RefreshRetention)); err != nil {
		return p, err
	}
	// Realtime clients resume from the chat event log for this long; after
	// that they resync from the chat itself.
	if p.ChatEvents, err = s.Chats.PurgeEvents(ctx, now.Add(-chat.EventRetention)); err != nil {
		return p, err
	}
	if s.Media != nil {
		p.Uploads, err = s.Uploads.Purge(ctx, now)
	}
	return p, err
}

// Orphans counts what one sweep of the media store removed.
type Orphans struct {
	ChatMedia  int // under chats/, named by no chat media or upload form
	Recordings int // under recordings/, named by no call
}

// SweepOrphans removes, as of now, the media objects a crash left between
// writing them and committing the row that would name them: chat media
// older than chat.OrphanGrace, recordings older than
// outbound.RecordingOrphanGrace. Every node runs it now and then.
func (s *Server) SweepOrphans(ctx context.Context, now time.Time) (o Orphans, err error) {
	if s.Media == nil {
		return o, nil
	}
	if o.ChatMedia, err = media.SweepOrphans(ctx, s.Media, "chats/", now.Add(-chat.OrphanGrace), s.Uploads.Referenced); err != nil {
		return o, err
	}
	o.Recordings, err = media.SweepOrphans(ctx, s.Media, outbound.RecordingPrefix, now.Add(-outbound.RecordingOrphanGrace), s.Dialogs.RecordingsReferenced)
	return o, err
}

// runJanitor purges on a timer until ctx ends.
func (s *Server) runJanitor(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for pass := 1; ; pass++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, err := s.Purge(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			s.Config.Log.Error("janitor", "error", err)
		} else if p.IdempotencyKeys+p.RefreshTokens+p.ChatEvents+int64(p.Uploads.Expired+p.Uploads.Swept) > 0 {
			s.Config.Log.Info("janitor purged", "idempotency_keys", p.IdempotencyKeys, "refresh_tokens", p.RefreshTokens,
				"chat_events", p.ChatEvents, "expired_uploads", p.Uploads.Expired, "swept_uploads", p.Uploads.Swept)
		}
		if b := s.Config.Voice.promptBudget(); b > 0 && s.Media != nil && pass%promptTrimEvery == 0 {
			if n, err := TrimPrompts(ctx, s.Media, b); err != nil && ctx.Err() == nil {
				s.Config.Log.Error("janitor: stored prompts", "error", err)
			} else if n > 0 {
				s.Config.Log.Info("janitor trimmed stored prompts", "deleted", n, "budget_bytes", b)
			}
		}
		if pass%orphanEvery != 0 {
			continue
		}
		if o, err := s.SweepOrphans(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.Config.Log.Error("janitor: media orphans", "error", err)
		} else if o.ChatMedia+o.Recordings > 0 {
			s.Config.Log.Info("janitor removed media orphans", "chat_media", o.ChatMedia, "recordings", o.Recordings)
		}
	}
}
