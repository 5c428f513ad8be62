package handover

import "testing"

// TestRelayPrefix: the handover subjects sit beside the cluster's events
// and never under them (the events subscription is <subject>.>).
func TestRelayPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "parley.handover",
		"parley.events":         "parley.handover",
		"acme.prod.events":      "acme.prod.handover",
		"acme":                  "acme-handover",
		"parley.events.eu":      "parley.events.eu-handover",
		"parley-test.12.events": "parley-test.12.handover",
	} {
		if got := RelayPrefix(in); got != want {
			t.Errorf("RelayPrefix(%q) = %q, want %q", in, got, want)
		}
	}
	s := &Service{RelayPrefix: "acme.handover"}
	if got := s.RelaySubject("n1"); got != "acme.handover.n1" {
		t.Errorf("subject %q", got)
	}
}
