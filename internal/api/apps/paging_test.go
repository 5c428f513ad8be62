package apps_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestListChatsDefaultPageHasNext: limit=0 is the default page of 100
// chats, and a full one carries next_after_id (the handler used to compare
// the page with its own copy of the filter, whose limit stayed 0).
func TestListChatsDefaultPageHasNext(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Pager")
		for i := range 101 {
			must(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{"lang": "en"},
				"end_user": map[string]any{"identifier": fmt.Sprintf("visitor-%d", i)}}), 201)
		}
		type page struct {
			Chats []struct {
				ID int64 `json:"id"`
			} `json:"chats"`
			NextAfter *int64 `json:"next_after_id"`
		}
		for _, q := range []string{"?limit=0", ""} {
			var p page
			must(t, env.Do(t, "GET", "/apps/api/v1/chats"+q, tn.Token, nil), 200).JSON(t, &p)
			if len(p.Chats) != 100 || p.NextAfter == nil || *p.NextAfter != p.Chats[99].ID {
				t.Fatalf("GET /apps/api/v1/chats%s: %d chats, next_after_id %v; want 100 and the last one's id", q, len(p.Chats), p.NextAfter)
			}
			var rest page
			must(t, env.Do(t, "GET", fmt.Sprintf("/apps/api/v1/chats?limit=0&after_id=%d", *p.NextAfter), tn.Token, nil), 200).JSON(t, &rest)
			if len(rest.Chats) != 1 || rest.NextAfter != nil {
				t.Fatalf("second page: %+v", rest)
			}
		}
	})
}
