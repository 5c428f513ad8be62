package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/voice/g711"
)

func TestOffer(t *testing.T) {
	b, err := Offer{Addr: netip.MustParseAddr("192.0.2.10"), Port: 40000, SessionID: 42}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"v=0\r\n", "o=- 42 42 IN IP4 192.0.2.10\r\n", "c=IN IP4 192.0.2.10\r\n",
		"m=audio 40000 RTP/AVP 0 8 101\r\n", "a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:8 PCMA/8000\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n", "a=fmtp:101 0-16\r\n", "a=ptime:20\r\n", "a=sendrecv\r\n", "t=0 0\r\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("offer lacks %q:\n%s", want, s)
		}
	}
	// Our own offer parses as an answer.
	a, err := ParseAnswer(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Codec != g711.ULaw || a.DTMF != 101 || a.Remote.String() != "192.0.2.10:40000" {
		t.Errorf("round trip: %+v", a)
	}
	b, _ = Offer{Addr: netip.MustParseAddr("192.0.2.10"), Port: 4000, Codecs: []g711.Law{g711.ALaw}}.Marshal()
	if !strings.Contains(string(b), "m=audio 4000 RTP/AVP 8 101\r\n") {
		t.Errorf("PCMA-only offer:\n%s", b)
	}
	if _, err := (Offer{Port: 1}).Marshal(); err == nil {
		t.Error("offer without address accepted")
	}
}

func TestParseCodecs(t *testing.T) {
	l, err := ParseCodecs("pcma, PCMU,pcma")
	if err != nil || len(l) != 2 || l[0] != g711.ALaw || l[1] != g711.ULaw {
		t.Errorf("got %v %v", l, err)
	}
	if l, _ := ParseCodecs(""); len(l) != 2 || l[0] != g711.ULaw {
		t.Errorf("default %v", l)
	}
	if _, err := ParseCodecs("opus"); err == nil {
		t.Error("opus accepted")
	}
}

var answers = []struct {
	name    string
	sdp     string
	offered []g711.Law
	codec   g711.Law
	pt      uint8
	dtmf    uint8
	hasDTMF bool
	remote  string
	dir     string
	err     error
}{
	{name: "asterisk", sdp: `v=0
o=- 1717171717 1717171719 IN IP4 10.0.0.5
s=Asterisk
c=IN IP4 10.0.0.5
t=0 0
m=audio 17424 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
`, codec: g711.ALaw, pt: 8, dtmf: 101, hasDTMF: true, remote: "10.0.0.5:17424", dir: "sendrecv"},
	{name: "freeswitch", sdp: "v=0\r\no=FreeSWITCH 1717000000 1717000001 IN IP4 203.0.113.7\r\ns=FreeSWITCH\r\nc=IN IP4 203.0.113.7\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=ptime:20\r\na=rtcp:23457 IN IP4 203.0.113.7\r\n",
		codec: g711.ULaw, pt: 0, dtmf: 96, hasDTMF: true, remote: "203.0.113.7:23456", dir: "sendrecv"},
	{name: "baresip", sdp: `v=0
o=- 1234 5678 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
a=tool:baresip 1.0.0
m=audio 10000 RTP/AVP 0 101
b=AS:64
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=ssrc:12345 cname:abc
a=rtcp-rsize
a=ptime:20
`, codec: g711.ULaw, pt: 0, dtmf: 101, hasDTMF: true, remote: "127.0.0.1:10000", dir: "sendrecv"},
	{name: "sipp no rtpmap, media-level c=", sdp: `v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
t=0 0
m=audio 6000 RTP/AVP 0
c=IN IP4 127.0.0.2
`, codec: g711.ULaw, pt: 0, remote: "127.0.0.2:6000", dir: "sendrecv"},
	{name: "answerer prefers PCMA but we offered PCMU only", sdp: "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5004 RTP/AVP 8 0\r\na=sendonly\r\n",
		offered: []g711.Law{g711.ULaw}, codec: g711.ULaw, pt: 0, remote: "1.2.3.4:5004", dir: "sendonly"},
	{name: "no common codec", sdp: "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5004 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n", err: ErrNoCommonCodec},
	{name: "rejected", sdp: "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n", err: ErrRejected},
	{name: "video only", sdp: "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5006 RTP/AVP 96\r\n", err: ErrNoAudio},
	{name: "IPv6", sdp: "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0\r\n", codec: g711.ULaw, remote: "[2001:db8::1]:7078", dir: "sendrecv"},
}

func TestParseAnswer(t *testing.T) {
	for _, tc := range answers {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAnswer([]byte(tc.sdp), tc.offered)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Codec != tc.codec || a.PayloadType != tc.pt || a.DTMF != tc.dtmf || a.HasDTMF != tc.hasDTMF ||
				a.Remote.String() != tc.remote || a.Direction != tc.dir {
				t.Errorf("got %+v", a)
			}
		})
	}
	if _, err := ParseAnswer([]byte("garbage"), nil); err == nil {
		t.Error("garbage parsed")
	}
	if _, err := ParseAnswer([]byte("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n"), nil); err == nil {
		t.Error("answer without c= parsed")
	}
}
