package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/parley-cc/parley/internal/store"
)

// SigningKeyName names the local backend's secret in server_keys.
const SigningKeyName = "media-signing-key"

// LoadSigningKey returns the secret the local backend signs upload policies
// and download URLs with, creating it at the first start. It lives in the
// database, like the JWT key, so that URLs survive restarts and every node
// of a cluster accepts them; concurrent first starts agree on one key
// because the insert does nothing when another node got there first.
func LoadSigningKey(ctx context.Context, db *store.DB) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var stored string
	err := db.Write(ctx, func(q store.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO server_keys (name, secret, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, SigningKeyName, hex.EncodeToString(fresh), time.Now().UnixMilli()); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT secret FROM server_keys WHERE name = ?`, SigningKeyName).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("media: load signing key: %w", err)
	}
	key, err := hex.DecodeString(stored)
	if err != nil || len(key) < 32 {
		return nil, errors.New("media: stored signing key is corrupt")
	}
	return key, nil
}
