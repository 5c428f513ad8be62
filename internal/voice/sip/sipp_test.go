package sip

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// requireTool skips the test when a program is missing, unless
// PARLEY_TEST_SIP=1 demands the SIP tests run (CI installs sip-tester,
// baresip-core, espeak-ng and sox).
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("PARLEY_TEST_SIP") == "1" {
			t.Fatalf("%s not installed and PARLEY_TEST_SIP=1", name)
		}
		t.Skipf("%s not installed (apt-get install sip-tester baresip-core espeak-ng sox)", name)
	}
	return p
}

func freePort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sippUAS is voicetest's sipp with its scenario under testdata.
type sippUAS struct {
	*voicetest.Sipp
	port int
}

// startSipp runs sipp as a UAS with a scenario of testdata for calls
// calls, echoing RTP. wait reports whether every call passed.
func startSipp(t testing.TB, scenario string, calls int, extra ...string) *sippUAS {
	t.Helper()
	return startSippOn(t, freePort(t), scenario, calls, extra...)
}

// startSippOn is startSipp on a given SIP port.
func startSippOn(t testing.TB, port int, scenario string, calls int, extra ...string) *sippUAS {
	t.Helper()
	s := voicetest.StartSipp(t, port, filepath.Join("testdata", scenario), calls, extra...)
	return &sippUAS{Sipp: s, port: s.Port}
}

