package voicetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/speech"
)

// The far ends of the voice tests that run real tools: baresip answering
// with an espeak-ng phrase, sipp (sipp.go), and pocketsphinx to tell what
// each side heard. Shared by internal/voice/sip's and internal/web's
// tests.

// BaresipUser is the user part baresip answers as: a number, so the
// dialer (which dials numbers) can reach it.
const BaresipUser = "15550100"

// BaresipModules is where Debian's baresip-core keeps its modules.
const BaresipModules = "/usr/lib/baresip/modules"

// toolEnv are the variables that make a missing tool a failure, not a
// skip (scripts/test.sh).
var toolEnv = []string{"PARLEY_TEST_SIP", "PARLEY_TEST_SPEECH", "PARLEY_TEST_BROWSER"}

// NeedTool returns the tool's path; without it the test is skipped,
// unless PARLEY_TEST_SIP, PARLEY_TEST_SPEECH or PARLEY_TEST_BROWSER make
// it a failure.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, v := range toolEnv {
			if os.Getenv(v) == "1" {
				t.Fatalf("%s not installed and %s=1", name, v)
			}
		}
		t.Skipf("%s not installed (apt-get install sip-tester baresip-core espeak-ng sox pocketsphinx)", name)
	}
	return p
}

// NeedPocketsphinx returns the local recognizer or skips (fails under
// PARLEY_TEST_SIP=1 or PARLEY_TEST_SPEECH=1).
func NeedPocketsphinx(t testing.TB) *speech.Pocketsphinx {
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

// EspeakWAV is espeak-ng saying text as a mono 16-bit WAV at rate, with
// lead and trail seconds of silence (sox's pad), the whole repeated
// repeat more times.
func EspeakWAV(t testing.TB, text string, rate int, lead, trail float64, repeat int) string {
	t.Helper()
	espeak, sox := NeedTool(t, "espeak-ng"), NeedTool(t, "sox")
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

// Baresip is a baresip process on loopback answering as
// sip:BaresipUser@127.0.0.1.
type Baresip struct {
	Port int // SIP, UDP
	// Heard is the directory where the sndfile module writes what
	// baresip hears: one dump-*-dec.wav a call, complete once the call
	// has ended. (baresip 1.0's aufile module plays files, it does not
	// record them.)
	Heard string
	ctrl  int // ctrl_tcp's port
}

// BaresipLine is one account of a baresip process: the user part it
// answers as and the WAV (8 kHz, aufile) it says on its calls.
type BaresipLine struct {
	User, WAV string
}

// StartBaresip runs baresip answering every call to BaresipUser at once
// with wav (8 kHz, aufile) as its voice, until the test ends.
func StartBaresip(t testing.TB, wav string) *Baresip {
	t.Helper()
	return StartBaresipLines(t, BaresipLine{User: BaresipUser, WAV: wav})
}

// StartBaresipLines is StartBaresip with its own accounts (one or
// several in one process), each answering its own user with its own
// voice: the INVITE's user part picks the line. (Two parties behind one
// trunk, a callee and a transfer target, are two processes behind a
// SIPProxy: each records its own call.)
func StartBaresipLines(t testing.TB, lines ...BaresipLine) *Baresip {
	t.Helper()
	bin := NeedTool(t, "baresip")
	if _, err := os.Stat(filepath.Join(BaresipModules, "aufile.so")); err != nil {
		if os.Getenv("PARLEY_TEST_SIP") == "1" {
			t.Fatalf("baresip modules missing and PARLEY_TEST_SIP=1: %v", err)
		}
		t.Skipf("baresip modules missing: %v", err)
	}
	// baresip 1.0 also binds TCP and TLS (port+1) beside UDP, which a free
	// UDP port doesn't promise: a clash is retried on other ports.
	for attempt := 1; ; attempt++ {
		b, out := tryBaresip(t, bin, lines)
		if b != nil {
			return b
		}
		if attempt == 5 || !strings.Contains(out, "Address already in use") {
			t.Fatalf("baresip did not start:\n%s", out)
		}
	}
}

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

func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tryBaresip starts baresip once; on failure it returns its output.
func tryBaresip(t testing.TB, bin string, lines []BaresipLine) (*Baresip, string) {
	b := &Baresip{Port: FreeUDPPort(t), ctrl: freeTCPPort(t)}
	rtpPort := FreeUDPPort(t)
	dir := t.TempDir()
	b.Heard = filepath.Join(dir, "heard")
	if err := os.Mkdir(b.Heard, 0o700); err != nil {
		t.Fatal(err)
	}
	config := strings.Join([]string{
		"sip_listen 127.0.0.1:" + fmt.Sprint(b.Port),
		"module_path " + BaresipModules,
		"module g711.so", "module aufile.so", "module sndfile.so",
		"snd_path " + b.Heard,
		"module_app account.so",
		"module_app menu.so", // the commands, hangup among them
		"module_app ctrl_tcp.so",
		"ctrl_tcp_listen 127.0.0.1:" + fmt.Sprint(b.ctrl),
		"audio_source aufile," + lines[0].WAV,
		"audio_alert aufile,/dev/null",
		// Two ports a call (RTP, RTCP); baresip takes them from the range.
		fmt.Sprintf("rtp_ports %d-%d", rtpPort, rtpPort+4*len(lines)-1),
		"",
	}, "\n")
	var account string
	for _, l := range lines {
		account += "<sip:" + l.User + "@127.0.0.1>;regint=0;answermode=auto;audio_source=aufile," + l.WAV + "\n"
	}
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
			return nil, out.String()
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return nil, out.String()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			s := out.String()
			t.Logf("baresip (port %d) output:\n%s", b.Port, s[max(0, len(s)-4000):])
		}
	})
	return b, ""
}

