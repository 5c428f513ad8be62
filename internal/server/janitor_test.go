package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/testenv"
)

// The janitor purges idempotency keys past their TTL and refresh tokens long
// expired, and keeps the rest: a fresh key still guards its post, a purged
// one can be used again, and a live refresh token still works. The times
// are set through the services' clocks.
func TestPurgeKeepsKeysAndTokensForTheirTTL(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		ten := env.NewTenant(t, "Acme")
		ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAdmin})
		now := time.Now()
		u, err := env.Chats.CreateClient(ctx, chat.NewEndUser{Name: "client"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := env.Chats.CreateChat(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		post := func(key, hash string) error {
			_, _, err := env.Chats.PostMessageWith(ctx, c.ID, chat.SenderEndUser, "hello", chat.PostOptions{IdempotencyKey: key, RequestHash: hash})
			return err
		}
		for key, age := range map[string]time.Duration{"old": chat.IdempotencyKeyTTL + time.Minute, "fresh": 25 * time.Hour} {
			env.Chats.Now = func() time.Time { return now.Add(-age) }
			if err := post(key, "first"); err != nil {
				t.Fatalf("post with key %s: %v", key, err)
			}
		}
		env.Chats.Now = nil
		// A refresh token issued long enough ago to have expired an hour
		// before now.
		env.Tokens.Now = func() time.Time { return now.Add(-auth.RefreshTTL - auth.RefreshRetention - time.Minute) }
		if _, err := env.Tokens.Login(ctx, parley.Caller{UserID: 1, CompanyID: ten.CompanyID, Role: parley.RoleAPI}); err != nil {
			t.Fatal(err)
		}
		env.Tokens.Now = time.Now

		p, err := env.Purge(context.Background(), now)
		if err != nil || p.IdempotencyKeys != 1 || p.RefreshTokens != 1 {
			t.Fatalf("purged %+v (err %v), want 1 key and 1 refresh token", p, err)
		}
		if err := post("old", "second"); err != nil {
			t.Fatalf("the purged key is free again, but: %v", err)
		}
		if err := post("fresh", "second"); !errors.Is(err, chat.ErrIdempotencyKeyReused) {
			t.Fatalf("the fresh key still guards its post: got %v", err)
		}
		// The tenant's own refresh token is not expired: it stays.
		if _, err := env.Tokens.Refresh(context.Background(), ten.RefreshToken); err != nil {
			t.Fatalf("live refresh token after the purge: %v", err)
		}
		if p, _ := env.Purge(context.Background(), now); p.RefreshTokens != 0 || p.IdempotencyKeys != 0 {
			t.Fatalf("second purge %+v, want nothing", p)
		}
	})
}
