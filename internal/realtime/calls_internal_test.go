package realtime

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestDataID: an operator id of a transfer event reads the same whether
// the event was published on this node (int64) or came from another one
// through NATS (json.Number: events decodes with UseNumber).
func TestDataID(t *testing.T) {
	var remote map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(`{"operator_id": 9007199254740993, "previous_operator_id": 7}`)))
	dec.UseNumber()
	if err := dec.Decode(&remote); err != nil {
		t.Fatal(err)
	}
	if got := dataID(remote["operator_id"]); got != 9007199254740993 {
		t.Errorf("remote operator_id: %d", got)
	}
	if got := dataID(remote["previous_operator_id"]); got != 7 {
		t.Errorf("remote previous_operator_id: %d", got)
	}
	if got := dataID(int64(5)); got != 5 {
		t.Errorf("local: %d", got)
	}
	if got := dataID(nil); got != 0 {
		t.Errorf("absent: %d", got)
	}
}
