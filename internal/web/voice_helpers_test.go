package web_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/speech"
)

// The voice tests' far ends: Chromium with a fake microphone playing an
// espeak-ng phrase (the operator), baresip answering with another (the
// callee), and pocketsphinx to tell what each side heard. The baresip
// helpers follow internal/voice/sip's (baresip_test.go), which are not
// importable from here.

// needTool returns the tool's path; without it the test is skipped,
// unless PARLEY_TEST_SIP, PARLEY_TEST_SPEECH or PARLEY_TEST_BROWSER make
// it a failure.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, v := range []string{"PARLEY_TEST_SIP", "PARLEY_TEST_SPEECH", "PARLEY_TEST_BROWSER"} {
			if os.Getenv(v) == "1" {
				t.Fatalf("%s not installed and %s=1", name, v)
			}
		}
		t.Skipf("%s not installed (apt-get install baresip-core espeak-ng sox pocketsphinx)", name)
	}
	return p
}

// espeakWAV is espeak-ng saying text as a mono 16-bit WAV at rate, with
// lead and trail seconds of silence, the whole repeated repeat more times.
func espeakWAV(t testing.TB, text string, rate int, lead, trail float64, repeat int) string {
	t.Helper()
	espeak, sox := needTool(t, "espeak-ng"), needTool(t, "sox")
	dir := t.TempDir()
	raw, out := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "speech.wav")
	if b, err := exec.Command(espeak, "-v", "en-us", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, b)
	}
	args := []string{raw, "-r", fmt.Sprint(rate), "-c", "1", "-b", "16", "-e", "signed-integer", out, "pad", fmt.Sprint(lead), fmt.Sprint(trail)}
	if repeat > 0 {
		args = append(args, "repeat", fmt.Sprint(repeat))
	}
	if b, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, b)
	}
	return out
}

// voiceBrowser starts Chromium whose microphone plays wav (48 kHz) and
// which plays remote audio without a click.
func voiceBrowser(t *testing.T, wav string) context.Context {
	t.Helper()
	return browserWith(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
}

const baresipModules = "/usr/lib/baresip/modules"

// baresipUser is the number baresip answers as.
const baresipUser = "15550100"

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

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startBaresip runs baresip on loopback as sip:baresipUser@127.0.0.1,
// answering at once with wav (8 kHz) as its voice. It returns the SIP port
// and the directory where its sndfile module writes what it hears (one
// dump-*-dec.wav a call, complete once the call ended). It is killed when
// the test ends.
func startBaresip(t testing.TB, wav string) (port int, heard string) {
	t.Helper()
	bin := needTool(t, "baresip")
	if _, err := os.Stat(filepath.Join(baresipModules, "aufile.so")); err != nil {
		if os.Getenv("PARLEY_TEST_SIP") == "1" {
			t.Fatalf("baresip modules missing and PARLEY_TEST_SIP=1: %v", err)
		}
		t.Skipf("baresip modules missing: %v", err)
	}
	for attempt := 1; ; attempt++ {
		port, rtpPort := freeUDPPort(t), freeUDPPort(t)
		dir := t.TempDir()
		heard = filepath.Join(dir, "heard")
		if err := os.Mkdir(heard, 0o700); err != nil {
			t.Fatal(err)
		}
		config := strings.Join([]string{
			"sip_listen 127.0.0.1:" + fmt.Sprint(port),
			"module_path " + baresipModules,
			"module g711.so", "module aufile.so", "module sndfile.so",
			"snd_path " + heard,
			"module_app account.so",
			"audio_source aufile," + wav,
			"audio_alert aufile,/dev/null",
			fmt.Sprintf("rtp_ports %d-%d", rtpPort, rtpPort+1),
			"",
		}, "\n")
		account := "<sip:" + baresipUser + "@127.0.0.1>;regint=0;answermode=auto\n"
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
		ready := false
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Contains(out.String(), "baresip is ready") {
				ready = true
				break
			}
			select {
			case <-done:
			default:
				continue
			}
			break
		}
		if ready {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-done
				if t.Failed() {
					s := out.String()
					t.Logf("baresip output:\n%s", s[max(0, len(s)-4000):])
				}
			})
			return port, heard
		}
		_ = cmd.Process.Kill()
		<-done
		// baresip also binds TCP and TLS beside UDP: a clash is retried.
		if attempt == 5 || !strings.Contains(out.String(), "Address already in use") {
			t.Fatalf("baresip did not start:\n%s", out.String())
		}
	}
}

// heardWAV waits for baresip's complete recording of its one call.
func heardWAV(t *testing.T, ctx context.Context, dir string) (int, []int16) {
	t.Helper()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
		if len(files) == 1 {
			if b, err := os.ReadFile(files[0]); err == nil {
				if rate, ch, err := audio.DecodeWAV(bytes.NewReader(b)); err == nil && len(ch) > 0 && len(ch[0]) > rate {
					return rate, ch[0]
				}
			}
		}
		select {
		case <-ctx.Done():
			all, _ := filepath.Glob(filepath.Join(dir, "*"))
			t.Fatalf("%s: no complete recording of the call among %v", dir, all)
		case <-time.After(100 * time.Millisecond):
		}
	}
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

// rms is the RMS level of samples.
func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(len(s), 1)))
}

// utterances splits pcm at pauses: runs of 20 ms frames above a speech
// level, joined across pauses shorter than 400 ms, padded by 100 ms,
// each at least 300 ms long.
func utterances(pcm []int16, rate int) [][]int16 {
	frame := rate / 50
	var out [][]int16
	start, lastLoud := -1, -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		a, b := max(0, start-rate/10), min(len(pcm), end+rate/10)
		if b-a >= rate*3/10 {
			out = append(out, pcm[a:b])
		}
		start = -1
	}
	for i := 0; i+frame <= len(pcm); i += frame {
		if rms(pcm[i:i+frame]) > 300 {
			if start < 0 {
				start = i
			}
			lastLoud = i + frame
		} else if start >= 0 && i-lastLoud > rate*2/5 {
			flush(lastLoud)
		}
	}
	if start >= 0 {
		flush(lastLoud)
	}
	return out
}

// heardPhrases recognizes each utterance of pcm as one of phrases and
// returns what was recognized, in order.
func heardPhrases(t *testing.T, ctx context.Context, ps *speech.Pocketsphinx, pcm []int16, rate int, phrases []string) []string {
	t.Helper()
	var got []string
	for _, u := range utterances(pcm, rate) {
		p := audio.Resample(audio.PCM{Rate: rate, Samples: u}, audio.Rate)
		res, err := ps.Recognize(ctx, p, phrases)
		if err != nil {
			t.Fatalf("pocketsphinx: %v", err)
		}
		got = append(got, res.Text)
	}
	return got
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
