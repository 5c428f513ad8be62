// Package trunk owns the companies' SIP trunk configurations (the trunks
// table): their validation and CRUD, scoped to the caller's company. An
// agent's trunk_name names one of its company's trunks, else a trunk built
// into the server ("sim"). Placing calls through a trunk is
// internal/voice/sip's business; this package only keeps what to dial.
package trunk

import (
	"net"
	"strings"
	"time"
	"unicode"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/voice/sdp"
)

// Trunk is a stored trunk. Password is masked ("********" when set, ""
// when not); Secret gives the digest password itself to the SIP stack.
type Trunk struct {
	UUID        string
	CompanyID   int64
	Name        string
	Host        string
	Port        int
	Transport   string // udp or tcp
	Username    string
	Password    string // masked
	CallerID    string
	Codecs      string // "PCMU,PCMA": in order of preference
	RingTimeout int    // seconds
	Refer       bool   // external transfers by REFER (blind), not bridged
	CreatedAt   time.Time
	UpdatedAt   time.Time

	secret string
}

// Secret is the trunk's digest password in clear, for the SIP stack that
// must send it; it is never shown (Password is the masked form).
func (t *Trunk) Secret() string { return t.secret }

// Masked is how a set password is shown.
const Masked = "********"

// NewTrunk is what creating a trunk takes. Zero values take defaults:
// port 5060, transport udp, codecs PCMU,PCMA, ring timeout 30 seconds.
type NewTrunk struct {
	Name        string
	Host        string
	Port        int
	Transport   string
	Username    string
	Password    string
	CallerID    string
	Codecs      string
	RingTimeout int // seconds
	Refer       bool
}

// Update is a partial change of a trunk: a nil field keeps its value. The
// name is not changed (a trunk is renamed by re-creating it). Set values
// follow NewTrunk's rules, except that 0 is no port or ring timeout rather
// than the default; Password "" clears the password.
type Update struct {
	Host        *string
	Port        *int
	Transport   *string
	Username    *string
	Password    *string
	CallerID    *string
	Codecs      *string
	RingTimeout *int
	Refer       *bool
}

// validate checks a trunk and fills in its defaults.
func validate(in *NewTrunk) error {
	name, err := parley.ValidName("name", in.Name, 100)
	if err != nil {
		return err
	}
	in.Name = name
	in.Host = strings.TrimSpace(in.Host)
	if in.Host == "" || len(in.Host) > 253 || strings.ContainsFunc(in.Host, unicode.IsControl) ||
		strings.ContainsAny(in.Host, " /@;:?<>\"") && net.ParseIP(in.Host) == nil {
		return parley.FieldError("host", "must be a host name or IP address")
	}
	if in.Port == 0 {
		in.Port = 5060
	}
	if in.Port < 1 || in.Port > 65535 {
		return parley.FieldError("port", "must be 1-65535")
	}
	in.Transport = strings.ToLower(in.Transport)
	if in.Transport == "" {
		in.Transport = "udp"
	}
	if in.Transport != "udp" && in.Transport != "tcp" {
		return parley.FieldError("transport", "must be udp or tcp")
	}
	for field, v := range map[string]string{"username": in.Username, "password": in.Password, "caller_id": in.CallerID} {
		if len(v) > 200 || strings.ContainsAny(v, "\r\n\x00") {
			return parley.FieldError(field, "must be at most 200 characters on one line")
		}
	}
	if in.Password != "" && in.Username == "" {
		return parley.FieldError("username", "is required with a password")
	}
	if in.CallerID != "" && !dialable(in.CallerID) && !validUserPart(in.CallerID) {
		return parley.FieldError("caller_id", "must be a number or a SIP user name")
	}
	laws, err := sdp.ParseCodecs(in.Codecs)
	if err != nil {
		return parley.FieldError("codecs", "must list PCMU and/or PCMA")
	}
	names := make([]string, len(laws))
	for i, l := range laws {
		names[i] = l.String()
	}
	in.Codecs = strings.Join(names, ",")
	if in.RingTimeout == 0 {
		in.RingTimeout = 30
	}
	if in.RingTimeout < 5 || in.RingTimeout > 300 {
		return parley.FieldError("ring_timeout_s", "must be 5-300 seconds")
	}
	return nil
}

// dialable reports whether s is a number as the SIP stack sends it in the
// From user: digits and '*', with an optional leading '+'.
func dialable(s string) bool {
	for i, r := range s {
		if !(r >= '0' && r <= '9' || r == '*' || r == '+' && i == 0) {
			return false
		}
	}
	return true
}

// validUserPart reports whether s is a SIP user name of unreserved
// characters.
func validUserPart(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.!~*'+", r)) {
			return false
		}
	}
	return s != ""
}
