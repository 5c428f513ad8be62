package agent

import "testing"

func TestMaskSecret(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"abc":               "***",
		"abcd":              "****",
		"AIzaSecretKey1234": "********1234",
		"keyключ1":          "********люч1",
	} {
		if got := MaskSecret(in); got != want {
			t.Errorf("MaskSecret(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDelay(t *testing.T) {
	for in, want := range map[string]int{"00:00": 0, "01:30": 90, "99:59": 5999} {
		if got, err := ParseDelay(in); err != nil || got != want {
			t.Errorf("ParseDelay(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "1:30", "01:60", "0130", "aa:bb", "01:30:00", "-1:00", "１２:００"} {
		if _, err := ParseDelay(in); err == nil {
			t.Errorf("ParseDelay(%q) accepted", in)
		}
	}
	if FormatDelay(90) != "01:30" {
		t.Errorf("FormatDelay(90) = %s", FormatDelay(90))
	}
}

func TestValidateSlot(t *testing.T) {
	ok := [][3]any{{1, "00:00", "24:00"}, {7, "22:00", "02:00"}, {3, "09:00", "09:01"}}
	bad := [][3]any{{0, "09:00", "10:00"}, {8, "09:00", "10:00"}, {1, "24:00", "10:00"}, {1, "09:00", "09:00"},
		{1, "09:00", "24:01"}, {1, "00:00", "00:00"}, {1, "9:00", "10:00"}}
	for _, c := range ok {
		if err := validateSlot(c[0].(int), c[1].(string), c[2].(string)); err != nil {
			t.Errorf("%v refused: %v", c, err)
		}
	}
	for _, c := range bad {
		if err := validateSlot(c[0].(int), c[1].(string), c[2].(string)); err == nil {
			t.Errorf("%v accepted", c)
		}
	}
}
