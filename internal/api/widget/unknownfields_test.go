package widget_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestUnknownFieldsRefused: the widget's request shapes are closed: a body
// with a field more is 400 naming it, and stores nothing.
func TestUnknownFieldsRefused(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Shop")
		base := "/v1/widget/projects/" + project(t, env, tn)
		refused := func(r *testenv.Response, field string) {
			t.Helper()
			var e errBody
			if r.Status == 400 {
				r.JSON(t, &e)
			}
			if r.Status != 400 || e.Error.Code != "malformed" || !strings.Contains(string(r.Body), `"`+field+`"`) {
				t.Errorf("status %d %s; want 400 malformed naming %s", r.Status, r.Body, field)
			}
		}
		refused(env.Do(t, "POST", base+"/chats", "", map[string]any{"visitor_id": "visitor-aaaaaaaaaaaaaaaa", "nmae": "Ann"}), "nmae")
		var s session
		must(t, env.Do(t, "POST", base+"/chats", "", map[string]any{"visitor_id": "visitor-aaaaaaaaaaaaaaaa"}), 201).JSON(t, &s)
		chat := fmt.Sprintf("%s/chats/%d", base, s.ChatID)
		refused(env.Do(t, "POST", chat+"/messages", s.Token, map[string]any{"text": "hi", "txet": "hi"}), "txet")
		refused(env.Do(t, "POST", chat+"/photos", s.Token, map[string]any{"key": "k", "type": "image/png"}), "type")
		var list struct {
			Messages []any `json:"messages"`
		}
		must(t, env.Do(t, "GET", chat+"/messages", s.Token, nil), 200).JSON(t, &list)
		if len(list.Messages) != 0 {
			t.Errorf("refused requests stored messages: %v", list.Messages)
		}
	})
}
