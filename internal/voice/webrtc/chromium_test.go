package webrtc_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/voice/g711"
	"github.com/parley-cc/parley/internal/voice/voicetest"
	"github.com/parley-cc/parley/internal/voice/webrtc"
)

// chromiumPage is the minimal operator page: it sends the microphone
// (Chromium's fake device playing a WAV) in an offer gathered to the end,
// posts it, applies the answer, and measures what it receives with
// WebAudio: the RMS level and the loudest frequency of each 100 ms.
const chromiumPage = `<!doctype html>
<html><body><script>
window.result = {state: "starting", frames: 0, loud: 0, peaks: []};
async function start() {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  const listen = location.search.includes("listen");
  if (listen) {
    pc.addTransceiver("audio", {direction: "recvonly"});
  } else {
    const mic = await navigator.mediaDevices.getUserMedia({audio: true});
    mic.getTracks().forEach(t => pc.addTrack(t, mic));
  }
  pc.ontrack = (e) => {
    const stream = new MediaStream([e.track]);
    // Chromium feeds a remote WebRTC track to WebAudio only while a media
    // element plays it too.
    const el = new Audio();
    el.srcObject = stream;
    el.muted = true;
    el.play();
    const ctx = new AudioContext();
    const an = ctx.createAnalyser();
    an.fftSize = 4096;
    ctx.createMediaStreamSource(stream).connect(an);
    const time = new Float32Array(an.fftSize);
    const freq = new Float32Array(an.frequencyBinCount);
    setInterval(() => {
      an.getFloatTimeDomainData(time);
      let sum = 0;
      for (const v of time) sum += v * v;
      const rms = Math.sqrt(sum / time.length);
      window.result.frames++;
      if (rms > 0.02) {
        window.result.loud++;
        an.getFloatFrequencyData(freq);
        let best = 0;
        for (let i = 1; i < freq.length; i++) if (freq[i] > freq[best]) best = i;
        window.result.peaks.push(Math.round(best * ctx.sampleRate / an.fftSize));
      }
    }, 100);
  };
  pc.onconnectionstatechange = () => { window.result.state = pc.connectionState; };
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((done) => pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    }));
  }
  const resp = await fetch(listen ? "/listen" : "/offer", {method: "POST", body: pc.localDescription.sdp});
  if (!resp.ok) { window.result.state = "refused: " + await resp.text(); return; }
  await pc.setRemoteDescription({type: "answer", sdp: await resp.text()});
}
start().catch((e) => { window.result.state = "error: " + e; });
</script></body></html>`

type pageResult struct {
	State  string `json:"state"`
	Frames int    `json:"frames"`
	Loud   int    `json:"loud"`
	Peaks  []int  `json:"peaks"`
}

