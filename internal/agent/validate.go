package agent

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/parley-cc/parley"
)

// ParseDelay parses the "hh:mm" delay between attempts into minutes.
func ParseDelay(s string) (int, error) {
	h, m, ok := parseClock(s, 99)
	if !ok {
		return 0, parley.FieldError("delay", "must be \"hh:mm\", got %q", parley.Clip(s))
	}
	return h*60 + m, nil
}

// FormatDelay formats minutes as "hh:mm".
func FormatDelay(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

// parseClock parses "hh:mm" with hh <= maxHour and mm <= 59.
func parseClock(s string, maxHour int) (h, m int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, false
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	return h, m, h <= maxHour && m <= 59
}

// ClockMinutes returns the minute of the day of a valid slot time; "24:00"
// is 1440.
func ClockMinutes(s string) int {
	h, m, _ := parseClock(s, 24)
	return h*60 + m
}

func validateSlot(day int, notBefore, notAfter string) error {
	if day < 1 || day > 7 {
		return parley.FieldError("day", "must be an ISO weekday from 1 (Monday) to 7 (Sunday), got %d", day)
	}
	if h, _, ok := parseClock(notBefore, 23); !ok || h > 23 {
		return parley.FieldError("not_before", "must be \"hh:mm\" from 00:00 to 23:59, got %q", parley.Clip(notBefore))
	}
	if h, m, ok := parseClock(notAfter, 24); !ok || (h == 24 && m != 0) {
		return parley.FieldError("not_after", "must be \"hh:mm\" from 00:00 to 24:00, got %q", parley.Clip(notAfter))
	}
	if ClockMinutes(notBefore) == ClockMinutes(notAfter) {
		return parley.FieldError("not_after", "must differ from not_before (a slot cannot be empty)")
	}
	return nil
}

// ValidTimezone reports whether tz is an IANA time zone name.
func ValidTimezone(tz string) error {
	if tz == "" || len(tz) > 64 || tz == "Local" {
		return parley.FieldError("timezone", "must be an IANA time zone such as Europe/Moscow")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return parley.FieldError("timezone", "unknown time zone %q", parley.Clip(tz))
	}
	return nil
}

// CanonicalLanguage checks a BCP 47 language tag such as "ru-RU" and returns
// its canonical spelling.
func CanonicalLanguage(s string) (string, error) {
	if s == "" || len(s) > 35 {
		return "", parley.FieldError("language", "must be a language tag such as ru-RU")
	}
	tag, err := language.Parse(s)
	if err != nil || tag == language.Und {
		return "", parley.FieldError("language", "unknown language tag %q", parley.Clip(s))
	}
	return tag.String(), nil
}

var (
	ttsRe          = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,100}@[a-z]{1,32}$`)
	ttsPlatforms   = map[string]bool{"google": true, "yandex": true, "espeak": true}
	asrPlatforms   = map[string]bool{"google": true, "yandex": true, "pocketsphinx": true}
	keyPlatforms   = map[string]bool{"google": true, "yandex": true}
	outputTypes    = map[string]bool{"string": true, "integer": true, "number": true, "boolean": true, "date": true, "datetime": true}
	credentialKeys = map[string]bool{"asr": true, "tts": true}
)

// validateTTS checks "voice@platform".
func validateTTS(s string) error {
	if s == "" {
		return nil
	}
	if !ttsRe.MatchString(s) || !ttsPlatforms[s[strings.LastIndexByte(s, '@')+1:]] {
		return parley.FieldError("tts", "must be \"voice@platform\" with platform google, yandex or espeak, got %q", parley.Clip(s))
	}
	return nil
}

// validateASR accepts a platform name or the UUID of one of the agent's ASR
// credentials; the UUID case is checked against the database by the caller.
func validateASR(s string) (isCredential bool, err error) {
	if s == "" || asrPlatforms[s] {
		return false, nil
	}
	if _, err := uuid.Parse(s); err == nil && len(s) == 36 {
		return true, nil
	}
	return false, parley.FieldError("asr", "must be google, yandex, pocketsphinx or the UUID of an ASR credential of the agent, got %q", parley.Clip(s))
}

func validCount(field string, n, max int) error {
	if n < 0 || n > max {
		return parley.FieldError(field, "must be an integer from 0 to %d, got %d", max, n)
	}
	return nil
}

// ValidUUID checks that a parameter is a canonical UUID.
func ValidUUID(field, s string) error {
	if s == "" {
		return parley.FieldError(field, "is required")
	}
	if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
		return parley.FieldError(field, "must be a UUID, got %q", parley.Clip(s))
	}
	return nil
}
