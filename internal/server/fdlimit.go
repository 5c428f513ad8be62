package server

// The node's file descriptors are its scarcest resource under load: every
// call holds sockets (RTP, SIP over TCP), every WebSocket and HTTP client
// one, the database pool some. A node raises its soft limit to the hard
// one at start and sizes its call cap from what it got, so that calls
// cannot take the descriptors the HTTP listener needs.

const (
	// fdsPerCall is what one call may hold: its RTP socket, a share of
	// the trunk's SIP transport, a recording or media file, and slack.
	fdsPerCall = 4
	// fdReserve is kept for everything but calls: the listeners, the
	// database pool, WebSockets, webhook and S3 clients.
	fdReserve = 1024
	// minCallCap and maxCallCap bound the derived default: a node with
	// few descriptors still dials, one with millions does not start more
	// calls than a node's CPUs and bandwidth carry.
	minCallCap = 16
	maxCallCap = 2000
)

// CallCapFor is the default per-node call cap for a soft file limit.
func CallCapFor(soft uint64) int {
	if soft <= fdReserve+minCallCap*fdsPerCall {
		return minCallCap
	}
	return int(min(uint64(maxCallCap), (soft-fdReserve)/fdsPerCall))
}
