package sip

import (
	"math"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// BaresipUser is the user part baresip answers as in these tests.
const BaresipUser = voicetest.BaresipUser

// speechWAV makes an 8 kHz mono 16-bit WAV of espeak-ng saying text, with
// lead and trail seconds of silence around it.
func speechWAV(t testing.TB, text string, lead, trail float64) string {
	t.Helper()
	return voicetest.EspeakWAV(t, text, 8000, lead, trail, 0)
}

// startBaresip runs baresip (voicetest.StartBaresip) answering with wav
// and returns its SIP port.
func startBaresip(t testing.TB, wav string) int {
	t.Helper()
	return voicetest.StartBaresip(t, wav).Port
}

// startBaresipHeard is startBaresip that also returns the directory
// where baresip writes what it hears (voicetest.Baresip.Heard).
func startBaresipHeard(t testing.TB, wav string) (port int, heard string) {
	t.Helper()
	b := voicetest.StartBaresip(t, wav)
	return b.Port, b.Heard
}

func needPocketsphinx(t testing.TB) *speech.Pocketsphinx {
	t.Helper()
	return voicetest.NeedPocketsphinx(t)
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
