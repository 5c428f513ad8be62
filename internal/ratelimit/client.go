package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
)

// ClientKey is the client a request is counted against: the peer's IPv4
// address, or the /64 of its IPv6 address (one host commonly holds a whole
// /64, so each of its addresses is not a client of its own).
// X-Forwarded-For is not trusted: behind a proxy, every client is the
// proxy (which should then limit on its own).
func ClientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}
