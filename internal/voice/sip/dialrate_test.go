package sip_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/egress"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/trunk"
	"github.com/parley-cc/parley/internal/voice/sip"
)

// inviteCounter is a SIP peer that rings and never answers: it counts the distinct
// calls (Call-IDs) INVITEd to it, retransmissions aside. A CANCEL (the
// caller gave up) is answered 200 and its INVITE 487, so that calls end
// at once when the server stops.
type inviteCounter struct {
	conn    *net.UDPConn
	mu      sync.Mutex
	calls   map[string]bool
	invites map[string]string // Call-ID -> the INVITE's response headers
	any     int               // every datagram, INVITE or not
}

// responseHeaders are the headers a response copies from its request.
func responseHeaders(msg string) (callID, headers string) {
	var b strings.Builder
	for _, line := range strings.Split(msg, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "via", "v", "from", "f", "cseq":
			b.WriteString(line + "\r\n")
		case "to", "t":
			b.WriteString(line + ";tag=counter\r\n")
		case "call-id", "i":
			callID = strings.TrimSpace(v)
			b.WriteString(line + "\r\n")
		}
	}
	return callID, b.String()
}

func startCounter(t *testing.T) *inviteCounter {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ic := &inviteCounter{conn: c, calls: map[string]bool{}, invites: map[string]string{}}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			callID, headers := responseHeaders(msg)
			ic.mu.Lock()
			ic.any++
			var replies []string
			switch {
			case strings.HasPrefix(msg, "INVITE "):
				ic.calls[callID] = true
				ic.invites[callID] = headers
				// Ringing, never answered: a caller can only CANCEL a call
				// that had a provisional answer.
				replies = append(replies, "SIP/2.0 100 Trying\r\n"+headers)
			case strings.HasPrefix(msg, "CANCEL "):
				replies = append(replies, "SIP/2.0 200 OK\r\n"+headers)
				if inv, ok := ic.invites[callID]; ok {
					replies = append(replies, "SIP/2.0 487 Request Terminated\r\n"+inv)
				}
			}
			ic.mu.Unlock()
			for _, r := range replies {
				_, _ = c.WriteToUDP([]byte(r+"Content-Length: 0\r\n\r\n"), from)
			}
		}
	}()
	return ic
}

func (ic *inviteCounter) port() int { return ic.conn.LocalAddr().(*net.UDPAddr).Port }

func (ic *inviteCounter) counts() (calls, datagrams int) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	return len(ic.calls), ic.any
}

// blast starts a server, points an agent with many due dialogs at a
// trunk to peer, and raises its channel limit far above the dialogs: only
// the trunk's calls per second and the node's call cap hold the dialer
// back. It returns when the dialer was let go.
func blast(t *testing.T, dsn string, peer int, cps, maxCalls, dialogs int) time.Time {
	env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
		c.DialerMaxCalls = maxCalls
		c.MaxChannelLimit = 100_000
	}})
	ten := env.NewTenant(t, "Acme")
	ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAdmin})
	if _, err := env.Trunks.Create(ctx, trunk.NewTrunk{Name: "carrier", Host: "127.0.0.1", Port: peer, CPS: cps}); err != nil {
		t.Fatal(err)
	}
	a, err := env.Agents.Create(ctx, agent.NewAgent{Name: "blast", TrunkName: "carrier"})
	if err != nil {
		t.Fatal(err)
	}
	q := "?agent_uuid=" + a.UUID
	must(t, env.Do(t, "PUT", ext+"/agent-settings/general"+q, ten.Token, map[string]any{"total_channel_limit": 0}), 200)
	for i := range dialogs {
		must(t, env.Do(t, "POST", ext+"/dialog/dialog-initial"+q, ten.Token, map[string]any{"msisdn": fmt.Sprintf("7999%07d", i)}), 200)
	}
	start := time.Now()
	must(t, env.Do(t, "PUT", ext+"/agent-settings/general"+q, ten.Token, map[string]any{"total_channel_limit": 100_000}), 200)
	return start
}

