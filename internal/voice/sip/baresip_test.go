package sip

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/speech"
)

// BaresipUser is the user part baresip answers as in these tests: a
// number, so the dialer (which dials numbers) can reach it.
const BaresipUser = "15550100"

// speechWAV makes an 8 kHz mono 16-bit WAV of espeak-ng saying text, with
// lead and trail seconds of silence around it (sox's pad).
func speechWAV(t testing.TB, text string, lead, trail float64) string {
	t.Helper()
	espeak := requireTool(t, "espeak-ng")
	sox := requireTool(t, "sox")
	dir := t.TempDir()
	raw, out := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "speech.wav")
	if b, err := exec.Command(espeak, "-v", "en-us", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, b)
	}
	args := []string{raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", out, "pad", fmt.Sprint(lead), fmt.Sprint(trail)}
	if b, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, b)
	}
	return out
}

// baresipModules is where Debian's baresip-core keeps its modules.
const baresipModules = "/usr/lib/baresip/modules"

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBaresip runs baresip on loopback as sip:BaresipUser@127.0.0.1,
// answering every call at once and sending wav (aufile) as its voice. It
// returns the SIP port.
func startBaresip(t testing.TB, wav string) int {
	t.Helper()
	port, _ := startBaresipHeard(t, wav)
	return port
}

// startBaresipHeard is startBaresip that also returns the directory
// where baresip's sndfile module writes what it hears: one
// dump-*-dec.wav a call, complete once the call has ended. (baresip 1.0's
// aufile module plays files, it does not record them.)
func startBaresipHeard(t testing.TB, wav string) (port int, heard string) {
	t.Helper()
	bin := requireTool(t, "baresip")
	if _, err := os.Stat(filepath.Join(baresipModules, "aufile.so")); err != nil {
		if os.Getenv("PARLEY_TEST_SIP") == "1" {
			t.Fatalf("baresip modules missing and PARLEY_TEST_SIP=1: %v", err)
		}
		t.Skipf("baresip modules missing: %v", err)
	}
	// baresip 1.0 also binds TCP and TLS (port+1) beside UDP, which a free
	// UDP port doesn't promise: a clash is retried on other ports.
	for attempt := 1; ; attempt++ {
		port, heard, out, ok := tryBaresip(t, bin, wav)
		if ok {
			return port, heard
		}
		if attempt == 5 || !strings.Contains(out, "Address already in use") {
			t.Fatalf("baresip did not start:\n%s", out)
		}
	}
}

// tryBaresip returns the SIP port, the heard WAV's path, and on failure
// baresip's output.
func tryBaresip(t testing.TB, bin, wav string) (int, string, string, bool) {
	port, rtpPort := freePort(t), freePort(t)
	dir := t.TempDir()
	heard := filepath.Join(dir, "heard")
	if err := os.Mkdir(heard, 0o700); err != nil {
		t.Fatal(err)
	}
	config := strings.Join([]string{
		"sip_listen 127.0.0.1:" + fmt.Sprint(port),
		"module_path " + baresipModules,
		"module g711.so",
		"module aufile.so",
		"module sndfile.so",
		"snd_path " + heard,
		"module_app account.so",
		"audio_source aufile," + wav,
		"audio_alert aufile,/dev/null",
		fmt.Sprintf("rtp_ports %d-%d", rtpPort, rtpPort+1),
		"",
	}, "\n")
	account := "<sip:" + BaresipUser + "@127.0.0.1>;regint=0;answermode=auto\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-4", "-f", dir)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "baresip is ready") {
		select {
		case <-done:
			return 0, "", out.String(), false
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return 0, "", out.String(), false
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("baresip output:\n%s", tail(out.String(), 4000))
		}
	})
	return port, heard, "", true
}

// needPocketsphinx returns the local recognizer or skips (fails under
// PARLEY_TEST_SIP=1 or PARLEY_TEST_SPEECH=1).
func needPocketsphinx(t testing.TB) *speech.Pocketsphinx {
	t.Helper()
	ps, err := speech.LookupPocketsphinx()
	if err != nil {
		if os.Getenv("PARLEY_TEST_SIP") == "1" || os.Getenv("PARLEY_TEST_SPEECH") == "1" {
			t.Fatalf("%v (PARLEY_TEST_SIP/PARLEY_TEST_SPEECH demand it)", err)
		}
		t.Skip(err)
	}
	return ps
}

