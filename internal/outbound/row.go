package outbound

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-cc/parley"
)

// Reserved row keys. Everything else in an upload row must be one of the
// agent's initial entities.
const (
	keyMSISDN     = "msisdn"
	keyPhone      = "phone"
	keyScriptName = "script_name"
	keyScript     = "script"
	keyEntryPoint = "script_entry_point"
	// The sim trunk reads these two; they are accepted on every agent.
	KeySimAnswer = "sim_answer"
	KeySimSay    = "sim_say"
	// KeySimHold is how many seconds the simulated callee stays on the
	// line once handed over (waiting and talking to an operator) before
	// hanging up: 1 to 3600, default 120.
	KeySimHold = "sim_hold"
)

// Row is one validated upload row.
type Row struct {
	MSISDN     string
	ScriptName string
	EntryPoint string
	Entities   map[string]string
}

// Limits of one row.
const (
	maxEntityValue = 4096
	maxRowEntities = 200
)

var (
	msisdnRe    = regexp.MustCompile(`^\+?[0-9]{5,15}$`)
	msisdnStrip = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "")
	entryRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	simAnswers  = map[string]bool{"answer": true, "no_answer": true, "busy": true, "fail": true}
)

// NormalizeMSISDN strips the punctuation people type into phone numbers and
// checks what is left is an international number of 5 to 15 digits.
func NormalizeMSISDN(s string) (string, error) {
	n := msisdnStrip.Replace(strings.TrimSpace(s))
	if !msisdnRe.MatchString(n) {
		return "", parley.FieldError("msisdn", "%q is not a phone number (5 to 15 digits, optional leading +)", parley.Clip(s))
	}
	return n, nil
}

// ParseRow validates one upload row against the agent's initial entities.
// raw holds JSON values as decoded with UseNumber.
func ParseRow(raw map[string]json.RawMessage, initial map[string]bool) (*Row, error) {
	if len(raw) > maxRowEntities {
		return nil, parley.Errorf(parley.EINVALID, "A row holds at most %d fields.", maxRowEntities)
	}
	r := &Row{EntryPoint: "main", Entities: map[string]string{}}
	var msisdn, phone string
	for key, val := range raw {
		s, present, err := scalar(key, val)
		if err != nil {
			return nil, err
		}
		if !present {
			continue
		}
		switch key {
		case keyMSISDN:
			msisdn = s
		case keyPhone:
			phone = s
		case keyScriptName, keyScript:
			if r.ScriptName != "" && r.ScriptName != s {
				return nil, parley.FieldError(key, "script and script_name name different scripts")
			}
			r.ScriptName = s
		case keyEntryPoint:
			if !entryRe.MatchString(s) {
				return nil, parley.FieldError(key, "%q is not a function name", parley.Clip(s))
			}
			r.EntryPoint = s
		case KeySimAnswer:
			if !simAnswers[s] {
				return nil, parley.FieldError(key, "must be answer, no_answer, busy or fail")
			}
			r.Entities[key] = s
		case KeySimHold:
			if n, err := strconv.Atoi(s); err != nil || n < 1 || n > 3600 {
				return nil, parley.FieldError(key, "must be a number of seconds from 1 to 3600")
			}
			r.Entities[key] = s
		case KeySimSay:
			var says []string
			if err := json.Unmarshal([]byte(s), &says); err != nil {
				return nil, parley.FieldError(key, "must be a JSON array of strings")
			}
			r.Entities[key] = s
		default:
			if !initial[key] {
				return nil, parley.FieldError(key, "unknown entity %q: add it to the agent's initial entities first", parley.Clip(key))
			}
			r.Entities[key] = s
		}
	}
	if msisdn != "" && phone != "" && msisdn != phone {
		return nil, parley.FieldError(keyMSISDN, "msisdn and phone differ")
	}
	if msisdn == "" {
		msisdn = phone
	}
	if msisdn == "" {
		return nil, parley.FieldError(keyMSISDN, "is required (msisdn or phone)")
	}
	n, err := NormalizeMSISDN(msisdn)
	if err != nil {
		return nil, err
	}
	r.MSISDN = n
	if initial[keyMSISDN] {
		r.Entities[keyMSISDN] = n
	}
	if initial[keyPhone] {
		r.Entities[keyPhone] = n
	}
	return r, nil
}

// scalar turns a JSON value into the text stored for an entity: strings as
// they are, numbers and booleans as written, arrays (sim_say) as JSON.
// null means absent.
func scalar(key string, v json.RawMessage) (s string, present bool, err error) {
	t := strings.TrimSpace(string(v))
	switch {
	case t == "null":
		return "", false, nil
	case strings.HasPrefix(t, `"`):
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, parley.FieldError(key, "is not a valid string")
		}
	case strings.HasPrefix(t, "[") && key == KeySimSay:
		s = t
	case t == "true" || t == "false":
		s = t
	case len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')):
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return "", false, parley.FieldError(key, "is not a valid number")
		}
		s = n.String()
	default:
		return "", false, parley.FieldError(key, "must be a string, a number or a boolean")
	}
	if len(s) > maxEntityValue || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return "", false, parley.FieldError(key, "must be valid text of at most %d bytes", maxEntityValue)
	}
	return s, true, nil
}

// rowMessage is the text of a row's result: "ok" or the reason it failed.
func rowMessage(err error) string {
	if err == nil {
		return "ok"
	}
	return fmt.Sprint(parley.ErrorMessage(err))
}
