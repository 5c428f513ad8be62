package apps_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestChatTimesOut: timeout_at is shown, pushed back by each end-user
// message, and a chat past it ends as timed_out with its operator released.
func TestChatTimesOut(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true, Configure: func(c *server.Config) { c.ChatTimeout = time.Hour }})
		tn := env.NewTenant(t, "Late")
		var c chatObj
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{}, "end_user": map[string]any{"phone": "5"}}), 201).JSON(t, &c)
		var raw struct {
			TimeoutAt *string `json:"timeout_at"`
		}
		path := fmt.Sprintf("/apps/api/v1/chats/%d", c.ID)
		must(t, env.Do(t, "GET", path, tn.Token, nil), 200).JSON(t, &raw)
		if raw.TimeoutAt == nil {
			t.Fatal("no timeout_at")
		}
		first, err := time.Parse(time.RFC3339, *raw.TimeoutAt)
		if err != nil || first.Before(time.Now().Add(59*time.Minute)) {
			t.Fatalf("timeout_at %v: %v", raw.TimeoutAt, err)
		}
		// The operator takes it, then the end user writes: the deadline moves.
		must(t, env.Do(t, "PATCH", "/v1/chats/"+fmt.Sprint(c.ID), tn.OperatorToken, map[string]any{"status": "assigned"}), 200)
		time.Sleep(5 * time.Millisecond)
		must(t, env.Do(t, "POST", path+"/message", tn.Token, map[string]any{"message": map[string]any{"content": "still there?"}}), 200)
		must(t, env.Do(t, "GET", path, tn.Token, nil), 200).JSON(t, &raw)
		second, _ := time.Parse(time.RFC3339, *raw.TimeoutAt)
		if !second.After(first) {
			t.Fatalf("timeout_at did not move: %s then %s", first, second)
		}
		if n, err := env.Chats.TimeOutChats(context.Background(), time.Now()); err != nil || n != 0 {
			t.Fatalf("timed out early: %d %v", n, err)
		}
		if n, err := env.Chats.TimeOutChats(context.Background(), second.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("TimeOutChats: %d %v", n, err)
		}
		must(t, env.Do(t, "GET", path, tn.Token, nil), 200).JSON(t, &c)
		if c.Status != "timed_out" || c.EndsAt == nil || c.Agent != nil {
			t.Fatalf("timed-out chat %+v", c)
		}
		var load int
		if err := env.DB.Reader().QueryRow(context.Background(), `SELECT load FROM operators WHERE company_id = ?`, tn.CompanyID).Scan(&load); err != nil || load != 0 {
			t.Fatalf("operator load %d %v", load, err)
		}
	})
}