// TestBaresipSpeech calls baresip, asks with espeak-ng and hears its
// "yes" through pocketsphinx with a grammar of the expected phrases.
func TestBaresipSpeech(t *testing.T) {
	ps := needPocketsphinx(t)
	wav := speechWAV(t, "yes", 2.5, 3)
	port := startBaresip(t, wav)
	tr := newTestTrunk(t, port, nil)
	tr.NoBargeIn = false
	es, ok := audio.LookupEspeak()
	if !ok {
		t.Fatal("espeak-ng")
	}
	tr.Synth, tr.Recognizer = es, SpeechRecognizer{ps}
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{CallUUID: "b1", MSISDN: BaresipUser})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	if err := conn.Say(ctx, "Shall we go on?"); err != nil {
		t.Fatal(err)
	}
	if conn.BargedIn() {
		t.Error("prompt cut though the callee was silent")
	}
	text, heard, err := conn.Listen(ctx, 6*time.Second, []string{"yes", "no"})
	if err != nil || !heard || text != "yes" {
		t.Errorf("listen: %q %v %v", text, heard, err)
	}
	start, end, ok := conn.LastUtterance()
	t.Logf("utterance %v-%v %v", start, end, ok)
	// The "yes" starts 3 s into baresip's audio: the utterance cannot start
	// before 2 s of the call (upper bounds would only measure the load).
	if !ok || start < 2*time.Second || end <= start {
		t.Errorf("utterance times %v-%v %v", start, end, ok)
	}
	rec, err := conn.Hangup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, c, d := legRMS(t, rec)
	t.Logf("recording %v, agent RMS %.0f, callee RMS %.0f, stats %+v", d, a, c, conn.Stats())
	if a < 100 || c < 50 {
		t.Errorf("a leg is silent: agent %.0f callee %.0f", a, c)
	}
}

// TestBaresipBargeIn: the callee starts talking while a long prompt plays;
// the prompt stops early and BargedIn says so.
func TestBaresipBargeIn(t *testing.T) {
	wav := speechWAV(t, "yes yes yes yes yes yes", 0.6, 3)
	port := startBaresip(t, wav)
	tr := newTestTrunk(t, port, nil)
	tr.NoBargeIn = false
	es, ok := audio.LookupEspeak()
	if !ok {
		t.Fatal("espeak-ng")
	}
	tr.Synth = es
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{CallUUID: "b2", MSISDN: BaresipUser})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	long := "This is a long announcement about your account, your recent orders, and the many options you have today."
	pcm, err := es.Synthesize(ctx, long, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := conn.Play(ctx, pcm); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("prompt %v, played %v, barged in %v", pcm.Duration(), took, conn.BargedIn())
	// BargedIn is set only when the callee's speech cut the prompt short;
	// a prompt played to its end leaves it false. (How long it played is
	// logged, not asserted: wall time is no test oracle on a busy machine.)
	if !conn.BargedIn() {
		t.Errorf("prompt of %v not cut: played %v", pcm.Duration(), took)
	}
	if _, err := conn.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSippBargeIn: sipp echoes the prompt back at once, which is the
// callee talking over it; with barge-in on the prompt stops early.
func TestSippBargeIn(t *testing.T) {
	uas := startSipp(t, "uas_answer.xml", 1)
	tr := newTestTrunk(t, uas.port, nil)
	tr.NoBargeIn = false
	ctx := ctxT(t, 30*time.Second)
	conn, result, err := tr.DialConn(ctx, dialer.CallRequest{MSISDN: "500"})
	if err != nil || result != dialer.ResultAnswered {
		t.Fatalf("dial: %q %v", result, err)
	}
	pcm := audio.PCM{Rate: audio.Rate, Samples: make([]int16, 5*audio.Rate)}
	for i := range pcm.Samples {
		pcm.Samples[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/audio.Rate))
	}
	start := time.Now()
	if err := conn.Play(ctx, pcm); err != nil {
		t.Fatal(err)
	}
	if !conn.BargedIn() {
		t.Errorf("5 s prompt played %v without being cut", time.Since(start))
	}
	if _, err := conn.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	uas.wait(t)
}
