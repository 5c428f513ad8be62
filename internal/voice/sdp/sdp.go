// Package sdp builds the SDP offer Parley puts in an outgoing INVITE and
// reads the callee's answer (RFC 3264 offer/answer, RFC 4566 syntax), on
// top of github.com/pion/sdp/v3.
//
// The offer is one audio stream: G.711 μ-law (PCMU, payload type 0) and
// A-law (PCMA, 8) in the configured order of preference, RFC 4733
// telephone-event/8000 (dynamic payload type 101, events 0-16) for DTMF,
// 20 ms packets, sendrecv. The answer names the codec the callee chose
// (the first of its formats that Parley offered), the payload type it uses
// for telephone-event, if any, and where to send RTP.
package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	pion "github.com/pion/sdp/v3"

	"github.com/parley-cc/parley/internal/voice/g711"
)

// DTMFPayloadType is the payload type offered for telephone-event/8000.
const DTMFPayloadType = 101

// Offer describes Parley's side of the media session.
type Offer struct {
	Addr      netip.Addr // local RTP address, the c= line
	Port      int        // local RTP port, the m= line
	Codecs    []g711.Law // order of preference; nil means PCMU then PCMA
	SessionID uint64     // o= session id; zero picks one from the clock
	Username  string     // o= username; "-" if empty
}

// ParseCodecs reads a codec list such as "PCMU,PCMA" (case-insensitive,
// also "ulaw"/"alaw"). Empty means the default, PCMU then PCMA.
func ParseCodecs(s string) ([]g711.Law, error) {
	var out []g711.Law
	seen := map[g711.Law]bool{}
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		var l g711.Law
		switch strings.ToUpper(f) {
		case "PCMU", "ULAW", "G711U":
			l = g711.ULaw
		case "PCMA", "ALAW", "G711A":
			l = g711.ALaw
		default:
			return nil, fmt.Errorf("sdp: unknown codec %q (PCMU or PCMA)", f)
		}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return []g711.Law{g711.ULaw, g711.ALaw}, nil
	}
	return out, nil
}

// Marshal returns the offer's SDP text.
func (o Offer) Marshal() ([]byte, error) {
	if !o.Addr.IsValid() {
		return nil, errors.New("sdp: offer has no address")
	}
	if o.Port <= 0 || o.Port > 65535 {
		return nil, fmt.Errorf("sdp: offer port %d", o.Port)
	}
	codecs := o.Codecs
	if len(codecs) == 0 {
		codecs = []g711.Law{g711.ULaw, g711.ALaw}
	}
	id := o.SessionID
	if id == 0 {
		id = uint64(time.Now().UnixNano()) & 0x7FFFFFFFFFFFFFFF
	}
	user := o.Username
	if user == "" {
		user = "-"
	}
	addrType := "IP4"
	addr := o.Addr.Unmap()
	if addr.Is6() {
		addrType = "IP6"
	}
	conn := &pion.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &pion.Address{Address: addr.String()}}
	var formats []string
	var attrs []pion.Attribute
	for _, l := range codecs {
		pt := strconv.Itoa(int(l.PayloadType()))
		formats = append(formats, pt)
		attrs = append(attrs, pion.NewAttribute("rtpmap", pt+" "+l.String()+"/8000"))
	}
	dtmf := strconv.Itoa(DTMFPayloadType)
	formats = append(formats, dtmf)
	attrs = append(attrs,
		pion.NewAttribute("rtpmap", dtmf+" telephone-event/8000"),
		pion.NewAttribute("fmtp", dtmf+" 0-16"),
		pion.NewAttribute("ptime", "20"),
		pion.NewPropertyAttribute("sendrecv"),
	)
	s := &pion.SessionDescription{
		Origin: pion.Origin{Username: user, SessionID: id, SessionVersion: id, NetworkType: "IN",
			AddressType: addrType, UnicastAddress: addr.String()},
		SessionName:           "Parley",
		ConnectionInformation: conn,
		TimeDescriptions:      []pion.TimeDescription{{}},
		MediaDescriptions: []*pion.MediaDescription{{
			MediaName: pion.MediaName{Media: "audio", Port: pion.RangedPort{Value: o.Port},
				Protos: []string{"RTP", "AVP"}, Formats: formats},
			Attributes: attrs,
		}},
	}
	return s.Marshal()
}