// wait fails the test unless every call followed the scenario.
func (s *sippUAS) wait(t testing.TB) {
	t.Helper()
	s.Sipp.Wait(t)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func newTestTrunk(t testing.TB, port int, mod func(*Config)) *Trunk {
	t.Helper()
	cfg := Config{Name: "test", Host: "127.0.0.1", Port: port, LocalIP: netip.MustParseAddr("127.0.0.1"),
		Ring: 5 * time.Second, NoResponse: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr.Synth = audio.ToneSynth{}
	tr.NoBargeIn = true // sipp echoes our own prompt back
	t.Cleanup(func() { tr.Close() })
	return tr
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// legRMS decodes a stereo recording and returns each leg's RMS level.
func legRMS(t testing.TB, wav []byte) (agent, callee float64, dur time.Duration) {
	t.Helper()
	rate, ch, err := audio.DecodeWAV(bytes.NewReader(wav))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || rate != audio.Rate {
		t.Fatalf("recording: %d channels at %d Hz", len(ch), rate)
	}
	r := func(s []int16) float64 {
		var sum float64
		for _, v := range s {
			sum += float64(v) * float64(v)
		}
		return math.Sqrt(sum / float64(max(len(s), 1)))
	}
	return r(ch[0]), r(ch[1]), time.Duration(len(ch[0])) * time.Second / audio.Rate
}

type fakeRecognizer struct {
	mu   sync.Mutex
	got  []time.Duration
	text string
}

func (f *fakeRecognizer) Recognize(ctx context.Context, pcm audio.PCM, expect []string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, pcm.Duration())
	return f.text, true, nil
}

func TestSippAnswerEchoRecording(t *testing.T) {
	uas := startSipp(t, "uas_answer.xml", 1)
	tr := newTestTrunk(t, uas.port, nil)
	rec := &fakeRecognizer{text: "yes"}
	tr.Recognizer = rec
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{CallUUID: "c1", MSISDN: "+1 555 0100"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	if err := conn.Say(ctx, "hello there"); err != nil {
		t.Fatal(err)
	}
	// The echo of a prompt played during Listen is the callee's speech.
	type heard struct {
		text string
		ok   bool
		err  error
	}
	res := make(chan heard, 1)
	go func() {
		text, ok, err := conn.Listen(ctx, 5*time.Second, []string{"yes", "no"})
		res <- heard{text, ok, err}
	}()
	time.Sleep(1200 * time.Millisecond) // the echo of Say has died down
	if err := conn.Say(ctx, "yes"); err != nil {
		t.Fatal(err)
	}
	h := <-res
	if h.err != nil || !h.ok || h.text != "yes" {
		t.Errorf("listen: %q %v %v", h.text, h.ok, h.err)
	}
	if len(rec.got) != 1 || rec.got[0] < 200*time.Millisecond {
		t.Errorf("recognizer got utterances %v", rec.got)
	}
	if conn.Elapsed() < time.Second {
		t.Errorf("elapsed %v", conn.Elapsed())
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
	if st := conn.Stats(); st.Sent < 50 || st.Received < 50 {
		t.Errorf("stats %+v", st)
	}
	uas.wait(t)
}

func TestSippCalleeHangsUp(t *testing.T) {
	uas := startSipp(t, "uas_bye.xml", 1)
	tr := newTestTrunk(t, uas.port, nil)
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: "100"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	_, _, err = conn.Listen(ctx, 10*time.Second, nil)
	if err != ErrHungUp {
		t.Errorf("listen after BYE: %v", err)
	}
	if err := conn.Say(ctx, "anyone"); err != ErrHungUp {
		t.Errorf("say after BYE: %v", err)
	}
	if _, err := conn.Hangup(ctx); err != nil {
		t.Error(err)
	}
	uas.wait(t)
}

func TestSippResults(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		mod      func(*Config)
		want     string
	}{
		{"uas_busy.xml", nil, dialer.ResultBusy},
		{"uas_503.xml", nil, dialer.ResultFail},
		{"uas_noanswer.xml", func(c *Config) { c.Ring = time.Second }, dialer.ResultNoAnswer},
		{"uas_auth.xml", func(c *Config) { c.Username, c.Password = "alice", "secret" }, dialer.ResultAnswered},
		{"uas_auth.xml", func(c *Config) { c.Username, c.Password = "alice", "wrong" }, dialer.ResultFail},
	} {
		t.Run(tc.scenario+"/"+tc.want, func(t *testing.T) {
			uas := startSipp(t, tc.scenario, 1)
			tr := newTestTrunk(t, uas.port, tc.mod)
			ctx := ctxT(t, 30*time.Second)
			start := time.Now()
			conn, result, err := tr.Dial(ctx, dialer.CallRequest{MSISDN: "200"})
			if err != nil || result != tc.want {
				t.Fatalf("dial: %q %v, want %q", result, err, tc.want)
			}
			if conn != nil {
				if _, err := conn.Hangup(ctx); err != nil {
					t.Error(err)
				}
			}
			t.Logf("%s in %v", result, time.Since(start))
			if tc.want == dialer.ResultFail && tc.scenario == "uas_auth.xml" {
				return // sipp counts the 403 as a failed call
			}
			uas.wait(t)
		})
	}
}

func TestUnreachable(t *testing.T) {
	tr := newTestTrunk(t, freePort(t), func(c *Config) { c.NoResponse = 700 * time.Millisecond })
	start := time.Now()
	_, result, err := tr.Dial(ctxT(t, 10*time.Second), dialer.CallRequest{MSISDN: "300"})
	if err != nil || result != dialer.ResultFail {
		t.Fatalf("dial: %q %v", result, err)
	}
	t.Logf("failed after %v", time.Since(start))
}

func TestSippDTMFRoundTrip(t *testing.T) {
	uas := startSipp(t, "uas_answer.xml", 1)
	tr := newTestTrunk(t, uas.port, nil)
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: "400"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	type heard struct {
		text string
		ok   bool
		err  error
	}
	res := make(chan heard, 1)
	go func() {
		text, ok, err := conn.Listen(ctx, 5*time.Second, nil)
		res <- heard{text, ok, err}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := conn.SendDTMF(ctx, "1975*#"); err != nil {
		t.Fatal(err)
	}
	h := <-res
	if h.err != nil || !h.ok || h.text != "1975*#" {
		t.Errorf("listen: %q %v %v", h.text, h.ok, h.err)
	}
	if _, err := conn.Hangup(ctx); err != nil {
		t.Error(err)
	}
	uas.wait(t)
}
