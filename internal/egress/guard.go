// Package egress decides which network addresses Parley may connect to on
// a tenant's behalf: webhook receivers now, SIP trunks next. A tenant
// names a host; without the guard Parley would connect from inside the
// installation's network, so a tenant could reach loopback services, the
// cloud metadata endpoint or private hosts, and learn from the answers
// which internal addresses exist.
//
// The guard is used twice for every connection: when a tenant saves an
// address (Resolve/Check, which answers with an error fit for the tenant)
// and when Parley connects (Control on the dialer, which judges the address
// actually dialled after DNS, so a name that resolves elsewhere later, as
// in DNS rebinding, is still refused). Its errors never show the address a
// name resolved to, and an unresolvable name is refused with the same
// words as one that resolves to an internal address, so tenants cannot
// probe the installation's DNS through it.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-cc/parley"
)

// Resolver looks host names up; *net.Resolver is one. Tests stub it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard checks hosts and addresses against the blocked ranges. The zero
// value refuses internal addresses and resolves with net.DefaultResolver.
type Guard struct {
	// AllowPrivate lets every address through (an installation setting,
	// for receivers and trunks on the installation's own network).
	AllowPrivate bool
	// Resolver resolves names; nil means net.DefaultResolver.
	Resolver Resolver
	// LookupTimeout bounds a name lookup; 0 means 5 s.
	LookupTimeout time.Duration
}

// Error is a refused host or address. Its message is fit for the tenant
// who named the host: it repeats what they wrote, never what a name
// resolved to.
type Error struct {
	Host   string // as the tenant wrote it (clipped)
	Reason string // for an address literal: "loopback", "private", ...; "" for a name
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s is a %s address: internal addresses are refused", e.Host, e.Reason)
	}
	// One answer whether the name does not resolve or resolves to an
	// internal address: which of the two is true is the installation's
	// business.
	return fmt.Sprintf("host %q must resolve to public addresses only (it does not resolve, or resolves to an internal address)", e.Host)
}

// refusedDial is what Control returns: the dial of an internal address was
// refused. Its text names no address, since dial errors can reach tenants
// (a webhook's delivery log).
var refusedDial = errors.New("connection refused by Parley: the host resolves to an internal address")

// IsRefused reports whether err is, or wraps, a refusal of the guard.
func IsRefused(err error) bool {
	var e *Error
	return errors.Is(err, refusedDial) || errors.As(err, &e)
}

// CheckIP refuses an address in a blocked range, unless AllowPrivate.
func (g Guard) CheckIP(ip netip.Addr) error {
	if g.AllowPrivate {
		return nil
	}
	if why := BlockedReason(ip); why != "" {
		return &Error{Host: ip.Unmap().String(), Reason: why}
	}
	return nil
}

// Resolve returns the addresses of host (a name or an address literal)
// when every one of them may be reached; otherwise an *Error. A caller
// that connects right away should dial the addresses returned rather than
// resolve the name again, and should still dial through Control.
func (g Guard) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" && !g.AllowPrivate {
			return nil, &Error{Host: clip(host), Reason: "link-local"} // a zone only makes sense on a local link
		}
		if err := g.CheckIP(ip); err != nil {
			return nil, err
		}
		return []netip.Addr{ip.Unmap()}, nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" {
		return nil, &Error{Host: clip(host)}
	}
	if !g.AllowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return nil, &Error{Host: clip(host)}
	}
	res := g.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	timeout := g.LookupTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ips, err := res.LookupNetIP(lctx, "ip", name)
	if err != nil || len(ips) == 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the caller gave up; not the host's fault
		}
		return nil, &Error{Host: clip(host)}
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if !g.AllowPrivate && BlockedReason(ip) != "" {
			return nil, &Error{Host: clip(host)} // never which address, nor which of several
		}
		out = append(out, ip.Unmap())
	}
	return out, nil
}

// ResolveHostPort is Resolve for "host:port" (a port of 1-65535), returning
// the addresses with the port.
func (g Guard) ResolveHostPort(ctx context.Context, hostport string) ([]netip.AddrPort, error) {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("%q is not host:port", clip(hostport))
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("%q has an invalid port", clip(hostport))
	}
	ips, err := g.Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]netip.AddrPort, len(ips))
	for i, ip := range ips {
		out[i] = netip.AddrPortFrom(ip, uint16(port))
	}
	return out, nil
}

// Control is a net.Dialer Control function: it refuses, at connect time,
// every address the guard blocks (TCP and UDP alike). Checking the address
// actually dialled is what stops DNS rebinding.
func (g Guard) Control(network, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return refusedDial
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || BlockedReason(ip) != "" {
		return refusedDial
	}
	return nil
}

// Dialer returns a dialer whose connections go through Control.
func (g Guard) Dialer(timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !g.AllowPrivate {
		d.Control = g.Control
	}
	return d
}

func clip(s string) string { return parley.Clip(s) }
