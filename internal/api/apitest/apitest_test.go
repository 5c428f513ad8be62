package apitest

import "testing"

func TestFill(t *testing.T) {
	for _, c := range []struct {
		pattern string
		values  []string
		want    string
	}{
		{"/v1/chats/{chatId}/messages", []string{"7"}, "/v1/chats/7/messages"},
		{"/p/{a}/c/{b}", []string{"x", "y"}, "/p/x/c/y"},
		{"/p/{a}/c/{b}", []string{"x"}, "/p/x/c/"},
		{"/plain", nil, "/plain"},
	} {
		if got := Fill(c.pattern, c.values...); got != c.want {
			t.Errorf("Fill(%q, %q) = %q, want %q", c.pattern, c.values, got, c.want)
		}
	}
}

func TestWithoutNulls(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": null, "b": {"c": null, "d": 1}, "e": [null, {"f": null}]}`: `{"b":{"d":1},"e":[null,{}]}`,
		`[{"a": null}]`:               `[{}]`,
		`not json`:                    `not json`,
		`{"n": 12345678901234567890}`: `{"n":12345678901234567890}`,
	} {
		if got := string(withoutNulls([]byte(in))); got != want {
			t.Errorf("withoutNulls(%s) = %s, want %s", in, got, want)
		}
	}
}
