// Package sip is Parley's SIP trunk: a dialer.Trunk that places real calls
// with github.com/emiago/sipgo and carries their audio over RTP with the
// G.711, jitter-buffer and RFC 4733 code of internal/voice.
//
// Call control: Dial sends an INVITE with the SDP offer of package
// internal/voice/sdp (PCMU, PCMA, telephone-event), answers a 401/407
// digest challenge with the trunk's credentials, waits through 100/180/183
// up to the ring timeout (then CANCELs), ACKs the 200 and starts media.
// Final responses map to the dialer's results: 486/600/603 busy;
// 408/480/487 and the ring timeout no_answer; every other failure,
// including an unreachable trunk, fail. A BYE from the callee ends the
// call: Say and Listen then return ErrHungUp.
//
// Media: see media.go. Say synthesises at 8 kHz and plays the prompt on
// the 20 ms clock, its first frame at once; Listen returns the callee's
// next utterance as transcribed by the trunk's Recognizer, or the DTMF
// digits pressed. The utterance's end (vad.go): an adaptive energy VAD
// (thresholds follow the line's noise floor) and, for a closed grammar
// with a streaming recognizer, a complete expected phrase plus a short
// silence; for an open listen, a stable hypothesis that does not end in
// a continuation word plus a short silence; otherwise a longer silence. latency.go measures each turn. Without a Recognizer an utterance is reported
// as heard with empty text: the script knows the callee said something,
// not what. Both legs are recorded; Hangup returns the stereo WAV.
//
// Humans: a *Conn is a bridge.Line (package internal/voice/bridge), so a
// call can be bridged to an operator's browser or to a second call; the
// hook in the media loop is relay.go. External transfers (a second call
// through the trunk with DialTarget, or REFER) are in refer.go. Config's
// PublicIP goes in the SDP and Contact for a node behind a 1:1 NAT.
package sip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/egress"
	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/sdp"
)

// Recognizer transcribes one utterance. expect is the phrases the script
// expects, if any (a grammar hint). ok false means nothing intelligible.
// internal/speech's recognizers can satisfy it.
type Recognizer interface {
	Recognize(ctx context.Context, pcm audio.PCM, expect []string) (text string, ok bool, err error)
}

// CallSpeech is how one call speaks and listens.
type CallSpeech struct {
	Synth      audio.Synthesizer
	Voice      string     // the voice name for Synth; "" its default
	Recognizer Recognizer // nil: utterances are heard, not transcribed
}

// Config is one SIP trunk.
type Config struct {
	Name      string
	Host      string // the trunk's address (IP or name)
	Port      int    // 0 means 5060
	Transport string // "udp" (default) or "tcp"
	Username  string // digest credentials, if the trunk demands them
	Password  string
	CallerID  string        // the From user; Username, else "parley", if empty
	Codecs    []g711.Law    // offer order; nil means PCMU, PCMA
	Ring      time.Duration // ring timeout; 0 means 30 s

	// LocalIP is the address for SIP and RTP; unset, the one the system
	// routes to Host from.
	LocalIP netip.Addr
	// PublicIP, if set, is the address the trunk reaches this node at (a
	// 1:1 NAT, PARLEY_PUBLIC_IP): it goes in the SDP (c= and o=) and in
	// the Contact and Via of requests instead of the local address, which
	// the sockets still bind.
	PublicIP netip.Addr
	// NoResponse is how long to wait for any response to the INVITE
	// before calling the trunk unreachable; 0 means 5 s.
	NoResponse time.Duration
	// Guard, if set, judges Host at every dial (internal/egress): a host
	// that is, or now resolves to, an internal address is refused before
	// any packet is sent, so the result (fail) is the same whether a port
	// there is open or not. The INVITE goes to the address checked, not to
	// a second lookup (DNS rebinding). nil: any host (tests, and the
	// installation's own PARLEY_TRUNK_ALLOW_PRIVATE).
	Guard *egress.Guard
	// CPS is the calls per second the dialer starts through the trunk
	// (the trunk's calls_per_second); 0: the dialer's default.
	CPS int
	// Refer makes s.transfer() to a number or SIP URI a blind transfer by
	// REFER (the trunk or PBX calls the target and Parley leaves the call);
	// off, Parley dials the target and bridges the two calls.
	Refer bool
}

// CallsPerSecond is the dialer's rate for this trunk (dialer.RatedTrunk).
func (t *Trunk) CallsPerSecond() float64 { return float64(t.CPS) }

