package webhook_test

import (
	"testing"

	"github.com/parley-cc/parley/internal/webhook"
)

// TestNotesAreNoWebhookEvent: internal notes stay with the company's
// staff; no pattern, "*" included, sends them.
func TestNotesAreNoWebhookEvent(t *testing.T) {
	for _, p := range [][]string{{"*"}, {"note.*"}, {"note.created"}} {
		if webhook.Matches(p, "note.created") {
			t.Errorf("patterns %v match note.created", p)
		}
	}
	if !webhook.Matches([]string{"*"}, "message.created") {
		t.Error("* no longer matches message.created")
	}
}
