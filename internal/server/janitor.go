package server

import (
	"context"
	"time"

	"github.com/parley-cc/parley/internal/store"
)

// Retention of housekeeping data. Idempotency keys are promised for at
// least 24 hours; twice that leaves room for clients retrying late.
const (
	IdempotencyKeyTTL = 48 * time.Hour
	janitorInterval   = 10 * time.Minute
)

// Purge deletes idempotency keys older than IdempotencyKeyTTL and refresh
// tokens expired for over an hour, as of now. Every node runs it; the
// deletes are idempotent, so nodes running it at once do no harm.
func (s *Server) Purge(ctx context.Context, now time.Time) (keys, tokens int64, err error) {
	err = s.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, now.Add(-IdempotencyKeyTTL).UnixMilli())
		if err != nil {
			return err
		}
		keys, _ = res.RowsAffected()
		res, err = q.Exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < ?`, now.Add(-time.Hour).UnixMilli())
		if err != nil {
			return err
		}
		tokens, _ = res.RowsAffected()
		return nil
	})
	return keys, tokens, err
}

// ChatEventRetention is how long chat events stay resumable.
const ChatEventRetention = 7 * 24 * time.Hour

// runJanitor purges on a timer until ctx ends.
func (s *Server) runJanitor(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			keys, tokens, err := s.Purge(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				s.Config.Log.Error("janitor", "error", err)
			} else if keys+tokens > 0 {
				s.Config.Log.Info("janitor purged", "idempotency_keys", keys, "refresh_tokens", tokens)
			}
			// Realtime clients resume from the chat event log for this
			// long; after that they resync from the chat itself.
			if n, err := s.Chats.PurgeEvents(ctx, time.Now().Add(-ChatEventRetention)); err != nil && ctx.Err() == nil {
				s.Config.Log.Error("janitor: chat events", "error", err)
			} else if n > 0 {
				s.Config.Log.Info("janitor purged", "chat_events", n)
			}
		}
	}
}
