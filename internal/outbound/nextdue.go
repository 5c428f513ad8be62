package outbound

import (
	"context"
	"database/sql"
	"time"
)

// NextDueAfter is when the dialer next has work it can know of from the
// database, after the instant after: the earliest next attempt of a queued
// dialog of an agent with channels, or the earliest lease of a call in
// progress running out (a dialog to recover). Work already due at after
// is left out: the dialer's pass at that instant dialled it or was held
// back by something that wakes it. ok is false when there is nothing.
// Both are index seeks (dialogs_due per agent, dialogs_lease), so an idle
// dialer asks before it sleeps instead of polling.
func (s *Service) NextDueAfter(ctx context.Context, after time.Time) (at time.Time, ok bool, err error) {
	var due, lease sql.NullInt64
	r := s.DB.Reader()
	ms := after.UnixMilli()
	if err := r.QueryRow(ctx, `SELECT MIN((SELECT MIN(d.next_attempt_at) FROM dialogs d WHERE d.agent_id = a.id AND d.status = 'queued'
			AND d.next_attempt_at > ?))
		FROM agents a WHERE a.total_channel_limit > 0`, ms).Scan(&due); err != nil {
		return time.Time{}, false, err
	}
	if err := r.QueryRow(ctx, `SELECT MIN(lease_until) FROM dialogs WHERE status = 'calling' AND lease_until >= ?`, ms).Scan(&lease); err != nil {
		return time.Time{}, false, err
	}
	var next int64
	switch {
	case due.Valid && lease.Valid:
		next = min(due.Int64, lease.Int64+1) // a lease is expired once past lease_until
	case due.Valid:
		next = due.Int64
	case lease.Valid:
		next = lease.Int64 + 1
	default:
		return time.Time{}, false, nil
	}
	return time.UnixMilli(next), true, nil
}

// wake tells the dialer that a dialog may have become due (queued,
// requeued, returned) or a channel freed; it never blocks.
func (s *Service) wake() {
	if s.Queued != nil {
		s.Queued()
	}
}
