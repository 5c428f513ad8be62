package apps_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestFinishedByIsAUserOfTheCompany: finished_by_user_id names a user of
// the caller's company; another company's user, or no user at all, is
// refused and the chat goes on.
func TestFinishedByIsAUserOfTheCompany(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		a := newFixture(t, env, "Alpha")
		b := newFixture(t, env, "Bravo")
		ctx := context.Background()
		ua, err := env.Users.CreateUser(ctx, a.CompanyID, "alpha-supervisor", "correct horse alpha", parley.RoleAPI)
		if err != nil {
			t.Fatal(err)
		}
		ub, err := env.Users.CreateUser(ctx, b.CompanyID, "bravo-supervisor", "correct horse bravo", parley.RoleAPI)
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/apps/api/v1/chats/%d", a.ChatID)
		for name, id := range map[string]int64{"another company's user": ub.ID, "no user": ub.ID + 1000} {
			r := env.Do(t, "PATCH", path, a.Token, map[string]any{"finished_by_user_id": id, "chat": map[string]any{"status": "finished"}})
			if r.Status != 422 {
				t.Errorf("finished by %s: status %d, want 422: %s", name, r.Status, r.Body)
			}
			var c chatObj
			must(t, env.Do(t, "GET", path, a.Token, nil), 200).JSON(t, &c)
			if c.Status == "finished" || c.FinishedByUserID != nil {
				t.Fatalf("finished by %s: the chat ended anyway: %+v", name, c)
			}
		}
		var c chatObj
		must(t, env.Do(t, "PATCH", path, a.Token, map[string]any{"finished_by_user_id": ua.ID, "chat": map[string]any{"status": "finished"}}), 200).JSON(t, &c)
		if c.Status != "finished" || c.FinishedByUserID == nil || *c.FinishedByUserID != ua.ID {
			t.Fatalf("finished by a user of the company: %+v", c)
		}

		// An operator ends a chat of their queue as themself, never as a
		// colleague.
		var other chatObj
		must(t, env.Do(t, "POST", "/apps/api/v1/chats", a.Token, map[string]any{"chat": map[string]any{}, "end_user": map[string]any{"phone": "+15550009"}}), 201).JSON(t, &other)
		path = fmt.Sprintf("/apps/api/v1/chats/%d", other.ID)
		if r := env.Do(t, "PATCH", path, a.OperatorToken, map[string]any{"finished_by_user_id": ua.ID, "chat": map[string]any{"status": "finished"}}); r.Status != 403 {
			t.Fatalf("an operator finishing as another user: %d %s", r.Status, r.Body)
		}
		var opUser int64
		if err := env.DB.Reader().QueryRow(ctx, `SELECT id FROM users WHERE login = ?`, a.OperatorLogin).Scan(&opUser); err != nil {
			t.Fatal(err)
		}
		must(t, env.Do(t, "PATCH", path, a.OperatorToken, map[string]any{"chat": map[string]any{"status": "finished"}}), 200).JSON(t, &c)
		if c.Status != "finished" || c.FinishedByUserID == nil || *c.FinishedByUserID != opUser {
			t.Fatalf("finished by the operator: %+v, want user %d", c, opUser)
		}
	})
}
