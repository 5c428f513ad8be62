package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/parley-cc/parley"
)

// Decode reads a JSON body into dst. Every failure is a domain error: an
// over-limit body is ETOOLARGE, anything not the expected JSON is
// EMALFORMED naming the field when it can.
func Decode(r *http.Request, dst any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return DecodeBytes(body, dst)
}

// DecodeOptional is Decode for methods whose body may be absent (a DELETE
// whose parameters may also come in the query); present says whether a
// body was there.
func DecodeOptional(r *http.Request, dst any) (present bool, err error) {
	body, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return false, err
	}
	return true, DecodeBytes(body, dst)
}

// ReadBody reads a whole body within its limit, for methods that store it
// as it is.
func ReadBody(r *http.Request) ([]byte, error) { return readBody(r) }

func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, parley.Errorf(parley.ETOOLARGE, "Request body is larger than %d bytes.", mbe.Limit)
		}
		return nil, parley.Errorf(parley.EMALFORMED, "Could not read the request body.")
	}
	return body, nil
}

// DecodeStrict is Decode for the request shapes a family keeps closed: a
// field dst does not have (at any depth) is EMALFORMED naming it, so that
// a misspelt field ("dealy") is an error rather than a silent no-op.
// Fields typed json.RawMessage or map take anything, as with Decode.
func DecodeStrict(r *http.Request, dst any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeBytes(body, dst, true)
}

// DecodeOptionalStrict is DecodeOptional refusing unknown fields.
func DecodeOptionalStrict(r *http.Request, dst any) (present bool, err error) {
	body, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return false, err
	}
	return true, decodeBytes(body, dst, true)
}

// DecodeBytes is Decode on a body already read; fuzz tests drive it.
func DecodeBytes(body []byte, dst any) error { return decodeBytes(body, dst, false) }

// DecodeBytesStrict is DecodeStrict on a body already read.
func DecodeBytesStrict(body []byte, dst any) error { return decodeBytes(body, dst, true) }

func decodeBytes(body []byte, dst any, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return parley.Errorf(parley.EMALFORMED, "A JSON request body is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return parley.Errorf(parley.EMALFORMED, "Request body holds data after the JSON value.")
	}
	return nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var fe *parley.Error
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return parley.Errorf(parley.EMALFORMED, "Request body must be a JSON %s, not %s.", expected(te), te.Value)
		}
		return &parley.Error{Code: parley.EMALFORMED, Message: field + ": must be " + expected(te) + ", not " + te.Value,
			Fields: map[string]string{field: "must be " + expected(te)}}
	case errors.As(err, &se):
		return parley.Errorf(parley.EMALFORMED, "Malformed JSON at byte %d.", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return parley.Errorf(parley.EMALFORMED, "Malformed JSON: unexpected end of body.")
	}
	// encoding/json has no type for it; DisallowUnknownFields writes
	// `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, err := strconv.Unquote(name); err == nil {
			f = parley.Clip(f)
			return &parley.Error{Code: parley.EMALFORMED, Message: fmt.Sprintf("Unknown field %q: not a field of this request.", f),
				Fields: map[string]string{f: "is not a field of this request"}}
		}
	}
	return parley.Errorf(parley.EMALFORMED, "Malformed JSON body.")
}

func expected(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "another type"
	}
	switch k := te.Type.String(); {
	case strings.Contains(k, "int"), strings.Contains(k, "Int"):
		return "an integer"
	case strings.Contains(k, "bool"):
		return "a boolean"
	case strings.Contains(k, "string"):
		return "a string"
	case strings.HasPrefix(k, "[]"):
		return "an array"
	default:
		return "an object"
	}
}

// Int is an integer that also accepts a numeric string ("5"), because the
// seeds show integer settings quoted in their examples.
type Int int

// UnmarshalJSON accepts 5 and "5"; anything else names the problem.
func (n *Int) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		// An UnmarshalTypeError gets the field name added by encoding/json.
		return &json.UnmarshalTypeError{Value: "value " + parley.Clip(string(b)), Type: reflect.TypeFor[int]()}
	}
	*n = Int(v)
	return nil
}

// IntPtr converts an optional Int.
func IntPtr(n *Int) *int {
	if n == nil {
		return nil
	}
	v := int(*n)
	return &v
}

// QueryInt reads an optional non-negative integer query parameter.
func QueryInt(r *http.Request, name string, def, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > max {
		return 0, parley.FieldError(name, "must be an integer from 0 to %d", max)
	}
	return v, nil
}

// PathID reads a positive integer id from the path parameter name; any
// other value is EINVALID naming the parameter.
func PathID(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, parley.FieldError(name, "must be a positive integer, got %q", parley.Clip(s))
	}
	return id, nil
}

// QueryID reads an optional non-negative integer id from the query (a
// keyset cursor, a filter); 0 when absent.
func QueryID(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, parley.FieldError(name, "must be a non-negative integer")
	}
	return v, nil
}
