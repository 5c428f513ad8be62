// Package voicetest holds in-process stand-ins for the far ends of Parley's
// calls, for the voice tests and the bridge benchmark: Phone, a SIP phone
// (user agent server) on loopback that answers every call in PCMU and
// gives the test its RTP; Browser, a pion WebRTC peer that offers and
// answers like an operator's browser; and the signal helpers that tell
// audio apart (tones, Goertzel power, RMS).
package voicetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	pionrtp "github.com/pion/rtp"

	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/rtp"
	"github.com/parley-cc/parley/internal/voice/sdp"
)

// Phone answers every INVITE it gets on 127.0.0.1:Port at once, in its
// Law.
type Phone struct {
	Port int
	Law  g711.Law

	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	conn    net.PacketConn
	dialogs *sipgo.DialogServerCache
	calls   chan *PhoneCall

	mu   sync.Mutex
	live map[string]*PhoneCall // by Call-ID
}

// StartPhone starts a phone answering in law on a free loopback port.
func StartPhone(law g711.Law) (*Phone, error) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("voicetest"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		conn.Close()
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		ua.Close()
		conn.Close()
		return nil, err
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		ua.Close()
		conn.Close()
		return nil, err
	}
	p := &Phone{Port: port, Law: law, ua: ua, srv: srv, conn: conn, calls: make(chan *PhoneCall, 1024), live: map[string]*PhoneCall{},
		dialogs: sipgo.NewDialogServerCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1", Port: port}})}
	srv.OnInvite(p.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.dialogs.ReadAck(req, tx) })
	srv.OnBye(p.onBye)
	go func() { _ = srv.ServeUDP(conn) }()
	return p, nil
}

// Close ends the phone; calls still up get no BYE.
func (p *Phone) Close() {
	p.mu.Lock()
	live := p.live
	p.live = map[string]*PhoneCall{}
	p.mu.Unlock()
	for _, c := range live {
		c.end()
	}
	p.srv.Close()
	p.ua.Close()
	p.conn.Close()
}

// Next returns the next call the phone answered.
func (p *Phone) Next(ctx context.Context) (*PhoneCall, error) {
	select {
	case c := <-p.calls:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	offer, err := sdp.ParseAnswer(req.Body(), nil)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptable, "Not Acceptable Here", nil))
		return
	}
	dlg, err := p.dialogs.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, err.Error(), nil))
		return
	}
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		_ = dlg.Respond(sip.StatusInternalServerError, "No RTP port", nil)
		return
	}
	c := &PhoneCall{User: req.Recipient.User, Law: p.Law, Invite: req, rtp: rtpConn, remote: net.UDPAddrFromAddrPort(offer.Remote),
		pk: rtp.NewPacketizer(p.Law.PayloadType()), dlg: dlg, done: make(chan struct{}), phone: p, callID: req.CallID().Value()}
	answer, err := sdp.Offer{Addr: netip.MustParseAddr("127.0.0.1"), Port: rtpConn.LocalAddr().(*net.UDPAddr).Port,
		Codecs: []g711.Law{p.Law}}.Marshal()
	if err == nil {
		err = dlg.RespondSDP(answer)
	}
	if err != nil {
		rtpConn.Close()
		return
	}
	p.mu.Lock()
	p.live[c.callID] = c
	p.mu.Unlock()
	go c.readLoop()
	p.calls <- c
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if err := p.dialogs.ReadBye(req, tx); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	p.mu.Lock()
	c := p.live[req.CallID().Value()]
	delete(p.live, req.CallID().Value())
	p.mu.Unlock()
	if c != nil {
		c.end()
	}
}

// PhoneCall is one answered call: its RTP, sent and heard by the test.
// The phone's answer has its Law and telephone-event.
type PhoneCall struct {
	User   string       // the request-URI's user part: the number dialled
	Law    g711.Law     // the call's codec
	Invite *sip.Request // the INVITE that made the call

	phone  *Phone
	callID string
	dlg    *sipgo.DialogServerSession
	rtp    *net.UDPConn
	remote *net.UDPAddr

	sendMu sync.Mutex
	pk     *rtp.Packetizer
	wire   []byte

	onPacket atomic.Pointer[func(*pionrtp.Packet, time.Time)]
	done     chan struct{}
	endOnce  sync.Once
}

// Send sends one packet of frame (in the call's Law) now; the test keeps
// the 20 ms pace.
func (c *PhoneCall) Send(frame []byte) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if cap(c.wire) < 12+len(frame) {
		c.wire = make([]byte, 0, 12+max(len(frame), 1488))
	}
	pkt := c.pk.Audio(frame)
	n, err := pkt.Header.MarshalTo(c.wire[:cap(c.wire)])
	if err != nil {
		return err
	}
	_, err = c.rtp.WriteToUDP(append(c.wire[:n], frame...), c.remote)
	return err
}

// OnPacket sets the function every RTP packet from Parley is given to,
// with its arrival time, on the call's reading goroutine.
func (c *PhoneCall) OnPacket(f func(pkt *pionrtp.Packet, at time.Time)) {
	c.onPacket.Store(&f)
}

func (c *PhoneCall) readLoop() {
	buf := make([]byte, 1500)
	for {
		n, _, err := c.rtp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		at := time.Now()
		var pkt pionrtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if f := c.onPacket.Load(); f != nil {
			(*f)(&pkt, at)
		}
	}
}

// Hangup sends BYE.
func (c *PhoneCall) Hangup(ctx context.Context) error {
	select {
	case <-c.done:
		return errors.New("voicetest: call already ended")
	default:
	}
	err := c.dlg.Bye(ctx)
	c.phone.mu.Lock()
	delete(c.phone.live, c.callID)
	c.phone.mu.Unlock()
	c.end()
	if err != nil {
		return fmt.Errorf("voicetest: BYE: %w", err)
	}
	return nil
}

// Done is closed when the call ended (BYE either way, or Close).
func (c *PhoneCall) Done() <-chan struct{} { return c.done }

func (c *PhoneCall) end() {
	c.endOnce.Do(func() {
		close(c.done)
		c.rtp.Close()
		c.dlg.Close()
	})
}
