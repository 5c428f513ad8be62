package parley

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input rules every domain applies to text from clients, so that what is
// stored is always printable, bounded and storable on both databases.

// ValidName checks a display name or identifier-like name: trimmed,
// printable, 1..max runes. It returns the trimmed name.
func ValidName(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", FieldError(field, "is required")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", FieldError(field, "must be at most %d characters of valid UTF-8", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", FieldError(field, "must not contain control characters")
		}
	}
	return s, nil
}

// ValidText checks free text: valid UTF-8, at most max runes, and no NUL
// (PostgreSQL text cannot hold it, and no client means to send it).
func ValidText(field, s string, max int) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return FieldError(field, "must be at most %d characters of valid UTF-8", max)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return FieldError(field, "must not contain NUL characters")
	}
	return nil
}
