package sip

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/dialer"
)

// freeTCPPort returns a port of 127.0.0.1 free for both TCP and UDP, for
// sipp's SIP socket over TCP.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// startSippTCP runs sipp as a TCP UAS (-t t1: one socket for every call).
func startSippTCP(t testing.TB, scenario string, calls int) *sippUAS {
	t.Helper()
	s := startSippOn(t, freeTCPPort(t), scenario, calls, "-t", "t1")
	// Over TCP nothing retransmits a refused connection: wait until sipp
	// listens (a loaded machine may take longer than startSippOn waits).
	waitListening(t, s.port, 20*time.Second)
	return s
}

// waitListening waits until a socket listens on 127.0.0.1:port, read from
// /proc/net/tcp so that no probe connection reaches the listener.
func waitListening(t testing.TB, port int, limit time.Duration) {
	t.Helper()
	local := fmt.Sprintf("0100007F:%04X", port) // 127.0.0.1, as the kernel writes it
	for deadline := time.Now().Add(limit); ; {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			return // not Linux: startSippOn's pause is all there is
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sipp does not listen on TCP port %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tcpTrunk(c *Config) { c.Transport = "tcp" }

// TestSippTCPAnswerEchoBye: over TCP, the call is answered, our prompt
// comes back in the echo, and our BYE ends it as the scenario expects.
func TestSippTCPAnswerEchoBye(t *testing.T) {
	uas := startSippTCP(t, "uas_answer_tcp.xml", 1)
	tr := newTestTrunk(t, uas.port, tcpTrunk)
	rec := &fakeRecognizer{text: "yes"}
	tr.Recognizer = rec
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{CallUUID: "tcp1", MSISDN: "+1 555 0101"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	res := make(chan error, 1)
	go func() {
		text, ok, err := conn.Listen(ctx, 5*time.Second, nil)
		if err == nil && (!ok || text != "yes") {
			t.Errorf("listen: %q %v", text, ok)
		}
		res <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := conn.Say(ctx, "yes"); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Errorf("listen: %v", err)
	}
	wav, err := conn.Hangup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, c, d := legRMS(t, wav)
	t.Logf("recording %v, agent RMS %.0f, callee RMS %.0f, stats %+v", d, a, c, conn.Stats())
	if a < 100 || c < 100 {
		t.Errorf("a leg is silent: agent %.0f callee %.0f", a, c)
	}
	uas.wait(t)
}

// TestSippTCPCalleeHangsUp: the callee's BYE arrives over the TCP
// connection and ends the call.
func TestSippTCPCalleeHangsUp(t *testing.T) {
	uas := startSippTCP(t, "uas_bye.xml", 1)
	tr := newTestTrunk(t, uas.port, tcpTrunk)
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: "101"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	if _, _, err := conn.Listen(ctx, 10*time.Second, nil); err != ErrHungUp {
		t.Errorf("listen after BYE: %v", err)
	}
	if _, err := conn.Hangup(ctx); err != nil {
		t.Error(err)
	}
	uas.wait(t)
}

// TestSippTCPResults: digest auth (right and wrong password) and busy over
// TCP.
func TestSippTCPResults(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		mod      func(*Config)
		want     string
	}{
		{"uas_auth.xml", func(c *Config) { c.Username, c.Password = "alice", "secret" }, dialer.ResultAnswered},
		{"uas_auth.xml", func(c *Config) { c.Username, c.Password = "alice", "wrong" }, dialer.ResultFail},
		{"uas_busy.xml", nil, dialer.ResultBusy},
	} {
		t.Run(tc.scenario+"/"+tc.want, func(t *testing.T) {
			uas := startSippTCP(t, tc.scenario, 1)
			tr := newTestTrunk(t, uas.port, func(c *Config) {
				tcpTrunk(c)
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			ctx := ctxT(t, 30*time.Second)
			conn, result, err := tr.Dial(ctx, dialer.CallRequest{MSISDN: "201"})
			if err != nil || result != tc.want {
				t.Fatalf("dial: %q %v, want %q\n%s", result, err, tc.want, tail(uas.Output(), 2000))
			}
			if conn != nil {
				if _, err := conn.Hangup(ctx); err != nil {
					t.Error(err)
				}
			}
			if tc.want == dialer.ResultFail {
				return // sipp counts the 403 as a failed call
			}
			uas.wait(t)
		})
	}
}

// TestTCPUnreachable: a TCP trunk nobody listens on fails at once.
func TestTCPUnreachable(t *testing.T) {
	tr := newTestTrunk(t, freeTCPPort(t), tcpTrunk)
	start := time.Now()
	_, result, err := tr.Dial(ctxT(t, 10*time.Second), dialer.CallRequest{MSISDN: "301"})
	if err != nil || result != dialer.ResultFail {
		t.Fatalf("dial: %q %v", result, err)
	}
	t.Logf("failed after %v", time.Since(start))
}