// TestTrunkCallsPerSecond: with a channel limit of 100,000 and many due
// dialogs, the dialer INVITEs at most the trunk's calls_per_second (plus
// one second's burst) however long it has run. On the unpaced dialer every
// dialog was INVITEd in the first pass.
func TestTrunkCallsPerSecond(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		const cps, dialogs = 3, 120
		peer := startCounter(t)
		start := blast(t, dsn, peer.port(), cps, 0, dialogs)
		for range 30 { // about 3 s of dialling, observed every 100 ms
			time.Sleep(100 * time.Millisecond)
			calls, _ := peer.counts()
			elapsed := time.Since(start).Seconds()
			// The bucket starts full (one second's worth) and refills at
			// cps a second; one more second of slack for the reading.
			if most := int(cps * (elapsed + 2)); calls > most {
				t.Fatalf("%d calls INVITEd within %.1fs at %d calls per second (at most %d expected)", calls, elapsed, cps, most)
			}
		}
		if calls, _ := peer.counts(); calls == 0 {
			t.Fatal("no call was placed at all")
		}
	})
}

// TestNodeCallCap: the node starts no more calls than its cap while the
// calls in progress last (this peer never answers: each call ends after
// the trunk's 5 s without a response, freeing its place).
func TestNodeCallCap(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		const maxCalls, dialogs = 4, 60
		peer := startCounter(t)
		start := blast(t, dsn, peer.port(), trunk.MaxCPS, maxCalls, dialogs)
		for range 20 {
			time.Sleep(100 * time.Millisecond)
			calls, _ := peer.counts()
			// A call holds its place for at least the 5 s without answer.
			rounds := 1 + int(time.Since(start)/(5*time.Second))
			if calls > maxCalls*rounds {
				t.Fatalf("%d calls placed with a node cap of %d (%d rounds of calls)", calls, maxCalls, rounds)
			}
		}
		if calls, _ := peer.counts(); calls == 0 {
			t.Fatal("no call was placed at all")
		}
	})
}

// stubResolver answers every name with one address: a name that resolved
// to a public address when the trunk was saved and now resolves inside
// (DNS rebinding).
type stubResolver netip.Addr

func (s stubResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.Addr(s)}, nil
}

// TestTrunkGuardAtDial: a trunk whose host resolves to an internal
// address at dial time sends nothing there, and the call fails the same
// way whether a port is listening there or not: the result tells nothing
// about the internal network.
func TestTrunkGuardAtDial(t *testing.T) {
	open := startCounter(t)
	closed := testenvFreeUDPPort(t)
	for _, target := range []string{"127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1"} {
		var results []string
		for _, port := range []int{open.port(), closed} {
			guard := &egress.Guard{Resolver: stubResolver(netip.MustParseAddr(target))}
			tr, err := sip.New(sip.Config{Name: "t", Host: "carrier.example", Port: port, Guard: guard, NoResponse: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, result, err := tr.DialConn(context.Background(), dialer.CallRequest{CallUUID: "c", MSISDN: "79990000001"})
			tr.Close()
			if result != dialer.ResultFail || !egress.IsRefused(err) {
				t.Errorf("%s:%d: result %q, error %v; want a refused fail", target, port, result, err)
			}
			if err != nil && strings.Contains(err.Error(), target) {
				t.Errorf("the error names the resolved address: %v", err)
			}
			results = append(results, result+"|"+fmt.Sprint(err))
		}
		if results[0] != results[1] {
			t.Errorf("%s: an open and a closed port differ: %q vs %q", target, results[0], results[1])
		}
	}
	if _, datagrams := open.counts(); datagrams != 0 {
		t.Errorf("%d datagrams reached the internal address", datagrams)
	}
}

func testenvFreeUDPPort(t *testing.T) int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
