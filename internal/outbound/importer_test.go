package outbound

import (
	"encoding/json"
	"testing"
)

func TestCountElements(t *testing.T) {
	for _, in := range []string{
		`[]`, ` [ ] `, `[1]`, `[[]]`, `[{}]`, `[{}, {}]`, `[[], [1, 2], {"a": [3, 4]}]`,
		`["a,b", "c\"],d", "\\", {"x": "}, ]"}]`, "[\n  {\"msisdn\": \"1\"},\n  {\"msisdn\": \"2\"}\n]", `[null, true, 1.5e3, "x"]`,
	} {
		var v []json.RawMessage
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Fatalf("bad case %s: %v", in, err)
		}
		if got := countElements([]byte(in)); got != len(v) {
			t.Errorf("countElements(%s) = %d, want %d", in, got, len(v))
		}
	}
}

func FuzzCountElements(f *testing.F) {
	for _, s := range []string{`[]`, `[1,[2,3],{"a":","}]`, `["\\\"", ","]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v []json.RawMessage
		if json.Unmarshal(b, &v) != nil {
			return // only valid arrays reach the counter
		}
		if got := countElements(b); got != len(v) {
			t.Fatalf("countElements(%q) = %d, want %d", b, got, len(v))
		}
	})
}
