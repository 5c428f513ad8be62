package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// ServerKey returns the server-wide secret stored under name in
// server_keys (32 random bytes), creating it at the first start. Secrets
// live in the database so that every node of a cluster shares them and
// they survive restarts; concurrent first starts agree on one key because
// the insert does nothing when another node got there first, and everyone
// reads the stored row.
func (db *DB) ServerKey(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var stored string
	err := db.Write(ctx, func(q Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO server_keys (name, secret, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, hex.EncodeToString(fresh), time.Now().UnixMilli()); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT secret FROM server_keys WHERE name = ?`, name).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("load server key %s: %w", name, err)
	}
	key, err := hex.DecodeString(stored)
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("server key %s is corrupt", name)
	}
	return key, nil
}
