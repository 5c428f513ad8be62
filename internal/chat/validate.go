package chat

import (
	"strings"

	"github.com/parley-cc/parley"
)

// Limits of user input.
const (
	MaxName    = 200
	MaxContent = 10000
	MaxContact = 1000
)

// validContent checks a message's text: 1..MaxContent runes, no NUL.
func validContent(s string) error {
	if strings.TrimSpace(s) == "" {
		return parley.FieldError("content", "is required")
	}
	return parley.ValidText("content", s, MaxContent)
}
