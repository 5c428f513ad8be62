package egress

import "net/netip"

// Ranges refused besides what netip classifies itself (loopback, RFC 1918
// and fc00::/7, link-local, multicast, unspecified). Documentation ranges
// (192.0.2.0/24, 2001:db8::/32, ...) are not refused: nothing routes them,
// so they reach nothing.
var blockedPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},        // "this network"
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"}, // RFC 6598
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},        // IETF protocol assignments
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},       // benchmarking
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},         // incl. 255.255.255.255
	{netip.MustParsePrefix("2001:2::/48"), "reserved"},         // benchmarking
	// Local-use NAT64 (RFC 8215): translated to IPv4 addresses of the
	// operator's choosing, so to internal ones as readily as public ones.
	{netip.MustParsePrefix("64:ff9b:1::/48"), "private"},
	{netip.MustParsePrefix("fec0::/10"), "private"}, // site-local (deprecated, still routed by some)
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 (RFC 6052): the IPv4 address in the low 32 bits
	sixto4    = netip.MustParsePrefix("2002::/16")    // 6to4: the IPv4 address in bits 16-47
	global6   = netip.MustParsePrefix("2000::/3")     // the only IPv6 global unicast space allocated
	translate = netip.MustParsePrefix("::ffff:0:0:0/96")
)

// BlockedReason says why ip must not be connected to on a tenant's behalf
// ("loopback", "private", ...), or "" if it may. IPv4 addresses embedded in
// IPv6 (mapped, well-known NAT64, 6to4) are judged by their IPv4 part.
// Every other IPv6 address outside 2000::/3, the global unicast space, is
// refused: IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0:0/96)
// addresses, local-use NAT64, discard-only and what IANA has not allocated
// reach either nothing or something local.
func BlockedReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.Unmap().WithZone("")
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
	if ip.Is6() && translate.Contains(ip) {
		return "translated IPv4"
	}
	if ip.Is6() && !global6.Contains(ip) {
		return "reserved"
	}
	return ""
}
