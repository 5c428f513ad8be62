package server

import (
	"context"
	"time"

	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
)

// janitorInterval is how often every node purges housekeeping data.
const janitorInterval = 10 * time.Minute

// Purged counts what one pass of the janitor deleted.
type Purged struct {
	IdempotencyKeys int64 // older than chat.IdempotencyKeyTTL
	RefreshTokens   int64 // expired for over auth.RefreshRetention
	ChatEvents      int64 // older than chat.EventRetention
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
	p.ChatEvents, err = s.Chats.PurgeEvents(ctx, now.Add(-chat.EventRetention))
	return p, err
}

// runJanitor purges on a timer until ctx ends.
func (s *Server) runJanitor(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p, err := s.Purge(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				s.Config.Log.Error("janitor", "error", err)
			} else if p.IdempotencyKeys+p.RefreshTokens+p.ChatEvents > 0 {
				s.Config.Log.Info("janitor purged", "idempotency_keys", p.IdempotencyKeys, "refresh_tokens", p.RefreshTokens,
					"chat_events", p.ChatEvents)
			}
		}
	}
}
