// Package parley holds the domain vocabulary every other package shares: the
// error type with its codes and the caller (tenant) carried in a context.
// It imports nothing of the project, so every package can depend on it.
package parley

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Error codes. Each API family maps them to its own status codes and error
// bodies in exactly one function, so the domain never speaks HTTP.
const (
	EINVALID      = "invalid"            // the request is well-formed but a value is wrong
	EMALFORMED    = "malformed"          // the body is not the JSON the method takes
	ENOTFOUND     = "not_found"          // no such object in the caller's company
	EFORBIDDEN    = "forbidden"          // the caller may not touch this object or method
	EUNAUTHORIZED = "unauthorized"       // no valid credentials
	ECREDENTIALS  = "bad_credentials"    // login or password is wrong
	ECONFLICT     = "conflict"           // the change clashes with existing state
	ETOOLARGE     = "too_large"          // request body over its limit
	EMETHOD       = "method_not_allowed" // the path exists, but not with this HTTP method
	ERATELIMITED  = "rate_limited"       // too many requests (or failed logins) for now; Error.RetryAfter says when to retry
	EINTERNAL     = "internal"           // a bug or an outage; details are logged, not returned
)

// Error is the one error type the domain returns. Fields names the offending
// input fields, so adapters can report them in their own shape.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter is when a refused request may be tried again
	// (ERATELIMITED); adapters send it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("parley: code=%s message=%s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an EINVALID error that names one field.
func FieldError(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EINVALID, Message: field + ": " + msg, Fields: map[string]string{field: msg}}
}

// ErrorCode returns the code of an application error, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of an application error. Other
// errors are internal: their text may hold SQL or paths, so it is never shown.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// RateLimited builds an ERATELIMITED error that may be retried after
// retry (at least a second).
func RateLimited(retry time.Duration, format string, args ...any) *Error {
	return &Error{Code: ERATELIMITED, Message: fmt.Sprintf(format, args...), RetryAfter: max(retry, time.Second)}
}

// ErrorRetryAfter returns when a refused request may be tried again, 0 if
// the error does not say.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorFields returns the per-field messages of an application error, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Clip shortens user input echoed in an error message to about 64 bytes,
// cutting at a character boundary, so that a huge value never becomes a
// huge error.
func Clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	for i := 61; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "..."
		}
	}
	return "..."
}
