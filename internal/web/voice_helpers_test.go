package web_test

import (
	"context"
	"math"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/voice/voicetest"
)

// The voice tests' far ends: Chromium with a fake microphone playing an
// espeak-ng phrase (the operator), baresip answering with another (the
// callee), and pocketsphinx to tell what each side heard. baresip, sipp,
// espeak-ng and pocketsphinx are voicetest's, shared with
// internal/voice/sip's tests.

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

var (
	needTool         = voicetest.NeedTool
	espeakWAV        = voicetest.EspeakWAV
	needPocketsphinx = voicetest.NeedPocketsphinx
)

// baresipUser is the number baresip answers as.
const baresipUser = voicetest.BaresipUser

// startBaresip runs baresip answering at once with wav (8 kHz) as its
// voice; it returns the SIP port and the directory of what it hears.
func startBaresip(t testing.TB, wav string) (port int, heard string) {
	t.Helper()
	b := voicetest.StartBaresip(t, wav)
	return b.Port, b.Heard
}

// heardWAV waits for baresip's complete recording of its one call.
func heardWAV(t *testing.T, ctx context.Context, dir string) (int, []int16) {
	t.Helper()
	return voicetest.HeardWAV(t, ctx, dir)
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
