package v1_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestListChatsDefaultPageHasNext: limit=0 asks for the default page (100
// chats); a full default page carries next_after_id like any full page,
// so that a client that sends limit=0 can page on (it never could).
func TestListChatsDefaultPageHasNext(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		tn := env.NewTenant(t, "Pager")
		var client struct {
			ClientID int64 `json:"client_id"`
		}
		mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "C"}), 201).JSON(t, &client)
		for range 101 {
			mustStatus(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": client.ClientID}), 201)
		}
		type page struct {
			Chats []struct {
				ChatID int64 `json:"chat_id"`
			} `json:"chats"`
			NextAfter *int64 `json:"next_after_id"`
		}
		for _, q := range []string{"?limit=0", ""} {
			var p page
			mustStatus(t, env.Do(t, "GET", "/v1/chats"+q, tn.Token, nil), 200).JSON(t, &p)
			if len(p.Chats) != 100 || p.NextAfter == nil || *p.NextAfter != p.Chats[99].ChatID {
				t.Fatalf("GET /v1/chats%s: %d chats, next_after_id %v; want 100 and the last one's id", q, len(p.Chats), p.NextAfter)
			}
			var rest page
			mustStatus(t, env.Do(t, "GET", fmt.Sprintf("/v1/chats%s&after_id=%d", "?limit=0", *p.NextAfter), tn.Token, nil), 200).JSON(t, &rest)
			if len(rest.Chats) != 1 || rest.NextAfter != nil || rest.Chats[0].ChatID <= *p.NextAfter {
				t.Fatalf("second page: %+v", rest)
			}
		}
	})
}
