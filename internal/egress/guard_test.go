package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBlockedReason(t *testing.T) {
	for ip, want := range map[string]string{
		"127.0.0.1":        "loopback",
		"127.9.9.9":        "loopback",
		"::1":              "loopback",
		"::ffff:127.0.0.1": "loopback",
		"::ffff:7f00:1":    "loopback", // the same, written in hex
		"10.0.0.1":         "private",
		"172.16.5.4":       "private",
		"192.168.1.1":      "private",
		"fd00::1":          "private",
		"169.254.169.254":  "link-local",
		"fe80::1":          "link-local",
		"fe80::1%eth0":     "link-local",
		"0.0.0.0":          "unspecified",
		"0.1.2.3":          "unspecified",
		"::":               "unspecified",
		"224.0.0.1":        "link-local", // link-local multicast
		"239.1.2.3":        "multicast",
		"ff02::1":          "link-local", // link-local multicast
		"ff0e::1":          "multicast",
		"100.64.0.1":       "shared (CGNAT)",
		"100.127.255.254":  "shared (CGNAT)",
		"255.255.255.255":  "reserved",
		"198.18.0.1":       "reserved",
		"64:ff9b::a00:1":   "private",  // well-known NAT64 of 10.0.0.1
		"64:ff9b::7f00:1":  "loopback", // well-known NAT64 of 127.0.0.1
		"2002:7f00:1::1":   "loopback", // 6to4 of 127.0.0.1
		// IPv4-compatible (::/96, deprecated): reach an IPv4 host through
		// automatic tunnels, or nothing; never a public receiver.
		"::7f00:1":  "reserved",
		"::a00:1":   "reserved",
		"::808:808": "reserved",
		// IPv4-translated (::ffff:0:0:0/96, SIIT).
		"::ffff:0:7f00:1":  "translated IPv4",
		"::ffff:0:808:808": "translated IPv4",
		// Local-use NAT64 (RFC 8215): translated to whatever the network says.
		"64:ff9b:1::a00:1":      "private",
		"64:ff9b:1:ffff::808:8": "private",
		"100::1":                "reserved", // discard-only
		"fec0::1":               "private",  // site-local
		"2001:2::1":             "reserved", // benchmarking
		"5f00::1":               "reserved", // outside 2000::/3
		// Public.
		"8.8.8.8":          "",
		"93.184.216.34":    "",
		"100.128.0.1":      "",
		"2001:4860::8888":  "",
		"2606:4700::1111":  "",
		"64:ff9b::808:808": "", // well-known NAT64 of 8.8.8.8
		"2002:808:808::1":  "", // 6to4 of 8.8.8.8
		"192.0.2.7":        "", // documentation: routes nowhere
	} {
		if got := BlockedReason(netip.MustParseAddr(ip)); got != want {
			t.Errorf("BlockedReason(%s) = %q, want %q", ip, got, want)
		}
	}
}

// stubResolver answers names from a table, as DNS would.
type stubResolver map[string][]string

