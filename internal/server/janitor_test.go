package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/outbound"
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

// The janitor's orphan sweep keeps the recordings calls name and removes,
// once they are old enough, those no call names (a crash between the
// upload of a recording and the commit of its call).
func TestSweepOrphansKeepsNamedRecordings(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		ten := env.NewTenant(t, "Acme")
		ctx := context.Background()
		var dlg struct {
			DialogUUID string `json:"dialog_uuid"`
		}
		res := env.Do(t, "POST", "/api/v2/ext/dialog/dialog-initial?agent_uuid="+ten.AgentUUID, ten.Token,
			map[string]any{"msisdn": "79990001122", "sim_say": []string{"yes"}})
		if res.Status != 200 {
			t.Fatalf("upload dialog: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &dlg)
		if n, err := env.Dialer.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("dialer tick: %d calls, %v", n, err)
		}
		env.Dialer.Wait()
		var named string
		if err := env.DB.Reader().QueryRow(ctx, `SELECT recording_key FROM calls WHERE company_id = ?`, ten.CompanyID).Scan(&named); err != nil || named == "" {
			t.Fatalf("the call's recording key: %q, %v", named, err)
		}
		orphan := fmt.Sprintf("recordings/%d/00000000-0000-4000-8000-00000000dead.wav", ten.CompanyID)
		if err := env.Media.Put(ctx, orphan, bytes.NewReader([]byte("RIFF")), 4, "audio/wav"); err != nil {
			t.Fatal(err)
		}
		o, err := env.SweepOrphans(ctx, time.Now().Add(outbound.RecordingOrphanGrace+time.Hour))
		if err != nil || o.Recordings != 1 {
			t.Fatalf("sweep: %+v, %v; want the one orphan", o, err)
		}
		if _, err := env.Media.Stat(ctx, named); err != nil {
			t.Fatalf("the call's recording went with the orphans: %v", err)
		}
		if _, err := env.Media.Stat(ctx, orphan); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("the orphan is still there: %v", err)
		}
	})
}
