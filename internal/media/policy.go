package media

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parley-cc/parley"
)

// The local store's form carries S3's field names, so that one client
// serves both backends, but its own algorithm name: the signature is an
// HMAC-SHA256 of the policy with the server's key, not SigV4.
const (
	localAlgorithm   = "PARLEY-HMAC-SHA256"
	localCredential  = "parley/media"
	amzDateFormat    = "20060102T150405Z"
	expirationFormat = "2006-01-02T15:04:05.000Z"
)

// condition is one rule of a POST policy, on a form field named in lower
// case (S3 compares field names without case).
type condition struct {
	op    string // "eq" or "starts-with"
	field string
	value string
}

func (c condition) String() string { return fmt.Sprintf(`["%s", "$%s", "%s"]`, c.op, c.field, c.value) }

// postPolicy is a decoded S3 POST policy document.
type postPolicy struct {
	expiration       time.Time
	conditions       []condition
	minSize, maxSize int64
	hasRange         bool
}

// parsePolicy decodes the base64 policy field. Conditions take S3's two
// spellings: {"field": "value"} and ["eq"|"starts-with", "$field", "value"],
// plus ["content-length-range", min, max].
func parsePolicy(b64 string) (*postPolicy, error) {
	bad := func(format string, args ...any) error {
		return parley.Errorf(parley.EINVALID, "Invalid policy document: "+format, args...)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, bad("not base64.")
	}
	var doc struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, bad("not JSON.")
	}
	p := &postPolicy{}
	if p.expiration, err = time.Parse(time.RFC3339, doc.Expiration); err != nil {
		return nil, bad("no valid expiration.")
	}
	for _, c := range doc.Conditions {
		c = bytes.TrimSpace(c)
		switch {
		case len(c) > 0 && c[0] == '{':
			var m map[string]string
			if err := json.Unmarshal(c, &m); err != nil || len(m) != 1 {
				return nil, bad("a condition object must hold one string field.")
			}
			for f, v := range m {
				p.conditions = append(p.conditions, condition{op: "eq", field: strings.ToLower(strings.TrimPrefix(f, "$")), value: v})
			}
		case len(c) > 0 && c[0] == '[':
			var a []json.RawMessage
			if err := json.Unmarshal(c, &a); err != nil || len(a) != 3 {
				return nil, bad("a condition array must have three elements.")
			}
			var op string
			if err := json.Unmarshal(a[0], &op); err != nil {
				return nil, bad("a condition must start with its operation.")
			}
			if strings.EqualFold(op, "content-length-range") {
				if json.Unmarshal(a[1], &p.minSize) != nil || json.Unmarshal(a[2], &p.maxSize) != nil ||
					p.minSize < 0 || p.maxSize < p.minSize {
					return nil, bad("content-length-range needs 0 <= min <= max.")
				}
				p.hasRange = true
				continue
			}
			var field, value string
			op = strings.ToLower(op)
			if json.Unmarshal(a[1], &field) != nil || json.Unmarshal(a[2], &value) != nil ||
				!strings.HasPrefix(field, "$") || (op != "eq" && op != "starts-with") {
				return nil, bad(`conditions are ["eq"|"starts-with", "$field", "value"].`)
			}
			p.conditions = append(p.conditions, condition{op: op, field: strings.ToLower(field[1:]), value: value})
		default:
			return nil, bad("a condition is an object or an array.")
		}
	}
	return p, nil
}

// exempt names the fields S3 does not require a condition for.
func exempt(field string) bool {
	return field == "policy" || field == "x-amz-signature" || field == "file" || strings.HasPrefix(field, "x-ignore-")
}

// check applies the conditions to the form fields (names in lower case).
// As on S3, every field must be named by some condition, so a client cannot
// slip in fields the policy's author did not foresee.
func (p *postPolicy) check(fields map[string]string) error {
	covered := map[string]bool{}
	for _, c := range p.conditions {
		covered[c.field] = true
		v := fields[c.field]
		if _, present := fields[c.field]; (c.op == "eq" && (!present || v != c.value)) || (c.op == "starts-with" && !strings.HasPrefix(v, c.value)) {
			return parley.Errorf(parley.EFORBIDDEN, "Invalid according to policy: condition failed: %s.", parley.Clip(c.String()))
		}
	}
	for f := range fields {
		if !covered[f] && !exempt(f) {
			return parley.Errorf(parley.EFORBIDDEN, "Invalid according to policy: extra field %q.", parley.Clip(f))
		}
	}
	return nil
}
