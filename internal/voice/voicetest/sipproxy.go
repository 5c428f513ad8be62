package voicetest

import (
	"crypto/sha1"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// SIPProxy stands in for the carrier behind a trunk: a stateless SIP
// proxy (RFC 3261 §16.11) on loopback UDP. A trunk sends every INVITE to
// one address whatever party it calls; this proxy sends each request on
// by its Request-URI's user to the address that user is at (rewriting
// the Request-URI to it, as a proxy does from its location service), and
// each response back along its Via headers. It does not Record-Route:
// requests within a call go between the two ends directly. So two
// baresip processes, a callee and a transfer target, are both reachable
// through one trunk.
type SIPProxy struct {
	Port int // UDP, on 127.0.0.1

	conn   *net.UDPConn
	routes map[string]netip.AddrPort

	mu      sync.Mutex
	invites []string // the Request-URIs of the INVITEs received, in order
}

// StartSIPProxy runs a proxy routing each user (the Request-URI's user
// part) to a UDP port on 127.0.0.1, until the test ends. A user it has no
// route for gets 404, unless the Request-URI names another address,
// where the request goes as it is.
func StartSIPProxy(t testing.TB, routes map[string]int) *SIPProxy {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &SIPProxy{Port: conn.LocalAddr().(*net.UDPAddr).Port, conn: conn, routes: map[string]netip.AddrPort{}}
	for user, port := range routes {
		p.routes[user] = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return p
}

// Invites are the Request-URIs of the INVITEs the proxy received, as
// they arrived (before it rewrote them), in order.
func (p *SIPProxy) Invites() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.invites...)
}

func (p *SIPProxy) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue // keep-alives and garbage
		}
		switch m := msg.(type) {
		case *sip.Request:
			p.request(m, from)
		case *sip.Response:
			p.response(m)
		}
	}
}

func (p *SIPProxy) self(u sip.Uri) bool {
	return (u.Host == "127.0.0.1" || u.Host == "localhost") && u.Port == p.Port
}

func (p *SIPProxy) request(req *sip.Request, from netip.AddrPort) {
	via := req.Via()
	if via == nil {
		return
	}
	// Where the response goes back to: the address the request came from
	// (received, rport), whatever its Via says.
	via.Params.Add("received", from.Addr().String())
	if via.Params.Has("rport") {
		via.Params.Add("rport", strconv.Itoa(int(from.Port())))
	}
	if req.Method == sip.INVITE {
		p.mu.Lock()
		p.invites = append(p.invites, req.Recipient.String())
		p.mu.Unlock()
	}
	if mf := req.MaxForwards(); mf != nil {
		if mf.Val() <= 1 {
			p.reply(req, 483, "Too Many Hops")
			return
		}
		mf.Dec()
	}
	var dest netip.AddrPort
	if to, ok := p.routes[req.Recipient.User]; ok {
		dest = to
		req.Recipient.Host, req.Recipient.Port = to.Addr().String(), int(to.Port())
	} else if addr, err := netip.ParseAddr(req.Recipient.Host); err == nil && !p.self(req.Recipient) {
		port := req.Recipient.Port
		if port == 0 {
			port = 5060
		}
		dest = netip.AddrPortFrom(addr, uint16(port))
	} else {
		p.reply(req, 404, "Not Found")
		return
	}
	// A stateless proxy's branch is a function of the request's own: a
	// retransmission gets the same one, and so does the CANCEL of an
	// INVITE (and the ACK of its failure), which carry the INVITE's.
	branch, _ := via.Params.Get("branch")
	sum := sha1.Sum([]byte(branch + "|" + req.Recipient.String()))
	mine := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
		Host: "127.0.0.1", Port: p.Port, Params: sip.NewParams()}
	mine.Params.Add("branch", "z9hG4bK"+hex.EncodeToString(sum[:10]))
	req.PrependHeader(mine)
	_, _ = p.conn.WriteToUDPAddrPort([]byte(req.String()), dest)
}

// reply answers req itself (no transaction: a retransmission is
// answered again), except an ACK, which has no answer.
func (p *SIPProxy) reply(req *sip.Request, code int, reason string) {
	if req.Method == sip.ACK {
		return
	}
	p.back(sip.NewResponseFromRequest(req, code, reason, nil))
}

func (p *SIPProxy) response(res *sip.Response) {
	via := res.Via()
	if via == nil || via.Host != "127.0.0.1" || via.Port != p.Port {
		return // not through this proxy
	}
	res.RemoveHeader("Via")
	p.back(res)
}

// back sends a response to its top Via's address.
func (p *SIPProxy) back(res *sip.Response) {
	via := res.Via()
	if via == nil {
		return
	}
	host := via.Params.GetOr("received", via.Host)
	port := via.Port
	if rp, err := strconv.Atoi(via.Params.GetOr("rport", "")); err == nil && rp > 0 {
		port = rp
	}
	if port == 0 {
		port = 5060
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return
	}
	_, _ = p.conn.WriteToUDPAddrPort([]byte(res.String()), netip.AddrPortFrom(addr, uint16(port)))
}
