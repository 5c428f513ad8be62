package media

import (
	"context"
	"fmt"

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
	key, err := db.ServerKey(ctx, SigningKeyName)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return key, nil
}