// destination is where the trunk's requests go: host:port, the host
// checked by the guard and replaced by the address it resolved to.
func (t *Trunk) destination(ctx context.Context) (string, bool, error) {
	if t.Guard == nil || t.Guard.AllowPrivate {
		return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), false, nil
	}
	ips, err := t.Guard.Resolve(ctx, t.Host)
	if err != nil {
		return "", false, err
	}
	return net.JoinHostPort(ips[0].String(), strconv.Itoa(t.Port)), true, nil
}

// Trunk places calls through one SIP trunk. Create it with New; it is
// safe for concurrent use.
type Trunk struct {
	Config
	Synth      audio.Synthesizer // prompts; audio.DefaultSynthesizer() if nil
	Recognizer Recognizer        // nil: utterances are heard, not transcribed
	VAD        VAD
	NoBargeIn  bool // keep playing prompts while the callee talks
	// JitterMin is the receive jitter buffer's minimum delay; 0 is
	// DefaultJitterMin. It grows by itself on a line with late packets.
	JitterMin time.Duration
	Log       *slog.Logger
	// Speech, if set, picks each call's voice and recognizer (the calling
	// agent's: see Pool). Without it, or when it fails (logged), a call
	// uses Synth with the espeak voice of req.Voice and Recognizer.
	Speech func(ctx context.Context, req dialer.CallRequest) (*CallSpeech, error)

	mu      sync.Mutex
	ua      *sipgo.UserAgent
	client  *sipgo.Client
	server  *sipgo.Server
	dialogs *sipgo.DialogClientCache
	local   netip.Addr
	contact sip.ContactHeader
	refers  sync.Map // dialog ID -> chan referProgress of a Refer in progress (refer.go)
}

// New returns a trunk for cfg after checking it.
func New(cfg Config) (*Trunk, error) {
	if cfg.Host == "" {
		return nil, errors.New("sip: trunk has no host")
	}
	if cfg.Port == 0 {
		cfg.Port = 5060
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("sip: trunk port %d", cfg.Port)
	}
	cfg.Transport = strings.ToLower(cfg.Transport)
	if cfg.Transport == "" {
		cfg.Transport = "udp"
	}
	if cfg.Transport != "udp" && cfg.Transport != "tcp" {
		return nil, fmt.Errorf("sip: transport %q (udp or tcp)", cfg.Transport)
	}
	if cfg.Ring <= 0 {
		cfg.Ring = 30 * time.Second
	}
	if cfg.NoResponse <= 0 {
		cfg.NoResponse = 5 * time.Second
	}
	return &Trunk{Config: cfg}, nil
}

// Close releases the trunk's SIP stack. Calls in progress end.
func (t *Trunk) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ua == nil {
		return nil
	}
	err := t.ua.Close()
	t.ua, t.client, t.server, t.dialogs = nil, nil, nil, nil
	return err
}

// localAddr is the address the system would send to dest (the trunk's
// host:port) from.
func (t *Trunk) localAddr(dest string) (netip.Addr, error) {
	if t.LocalIP.IsValid() {
		return t.LocalIP, nil
	}
	c, err := net.Dial("udp", dest)
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}

// stack starts the SIP user agent on first use; dest is the trunk's
// host:port as destination gave it.
func (t *Trunk) stack(dest string) (*sipgo.Client, *sipgo.DialogClientCache, netip.Addr, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ua != nil {
		return t.client, t.dialogs, t.local, nil
	}
	local, err := t.localAddr(dest)
	if err != nil {
		return nil, nil, netip.Addr{}, fmt.Errorf("sip: no route to %s: %w", t.Host, err)
	}
	advertised := t.advertised(local)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(t.fromUser()), sipgo.WithUserAgentHostname(advertised.String()))
	if err != nil {
		return nil, nil, netip.Addr{}, err
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(advertised.String()),
		sipgo.WithClientConnectionAddr(net.JoinHostPort(local.String(), "0")))
	if err != nil {
		ua.Close()
		return nil, nil, netip.Addr{}, err
	}
	server, err := sipgo.NewServer(ua)
	if err != nil {
		ua.Close()
		return nil, nil, netip.Addr{}, err
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: t.fromUser(), Host: advertised.String()}}
	if t.Transport == "tcp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", "tcp")
	}
	dialogs := sipgo.NewDialogClientCache(client, contact)
	server.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
	})
	server.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) { t.onNotify(dialogs, req, tx) })
	server.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	t.ua, t.client, t.server, t.dialogs, t.local, t.contact = ua, client, server, dialogs, local, contact
	return client, dialogs, local, nil
}

