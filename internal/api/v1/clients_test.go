package v1_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestClientContactInfo: a client's contact_info is its free text, or
// without one the phone and email stored for it, whichever family stored
// them.
func TestClientContactInfo(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		tn := env.NewTenant(t, "Alpha")
		type client struct {
			ClientID    int64  `json:"client_id"`
			ContactInfo string `json:"contact_info"`
		}
		get := func(id int64) client {
			var c client
			mustStatus(t, env.Do(t, "GET", fmt.Sprintf("/v1/clients/%d", id), tn.Token, nil), 200).JSON(t, &c)
			return c
		}
		// Stored by the chat platform: phone and email, no free text.
		var ch struct {
			EndUser struct {
				ID int64 `json:"id"`
			} `json:"end_user"`
		}
		mustStatus(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{},
			"end_user": map[string]any{"phone": "+390612345", "email": "ann@rossi.it", "name": "Ann"}}), 201).JSON(t, &ch)
		if c := get(ch.EndUser.ID); !strings.Contains(c.ContactInfo, "+390612345") || !strings.Contains(c.ContactInfo, "ann@rossi.it") {
			t.Errorf("contact_info of a client with a phone and an email: %q", c.ContactInfo)
		}
		// Stored by v1 with an email only, and with free text.
		var onlyEmail, text client
		mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "Bo", "email": "bo@example.com"}), 201).JSON(t, &onlyEmail)
		if c := get(onlyEmail.ClientID); c.ContactInfo != "bo@example.com" || onlyEmail.ContactInfo != c.ContactInfo {
			t.Errorf("contact_info of a client with an email: %q (created: %q)", c.ContactInfo, onlyEmail.ContactInfo)
		}
		mustStatus(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "Cy", "email": "cy@example.com", "contact_info": "call after 6pm"}), 201).JSON(t, &text)
		if c := get(text.ClientID); c.ContactInfo != "call after 6pm" {
			t.Errorf("contact_info given as free text: %q", c.ContactInfo)
		}
	})
}