func (r stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range r[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

var stub = stubResolver{
	"public.example":   {"93.184.216.34", "2606:4700::1111"},
	"internal.example": {"10.1.2.3"},
	"mixed.example":    {"93.184.216.34", "127.0.0.1"},
	"mapped.example":   {"::ffff:10.9.8.7"},
	"compat.example":   {"::a09:807"},
	"nat64.example":    {"64:ff9b:1::a09:807"},
}

// TestResolveHidesAddresses: a name is refused in the same words whether it
// does not resolve or resolves (even partly) to an internal address, and
// the words never show the address: a tenant cannot map the
// installation's internal DNS through the guard.
func TestResolveHidesAddresses(t *testing.T) {
	ctx := context.Background()
	g := Guard{Resolver: stub}
	ips, err := g.Resolve(ctx, "public.example")
	if err != nil || len(ips) != 2 {
		t.Fatalf("public.example: %v, %v", ips, err)
	}
	for _, host := range []string{"internal.example", "mixed.example", "mapped.example", "compat.example", "nat64.example",
		"nowhere.example", "localhost", "db.localhost", "INTERNAL.example."} {
		_, err := g.Resolve(ctx, host)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %v, want an *Error", host, err)
			continue
		}
		msg := err.Error()
		for _, leak := range []string{"10.1.2.3", "127.0.0.1", "10.9.8.7", "a09:807", "private", "loopback", "reserved"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%s: %q reveals %q", host, msg, leak)
			}
		}
		if want := (&Error{Host: host}).Error(); msg != want {
			t.Errorf("%s: %q, want the one answer %q", host, msg, want)
		}
	}
	// An address literal is the tenant's own text: it may be named.
	_, err = g.Resolve(ctx, "[::ffff:0:7f00:1]")
	if err == nil || !strings.Contains(err.Error(), "::ffff:0:7f00:1 is a translated IPv4 address") {
		t.Errorf("translated literal: %v", err)
	}
	if _, err := g.Resolve(ctx, "fe80::1%eth0"); err == nil {
		t.Errorf("a zoned literal passed")
	}
	// AllowPrivate lets everything resolvable through.
	open := Guard{AllowPrivate: true, Resolver: stub}
	for _, host := range []string{"internal.example", "localhost", "127.0.0.1", "::7f00:1"} {
		if host == "localhost" {
			continue // the stub does not know it; net.DefaultResolver would
		}
		if _, err := open.Resolve(ctx, host); err != nil {
			t.Errorf("AllowPrivate %s: %v", host, err)
		}
	}
	// A caller that gives up gets its context's error, not a refusal.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Resolve(cctx, "nowhere.example"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled lookup: %v", err)
	}
}

func TestResolveHostPort(t *testing.T) {
	ctx := context.Background()
	g := Guard{Resolver: stub}
	got, err := g.ResolveHostPort(ctx, "public.example:5060")
	if err != nil || len(got) != 2 || got[0].String() != "93.184.216.34:5060" || got[1].String() != "[2606:4700::1111]:5060" {
		t.Fatalf("public.example:5060 = %v, %v", got, err)
	}
	for _, bad := range []string{"internal.example:5060", "[::1]:5060", "169.254.169.254:80", "[64:ff9b:1::1]:5060",
		"public.example", "public.example:0", "public.example:65536", "public.example:sip"} {
		if _, err := g.ResolveHostPort(ctx, bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestDialerRefusesInternal: the dialer judges the address it is about to
// connect to, so a name that passed Resolve and now points inside (DNS
// rebinding) is refused too; the error names no address.
func TestDialerRefusesInternal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	for _, network := range []string{"tcp", "udp"} {
		_, err := Guard{}.Dialer(time.Second).Dial(network, addr)
		if !IsRefused(err) {
			t.Fatalf("%s dial of %s: %v, want a refusal", network, addr, err)
		}
		if d := Describe(err); strings.Contains(d, "127.0.0.1") || !strings.Contains(d, "internal address") {
			t.Errorf("Describe = %q", d)
		}
	}
	c, err := Guard{AllowPrivate: true}.Dialer(time.Second).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("AllowPrivate: %v", err)
	}
	c.Close()
}

func TestDescribe(t *testing.T) {
	// A closed port: "connection refused", without the address.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = (&net.Dialer{}).Dial("tcp", addr)
	if got := Describe(err); got != "connection refused" {
		t.Errorf("closed port: %q (from %v)", got, err)
	}
	if got := Describe(&net.DNSError{Err: "no such host", Name: "x.internal", Server: "10.0.0.53:53"}); got != "the host name cannot be resolved" {
		t.Errorf("DNS: %q", got)
	}
	if got := Describe(&net.OpError{Op: "read", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 80}, Err: errors.New("odd")}); strings.Contains(got, "10.1.2.3") {
		t.Errorf("OpError: %q", got)
	}
	if Describe(nil) != "" {
		t.Errorf("Describe(nil) is not empty")
	}
}
