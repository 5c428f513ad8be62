package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-cc/parley"
)

// MaxURL bounds a webhook URL.
const MaxURL = 2048

// Ranges refused besides what netip classifies itself (loopback, RFC 1918
// and fc00::/7, link-local, multicast, unspecified).
var blockedPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},        // "this network"
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"}, // RFC 6598
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},        // IETF protocol assignments
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},       // benchmarking
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},         // incl. 255.255.255.255
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixto4 = netip.MustParsePrefix("2002::/16")
)

// BlockedReason says why ip must not receive webhooks ("loopback",
// "private", ...), or "" if it may. IPv4 addresses embedded in IPv6
// (mapped, NAT64, 6to4) are judged by their IPv4 part.
func BlockedReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixto4.Contains(ip):
			ip = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
	}
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, p := range blockedPrefixes {
		if p.prefix.Contains(ip) {
			return p.why
		}
	}
	return ""
}

// dialControl refuses, at connect time, every address BlockedReason
// refuses. Checking the address actually dialled (after DNS) is what stops
// DNS rebinding: a name that resolved to a public address when the webhook
// was saved and to 127.0.0.1 now is refused here.
func dialControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("webhook: refused to dial %q: %v", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook: refused to dial %q: not an IP address", address)
	}
	if why := BlockedReason(ip); why != "" {
		return fmt.Errorf("webhook: refused to connect to %s address %s", why, ip)
	}
	return nil
}

// Resolver looks host names up; *net.Resolver is one. Tests may stub it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL validates a webhook URL and returns it normalized: absolute
// http or https, a host, no credentials, no fragment, at most MaxURL
// bytes. Unless allowPrivate, the host must not be, or resolve to, a
// loopback, private, link-local, unspecified, multicast, CGNAT or reserved
// address. Errors are field errors on "url".
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

func checkHost(ctx context.Context, host string, res Resolver) error {
	refuse := func(why string, ip netip.Addr) error {
		return parley.FieldError("url", "must not point to a %s address (%s): internal addresses are refused", why, ip)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := BlockedReason(ip); why != "" {
			return refuse(why, ip)
		}
		return nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return parley.FieldError("url", "must not point to localhost: internal addresses are refused")
	}
	if res == nil {
		res = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := res.LookupNetIP(ctx, "ip", h)
	if err != nil || len(ips) == 0 {
		return parley.FieldError("url", "host %q cannot be resolved", parley.Clip(host))
	}
	for _, ip := range ips {
		if why := BlockedReason(ip); why != "" {
			return refuse(why, ip.Unmap())
		}
	}
	return nil
}