// Answer is what Parley needs of the callee's SDP.
type Answer struct {
	Codec       g711.Law       // the audio codec to send and expect
	PayloadType uint8          // its payload type (0 or 8)
	DTMF        uint8          // telephone-event payload type; 0 if none
	HasDTMF     bool           // the callee accepted telephone-event
	Remote      netip.AddrPort // where to send RTP
	Direction   string         // sendrecv, sendonly, recvonly or inactive
}

// Errors of ParseAnswer.
var (
	ErrNoAudio       = errors.New("sdp: answer has no audio stream")
	ErrNoCommonCodec = errors.New("sdp: answer has no codec in common with the offer (PCMU, PCMA)")
	ErrRejected      = errors.New("sdp: answer rejected the audio stream (port 0)")
)

// ParseAnswer reads an SDP answer. offered lists the codecs of the offer
// (nil: both): the first format of the audio stream that is one of them
// is the codec (RFC 3264 §6.1 puts the answerer's preference first).
// Static payload types 0 and 8 are recognised without an rtpmap; dynamic
// ones by their rtpmap encoding name.
func ParseAnswer(b []byte, offered []g711.Law) (Answer, error) {
	var s pion.SessionDescription
	if err := s.UnmarshalString(normalize(string(b))); err != nil {
		return Answer{}, fmt.Errorf("sdp: %w", err)
	}
	if len(offered) == 0 {
		offered = []g711.Law{g711.ULaw, g711.ALaw}
	}
	var m *pion.MediaDescription
	for _, d := range s.MediaDescriptions {
		if d.MediaName.Media == "audio" {
			m = d
			break
		}
	}
	if m == nil {
		return Answer{}, ErrNoAudio
	}
	if m.MediaName.Port.Value == 0 {
		return Answer{}, ErrRejected
	}
	rtpmap := map[uint8]string{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptText, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		pt, err := strconv.ParseUint(ptText, 10, 7)
		if !ok || err != nil {
			continue
		}
		rtpmap[uint8(pt)] = strings.ToLower(strings.TrimSpace(enc))
	}
	var ans Answer
	chosen := false
	for _, f := range m.MediaName.Formats {
		v, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue
		}
		pt := uint8(v)
		enc, mapped := rtpmap[pt]
		name, _, _ := strings.Cut(enc, "/")
		switch {
		case name == "telephone-event":
			if !ans.HasDTMF {
				ans.DTMF, ans.HasDTMF = pt, true
			}
			continue
		case !mapped && pt == 0, name == "pcmu":
			if !chosen && offeredLaw(offered, g711.ULaw) {
				ans.Codec, ans.PayloadType, chosen = g711.ULaw, pt, true
			}
		case !mapped && pt == 8, name == "pcma":
			if !chosen && offeredLaw(offered, g711.ALaw) {
				ans.Codec, ans.PayloadType, chosen = g711.ALaw, pt, true
			}
		}
	}
	if !chosen {
		return Answer{}, ErrNoCommonCodec
	}
	ci := m.ConnectionInformation
	if ci == nil || ci.Address == nil {
		ci = s.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return Answer{}, errors.New("sdp: answer has no connection address")
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return Answer{}, fmt.Errorf("sdp: answer connection address %q is not an IP address", ci.Address.Address)
	}
	ans.Remote = netip.AddrPortFrom(addr, uint16(m.MediaName.Port.Value))
	ans.Direction = "sendrecv"
	for _, dir := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
		if _, ok := m.Attribute(dir); ok {
			ans.Direction = dir
			break
		}
		if _, ok := s.Attribute(dir); ok {
			ans.Direction = dir
		}
	}
	return ans, nil
}

func offeredLaw(offered []g711.Law, l g711.Law) bool {
	for _, o := range offered {
		if o == l {
			return true
		}
	}
	return false
}

// normalize makes line endings CRLF-or-LF tolerant and drops blank lines,
// which some endpoints leave at the end of a body.
func normalize(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.String()
}