// advertised is the address the trunk is told to reach us at.
func (t *Trunk) advertised(local netip.Addr) netip.Addr {
	if t.PublicIP.IsValid() {
		return t.PublicIP.Unmap()
	}
	return local
}

func (t *Trunk) fromUser() string {
	switch {
	case t.CallerID != "":
		return t.CallerID
	case t.Username != "":
		return t.Username
	}
	return "parley"
}

// errNoResponse marks an INVITE nobody answered at all.
var errNoResponse = errors.New("sip: no response to INVITE")

// Dial calls req.MSISDN through the trunk.
func (t *Trunk) Dial(ctx context.Context, req dialer.CallRequest) (dialer.Conn, string, error) {
	c, result, err := t.dial(ctx, req, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		// A trunk that fails is a failed call, not a dialer error: the
		// dialog's retry logic handles it.
		t.log().Warn("sip call failed", "trunk", t.Name, "call_uuid", req.CallUUID, "error", err)
		return nil, dialer.ResultFail, nil
	}
	if c == nil {
		return nil, result, nil
	}
	return c, result, nil
}

// DialConn is Dial with the concrete connection, for tests and the
// benchmark; err is set only for failures (result fail).
func (t *Trunk) DialConn(ctx context.Context, req dialer.CallRequest) (*Conn, string, error) {
	return t.dial(ctx, req, nil)
}

func (t *Trunk) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.Default()
}

