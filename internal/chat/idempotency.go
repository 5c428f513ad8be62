package chat

import (
	"context"
	"errors"
	"time"

	"github.com/parley-cc/parley"
)

// Idempotency keys make a message post safe to retry: the first post under
// a key stores, in its own transaction, the key, the request's hash and the
// message it answered with. A retry runs the same transaction and finds
// the key: on PostgreSQL its INSERT waits on the unique index while the
// first post is in flight and finds the committed row afterwards; on SQLite
// writers take turns. So concurrent retries store one message and all
// answer it, without polling.

// Limits of idempotency keys.
const (
	MaxIdempotencyKey = 200
	// IdempotencyKeyTTL is how long keys are kept: they are promised for
	// at least 24 hours, and twice that leaves room for late retries.
	IdempotencyKeyTTL = 48 * time.Hour
)

// ErrIdempotencyKeyReused answers a post whose idempotency key was used
// with another request (another hash). Families that have a wire code of
// their own for it test with errors.Is.
var ErrIdempotencyKeyReused = &parley.Error{Code: parley.ECONFLICT, Message: "This idempotency key was used with another request.",
	Fields: map[string]string{"idempotency_key": "was used with another request"}}

// validKey checks an idempotency key, if any, and its request hash, and
// returns the key trimmed.
func validKey(key, hash string) (string, error) {
	if key == "" {
		return "", nil
	}
	key, err := parley.ValidName("idempotency_key", key, MaxIdempotencyKey)
	if err != nil {
		return "", err
	}
	if hash == "" {
		return "", errors.New("chat: an idempotency key needs a request hash")
	}
	return key, nil
}

// firstAnswer is what the first post under a key answered.
type firstAnswer struct {
	message  *Message
	replayed bool
}

// claimKey takes key for this transaction's post, or returns the answer of
// the post that took it first (nil when this one is first).
func (t *tx) claimKey(ctx context.Context, key, hash string) (*firstAnswer, error) {
	res, err := t.Exec(ctx, `INSERT INTO idempotency_keys (company_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (company_id, key) DO NOTHING`, t.cid, key, hash, t.nowMS())
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n == 1 {
		return nil, nil
	}
	// Taken, and committed: PostgreSQL's INSERT waited for the first post,
	// and this statement sees what it committed.
	var storedHash string
	var messageID int64
	first := &firstAnswer{}
	if err := t.QueryRow(ctx, `SELECT request_hash, message_id, replayed FROM idempotency_keys WHERE company_id = ? AND key = ?`,
		t.cid, key).Scan(&storedHash, &messageID, &first.replayed); err != nil {
		return nil, err
	}
	if storedHash != hash {
		return nil, ErrIdempotencyKeyReused
	}
	first.message, err = scanMessage(t.QueryRow(ctx, `SELECT `+messageColumns+` FROM chat_messages WHERE id = ? AND company_id = ?`,
		messageID, t.cid))
	return first, err
}

// keepAnswer stores the answer of the post that claimed key.
func (t *tx) keepAnswer(ctx context.Context, key string, m *Message, replayed bool) error {
	_, err := t.Exec(ctx, `UPDATE idempotency_keys SET message_id = ?, replayed = ? WHERE company_id = ? AND key = ?`,
		m.ID, replayed, t.cid, key)
	return err
}

// PurgeIdempotencyKeys deletes the keys of every company stored before
// before (the janitor passes now - IdempotencyKeyTTL).
func (s *Service) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	return s.purge(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, before)
}
