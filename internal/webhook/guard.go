package webhook

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/egress"
)

// MaxURL bounds a webhook URL.
const MaxURL = 2048

// Resolver looks host names up; *net.Resolver is one. Tests may stub it.
type Resolver = egress.Resolver

// CheckURL validates a webhook URL and returns it normalized: absolute
// http or https, a host, no credentials, no fragment, at most MaxURL
// bytes. Unless allowPrivate, the host must not be, or resolve to, an
// address egress.BlockedReason refuses. Errors are field errors on "url".
func CheckURL(ctx context.Context, raw string, allowPrivate bool, res Resolver) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", parley.FieldError("url", "is required")
	}
	if len(raw) > MaxURL {
		return "", parley.FieldError("url", "must be at most %d bytes", MaxURL)
	}
	if err := parley.ValidText("url", raw, MaxURL); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return "", parley.FieldError("url", "must be an absolute http or https URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", parley.FieldError("url", "must be an http or https URL")
	}
	host := u.Hostname()
	if host == "" {
		return "", parley.FieldError("url", "must name a host")
	}
	if u.User != nil {
		return "", parley.FieldError("url", "must not contain credentials: receivers authenticate requests by their signature")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", parley.FieldError("url", "must not contain a fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", parley.FieldError("url", "has an invalid port")
		}
	}
	if !allowPrivate {
		if err := checkHost(ctx, host, res); err != nil {
			return "", err
		}
	}
	return u.String(), nil
}

// checkHost refuses a host that is, or resolves to, an internal address,
// in words that never show what a name resolved to (see package egress).
func checkHost(ctx context.Context, host string, res Resolver) error {
	_, err := egress.Guard{Resolver: res}.Resolve(ctx, host)
	var refused *egress.Error
	if errors.As(err, &refused) {
		return parley.FieldError("url", "%s", refused.Error())
	}
	return err
}