// Hangup makes baresip hang up its call (ctrl_tcp's hangup command: a
// BYE from its side).
func (b *Baresip) Hangup(t testing.TB) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.ctrl), 5*time.Second)
	if err != nil {
		t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	defer c.Close()
	msg := `{"command":"hangup","params":"","token":"parley"}`
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%d:%s,", len(msg), msg); err != nil {
		t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	// ctrl_tcp sends events too (netstrings of JSON, as the command):
	// read until the command's response, which says whether it ran.
	r := bufio.NewReader(c)
	for {
		lenText, err := r.ReadString(':')
		if err != nil {
			t.Fatalf("baresip hangup: no response: %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenText, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			t.Fatalf("baresip hangup: a netstring of length %q", lenText)
		}
		msg := make([]byte, n+1) // and the trailing comma
		if _, err := io.ReadFull(r, msg); err != nil {
			t.Fatalf("baresip hangup: %v", err)
		}
		if strings.Contains(string(msg), `"response":true`) {
			if !strings.Contains(string(msg), `"ok":true`) {
				t.Fatalf("baresip hangup: %s", msg)
			}
			return
		}
	}
}

// HeardWAV waits until baresip's recording of its one call is complete
// (its header holds the sizes once the call ended) and returns it.
func (b *Baresip) HeardWAV(t testing.TB, ctx context.Context) (int, []int16) {
	t.Helper()
	return HeardWAV(t, ctx, b.Heard)
}

// HeardWAV is Baresip.HeardWAV for a directory.
func HeardWAV(t testing.TB, ctx context.Context, dir string) (int, []int16) {
	t.Helper()
	rate, calls := HeardCalls(t, ctx, dir, 1)
	return rate, calls[0]
}

// HeardCalls waits until baresip's recordings of n calls in dir are
// complete and returns them in the order the calls began (the sndfile
// module names its files by the second a call's audio started: calls
// must begin in different seconds).
func HeardCalls(t testing.TB, ctx context.Context, dir string, n int) (int, [][]int16) {
	t.Helper()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
		if len(files) == n {
			sort.Strings(files)
			rate, calls := 0, make([][]int16, 0, n)
			for _, f := range files {
				if b, err := os.ReadFile(f); err == nil {
					if r, ch, err := audio.DecodeWAV(bytes.NewReader(b)); err == nil && len(ch) > 0 && len(ch[0]) > r {
						rate = r
						calls = append(calls, ch[0])
					}
				}
			}
			if len(calls) == n {
				return rate, calls
			}
		}
		select {
		case <-ctx.Done():
			all, _ := filepath.Glob(filepath.Join(dir, "*"))
			t.Fatalf("%s: no complete recording of %d calls among %v", dir, n, all)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
