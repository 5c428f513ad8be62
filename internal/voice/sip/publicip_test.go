package sip

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/sdp"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// TestPublicIP: with PublicIP set (a node behind a 1:1 NAT), the INVITE's
// SDP and Contact carry the public address, while the sockets stay on the
// local one (the call still connects on loopback); without it they carry
// the local address.
func TestPublicIP(t *testing.T) {
	for _, public := range []string{"", "203.0.113.7"} {
		t.Run("public "+public, func(t *testing.T) {
			ph, err := voicetest.StartPhone(g711.ULaw)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(ph.Close)
			tr := newTestTrunk(t, ph.Port, func(c *Config) {
				if public != "" {
					c.PublicIP = netip.MustParseAddr(public)
				}
			})
			ctx := ctxT(t, 20*time.Second)
			_, call := dialPhone(ctx, t, tr, ph)
			want := "127.0.0.1"
			if public != "" {
				want = public
			}
			offer, err := sdp.ParseAnswer(call.Invite.Body(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := offer.Remote.Addr().String(); got != want {
				t.Errorf("SDP c= %s, want %s", got, want)
			}
			if !strings.Contains(string(call.Invite.Body()), "IN IP4 "+want) {
				t.Errorf("SDP o=/c= lack %s:\n%s", want, call.Invite.Body())
			}
			if ct := call.Invite.Contact(); ct == nil || ct.Address.Host != want {
				t.Errorf("Contact %v, want host %s", ct, want)
			}
		})
	}
}