// TestChromiumPeer: headless Chromium is the operator's browser. Its fake
// microphone plays an espeak-ng WAV; Parley's engine answers its offer
// over one HTTP request. Audio from the page reaches Go (speech-level
// energy), and a 440 Hz tone from Go reaches the page (WebAudio hears it
// loud, its loudest frequency near 440 Hz). Then a second tab is a
// supervisor's page: receive-only, no microphone, answered by
// AnswerListener, and it hears a 660 Hz tone from Go.
//
// What Chromium needs (see the package comment): the flags
// --use-fake-ui-for-media-stream (grant the microphone),
// --use-fake-device-for-media-stream and
// --use-file-for-fake-audio-capture=FILE.wav (the microphone plays FILE),
// --autoplay-policy=no-user-gesture-required (the page plays the remote
// audio without a click); the page served from http://127.0.0.1 (a
// secure context for getUserMedia). ICE: the engine's host candidate on
// the machine's address; no STUN, TURN or mDNS.
func TestChromiumPeer(t *testing.T) {
	exe := chromium(t)
	wav := micWAV(t, "Hello, this is the operator speaking. How can I help you today?")
	ctx := ctxT(t, 2*time.Minute)

	// The machine's own non-loopback address: what a browser on another
	// machine would reach, minus the NAT (PublicIP).
	local := outboundIP(t)
	e := newEngine(t, func(c *webrtc.Config) { c.Loopback = false; c.LocalIPs = []netip.Addr{local} })
	peers := make(chan *webrtc.Peer, 2)
	var heard voicetest.Heard
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, chromiumPage)
	})
	answer := func(listen bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			offer, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webrtc.MaxOfferBytes))
			if err != nil {
				http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
				return
			}
			answerer := e.Answer
			if listen {
				answerer = e.AnswerListener
			}
			p, answer, err := answerer(r.Context(), string(offer))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if !listen {
				p.OnAudio(func(f []byte) { heard.Add(f, g711.ULaw) })
			}
			peers <- p
			io.WriteString(w, answer)
		}
	}
	mux.HandleFunc("POST /offer", answer(false))
	mux.HandleFunc("POST /listen", answer(true))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
	)
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}

	// open loads the page in a new tab and returns the tab and its peer.
	open := func(query string) (context.Context, *webrtc.Peer) {
		tab, cancelTab := chromedp.NewContext(browser)
		t.Cleanup(cancelTab)
		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/"+query)); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-peers:
			select {
			case <-p.Connected():
				return tab, p
			case <-ctx.Done():
				t.Fatal("Chromium did not connect")
			}
		case <-ctx.Done():
			res, _ := chromedp.Run(tab, chromedp.Evaluate[pageResult](`window.result`))
			t.Fatalf("no offer from the page: %+v", res)
		}
		return nil, nil
	}
	// hears sends a tone of hz from Go until the page heard it loud and
	// near its pitch, and until done() holds.
	hears := func(tab context.Context, p *webrtc.Peer, hz float64, done func() bool) pageResult {
		tone := voicetest.Tone{Hz: hz}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var res pageResult
		for polls := 0; ; {
			select {
			case <-ctx.Done():
				t.Fatalf("page result %+v; peer %+v", res, p.Stats())
			case <-tick.C:
				p.SendAudio(tone.Frame())
			}
			if polls++; polls%25 != 0 {
				continue
			}
			var err error
			if res, err = chromedp.Run(tab, chromedp.Evaluate[pageResult](`window.result`)); err != nil {
				t.Fatal(err)
			}
			near := 0
			for _, peak := range res.Peaks {
				if float64(peak) > hz-40 && float64(peak) < hz+40 {
					near++
				}
			}
			if near >= 5 && done() {
				return res
			}
		}
	}

	tab, p := open("")
	res := hears(tab, p, 440, func() bool { return voicetest.RMS(heard.Since(0)) > 300 })
	t.Logf("operator page: state %s, %d of %d measures loud, peaks %v; Go heard RMS %.0f; peer %+v", res.State, res.Loud,
		res.Frames, res.Peaks[:min(len(res.Peaks), 10)], voicetest.RMS(heard.Since(0)), p.Stats())

	tab, p = open("?listen")
	res = hears(tab, p, 660, func() bool { return true })
	t.Logf("listener page: state %s, %d of %d measures loud, peaks %v; peer %+v", res.State, res.Loud,
		res.Frames, res.Peaks[:min(len(res.Peaks), 10)], p.Stats())
	if p.Stats().Received != 0 {
		t.Errorf("the listener's peer received %d packets", p.Stats().Received)
	}
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PARLEY_TEST_BROWSER") == "1" {
		t.Fatal("PARLEY_TEST_BROWSER=1 but no Chromium is installed (apt-get install chromium)")
	}
	t.Skip("no Chromium installed; set PARLEY_TEST_BROWSER=1 to require it")
	return ""
}

// micWAV is espeak-ng saying text, as a 48 kHz mono WAV for Chromium's
// fake microphone (which loops it).
func micWAV(t *testing.T, text string) string {
	t.Helper()
	need := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("PARLEY_TEST_BROWSER") == "1" || os.Getenv("PARLEY_TEST_SIP") == "1" {
				t.Fatalf("%s not installed", name)
			}
			t.Skipf("%s not installed", name)
		}
		return p
	}
	dir := t.TempDir()
	raw, out := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "mic.wav")
	if b, err := exec.Command(need("espeak-ng"), "-v", "en-us", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, b)
	}
	if b, err := exec.Command(need("sox"), raw, "-r", "48000", "-c", "1", "-b", "16", out).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, b)
	}
	return out
}

// outboundIP is the address the machine would send from: its
// non-loopback address.
func outboundIP(t *testing.T) netip.Addr {
	t.Helper()
	addrs, err := netInterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.Is4() && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
			return a
		}
	}
	t.Skip(fmt.Sprintf("no non-loopback IPv4 address among %v", addrs))
	return netip.Addr{}
}