// dial calls req.MSISDN at the trunk, or target (a SIP URI, see
// DialTarget) through it when target is set.
func (t *Trunk) dial(ctx context.Context, req dialer.CallRequest, target *sip.Uri) (*Conn, string, error) {
	user := sanitizeUser(req.MSISDN)
	if user == "" && target == nil {
		return nil, dialer.ResultFail, fmt.Errorf("sip: bad number %q", req.MSISDN)
	}
	dest, guarded, err := t.destination(ctx)
	if err != nil {
		return nil, dialer.ResultFail, err
	}
	sp := t.callSpeech(ctx, req)
	client, dialogs, local, err := t.stack(dest)
	if err != nil {
		return nil, dialer.ResultFail, err
	}
	_ = client
	rtpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		return nil, dialer.ResultFail, fmt.Errorf("sip: RTP socket: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			rtpConn.Close()
		}
	}()
	rtpPort := rtpConn.LocalAddr().(*net.UDPAddr).Port
	offer, err := sdp.Offer{Addr: t.advertised(local), Port: rtpPort, Codecs: t.Codecs}.Marshal()
	if err != nil {
		return nil, dialer.ResultFail, err
	}

	recipient := sip.Uri{Scheme: "sip", User: user, Host: t.Host, Port: t.Port}
	if target != nil {
		recipient = *target.Clone()
	}
	if t.Transport == "tcp" {
		// sipgo takes the request's transport, and so the Via's, from
		// this parameter as written: "TCP" gives "Via: SIP/2.0/TCP", the
		// spelling every SIP stack expects (some compare it verbatim).
		if recipient.UriParams == nil {
			recipient.UriParams = sip.NewParams()
		}
		recipient.UriParams.Add("transport", "TCP")
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: t.fromUser(), Host: t.Host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	ct := sip.ContentTypeHeader("application/sdp")
	headers := []sip.Header{from, &ct}
	if req.CallUUID != "" {
		headers = append(headers, sip.NewHeader("X-Parley-Call", req.CallUUID))
	}
	invite := sip.NewRequest(sip.INVITE, recipient)
	invite.SetBody(offer)
	// Each INVITE gets its own Contact: sipgo would add the dialog
	// cache's one, shared by all calls, and fill in its port while
	// sending, a data race between concurrent dials.
	t.mu.Lock()
	invite.AppendHeader(t.contact.Clone())
	t.mu.Unlock()
	if tr, _ := recipient.UriParams.Get("transport"); tr != "" {
		invite.SetTransport(tr)
	}
	for _, h := range headers {
		invite.AppendHeader(h)
	}
	if target != nil || guarded {
		// The trunk is the outbound proxy: it gets the INVITE whatever
		// host the request line names; a guarded trunk gets it at the
		// address the guard checked.
		invite.SetDestination(dest)
	}
	sess, err := dialogs.WriteInvite(ctx, invite)
	if err != nil {
		return nil, dialer.ResultFail, fmt.Errorf("sip: INVITE: %w", err)
	}

	// Ring timeout, and a shorter one for a trunk that says nothing.
	waitCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	responded := false
	ringTimer := time.AfterFunc(t.Ring, func() { cancel(context.DeadlineExceeded) })
	defer ringTimer.Stop()
	silentTimer := time.AfterFunc(t.NoResponse, func() {
		mu.Lock()
		defer mu.Unlock()
		if !responded {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer silentTimer.Stop()
	err = sess.WaitAnswer(waitCtx, sipgo.AnswerOptions{
		Username: t.Username, Password: t.Password,
		OnResponse: func(r *sip.Response) error {
			mu.Lock()
			responded = true
			mu.Unlock()
			return nil
		},
	})
	if err != nil {
		defer sess.Close()
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		var dr *sipgo.ErrDialogResponse
		if errors.As(err, &dr) {
			return nil, resultOf(dr.Res.StatusCode), statusError(dr.Res)
		}
		switch cause := context.Cause(waitCtx); {
		case errors.Is(cause, sipgo.WaitAnswerForceCancelErr):
			return nil, dialer.ResultFail, errNoResponse
		case errors.Is(cause, context.DeadlineExceeded):
			return nil, dialer.ResultNoAnswer, nil // CANCEL sent
		}
		return nil, dialer.ResultFail, err
	}
	answeredAt := time.Now()
	ans, err := sdp.ParseAnswer(sess.InviteResponse.Body(), t.Codecs)
	if err != nil {
		_ = sess.Ack(ctx)
		byeCtx, c := context.WithTimeout(context.Background(), 5*time.Second)
		_ = sess.Bye(byeCtx)
		c()
		sess.Close()
		return nil, dialer.ResultFail, err
	}
	if err := sess.Ack(ctx); err != nil {
		sess.Close()
		return nil, dialer.ResultFail, fmt.Errorf("sip: ACK: %w", err)
	}
	dtmfPT := ans.DTMF
	if !ans.HasDTMF {
		dtmfPT = sdp.DTMFPayloadType // we decode what we offered
	}
	rec := audio.NewRecorder(audio.Rate)
	m := newMedia(rtpConn, net.UDPAddrFromAddrPort(ans.Remote), ans.Codec, ans.PayloadType, dtmfPT, rec, t.VAD, !t.NoBargeIn, answeredAt, cmp.Or(t.JitterMin, DefaultJitterMin))
	ok = true
	conn := &Conn{trunk: t, sess: sess, media: m, rec: rec, answered: answeredAt, synth: sp.Synth, voice: sp.Voice,
		recog: sp.Recognizer, hasDTMF: ans.HasDTMF}
	return conn, dialer.ResultAnswered, nil
}

// callSpeech resolves the call's voice and recognizer before dialing, so
// the callee never waits on it after answering.
func (t *Trunk) callSpeech(ctx context.Context, req dialer.CallRequest) CallSpeech {
	if t.Speech != nil {
		sp, err := t.Speech(ctx, req)
		if err == nil && sp != nil && sp.Synth != nil {
			return *sp
		}
		if err != nil {
			t.log().Warn("sip call speech settings unusable, using the trunk's defaults", "trunk", t.Name,
				"call_uuid", req.CallUUID, "error", err)
		}
	}
	sp := CallSpeech{Synth: t.Synth, Recognizer: t.Recognizer}
	if sp.Synth == nil {
		sp.Synth = audio.DefaultSynthesizer()
	}
	if v, platform, found := strings.Cut(req.Voice, "@"); found && platform == "espeak" {
		sp.Voice = v
	}
	return sp
}

// resultOf maps a final SIP status to a dialer result.
func resultOf(code int) string {
	switch code {
	case 486, 600, 603:
		return dialer.ResultBusy
	case 408, 480, 487:
		return dialer.ResultNoAnswer
	}
	return dialer.ResultFail
}

func statusError(r *sip.Response) error {
	if resultOf(r.StatusCode) != dialer.ResultFail {
		return nil
	}
	return fmt.Errorf("sip: INVITE answered %d %s", r.StatusCode, r.Reason)
}

// sanitizeUser keeps the characters of a telephone number (RFC 3966
// visual separators dropped) and refuses anything else, so a number can't
// smuggle URI syntax into the request line.
func sanitizeUser(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '*':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	return b.String()
}
