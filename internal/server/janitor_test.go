package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

func TestPurgeKeepsKeysForTheirTTL(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		ten := env.NewTenant(t, "Acme")
		ctx := context.Background()
		now := time.Now()
		err := env.DB.Write(ctx, func(q store.Querier) error {
			for key, age := range map[string]time.Duration{"old": server.IdempotencyKeyTTL + time.Minute, "fresh": 25 * time.Hour} {
				if _, err := q.Exec(ctx, `INSERT INTO idempotency_keys (company_id, key, request_hash, status, body, created_at) VALUES (?, ?, 'h', 201, '{}', ?)`,
					ten.CompanyID, key, now.Add(-age).UnixMilli()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		keys, _, err := env.Purge(ctx, now)
		if err != nil || keys != 1 {
			t.Fatalf("purged %d keys (err %v), want 1", keys, err)
		}
		var left []string
		rows, err := env.DB.Reader().Query(ctx, `SELECT key FROM idempotency_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			_ = rows.Scan(&k)
			left = append(left, k)
		}
		if len(left) != 1 || left[0] != "fresh" {
			t.Fatalf("keys left: %v, want [fresh]", left)
		}
		// The tenant's refresh token is not expired: it stays.
		if _, tokens, _ := env.Purge(ctx, now); tokens != 0 {
			t.Fatalf("purged %d live refresh tokens", tokens)
		}
	})
}
