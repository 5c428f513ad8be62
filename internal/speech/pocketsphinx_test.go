package speech

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
)

// needSpeech returns pocketsphinx and espeak-ng, or skips the test when
// either is missing, unless PARLEY_TEST_SPEECH=1 (CI) demands them.
func needSpeech(t *testing.T) (*Pocketsphinx, *audio.Espeak) {
	t.Helper()
	ps, err := LookupPocketsphinx()
	es, ok := audio.LookupEspeak()
	if err == nil && ok {
		return ps, es
	}
	why := "espeak-ng not found (apt-get install espeak-ng)"
	if err != nil {
		why = err.Error()
	}
	if os.Getenv("PARLEY_TEST_SPEECH") == "1" {
		t.Fatalf("PARLEY_TEST_SPEECH=1 but %s", why)
	}
	t.Skipf("%s; set PARLEY_TEST_SPEECH=1 to require it", why)
	return nil, nil
}

func say(t *testing.T, es *audio.Espeak, text string) audio.PCM {
	t.Helper()
	pcm, err := es.Synthesize(context.Background(), text, "en-us")
	if err != nil {
		t.Fatal(err)
	}
	if pcm.Rate != audio.Rate || len(pcm.Samples) == 0 {
		t.Fatalf("espeak-ng gave %d samples at %d Hz", len(pcm.Samples), pcm.Rate)
	}
	return pcm
}

// TestPocketsphinxGrammar runs on both engines: the resident decoders of
// the library (when it loads) and the batch process.
func TestPocketsphinxGrammar(t *testing.T) {
	lib, es := needSpeech(t)
	batch := *lib
	batch.Mode = "batch"
	for _, ps := range []*Pocketsphinx{lib, &batch} {
		testGrammar(t, ps, es)
	}
}

func testGrammar(t *testing.T, ps *Pocketsphinx, es *audio.Espeak) {
	ctx := context.Background()
	for _, c := range []struct {
		say    string
		expect []string
		want   string
	}{
		{"yes", []string{"yes", "no"}, "yes"},
		{"no", []string{"yes", "no"}, "no"},
		{"no", []string{"Yes!", "No.", "NO"}, "no"}, // normalised, deduplicated
		{"one two three", []string{"yes", "no", "one two three"}, "one two three"},
	} {
		res, err := ps.Recognize(ctx, say(t, es, c.say), c.expect)
		if err != nil {
			t.Fatalf("%q: %v", c.say, err)
		}
		if res.Text != c.want {
			t.Errorf("%s: said %q with grammar %q: heard %q, want %q", ps.Mode, c.say, c.expect, res.Text, c.want)
		}
	}
}

func TestPocketsphinxLanguageModel(t *testing.T) {
	ps, es := needSpeech(t)
	// The general model on espeak-ng's robotic voice is rough ("yes" comes
	// out "yeah", "no" as "oh"), so this checks the path runs and hears
	// words; the grammar test checks accuracy.
	res, err := ps.Recognize(context.Background(), say(t, es, "no"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text == "" {
		t.Errorf("the language model heard nothing for no")
	}
	t.Logf("LM heard %q for no", res.Text)
	// A word the dictionary lacks turns the grammar off: still decoded.
	res, err = ps.Recognize(context.Background(), say(t, es, "one two three"), []string{"zzxqv", "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.Fields(res.Text)) == 0 {
		t.Errorf("the language-model fallback heard nothing")
	}
	t.Logf("LM heard %q for one two three", res.Text)
}

func TestPocketsphinxSilenceIsEmpty(t *testing.T) {
	ps, _ := needSpeech(t)
	ctx := context.Background()
	silence := audio.Silence(audio.Rate, time.Second)
	// Quiet hiss, above the energy gate: the decoder itself must find
	// nothing even with a grammar.
	hiss := audio.Silence(audio.Rate, time.Second)
	var x uint32 = 1
	for i := range hiss.Samples {
		x = x*1664525 + 1013904223
		hiss.Samples[i] = int16(x>>24) - 128
	}
	for name, pcm := range map[string]audio.PCM{"silence": silence, "hiss": hiss} {
		for _, expect := range [][]string{nil, {"yes", "no"}} {
			res, err := ps.Recognize(ctx, pcm, expect)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if name == "silence" && res.Text != "" {
				t.Errorf("%s with %q: heard %q", name, expect, res.Text)
			}
			t.Logf("%s with %q: heard %q", name, expect, res.Text)
		}
	}
}

func TestPocketsphinxTimeoutAndCancel(t *testing.T) {
	ps, es := needSpeech(t)
	pcm := say(t, es, "one two three")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ps.Recognize(ctx, pcm, []string{"yes"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
	slow := *ps
	slow.Timeout, slow.Mode = time.Nanosecond, "batch" // the process's timeout
	if _, err := slow.Recognize(context.Background(), pcm, []string{"yes"}); !errors.Is(err, ErrRetryable) {
		t.Errorf("1 ns timeout: %v, want ErrRetryable", err)
	}
}

func TestPocketsphinxMissing(t *testing.T) {
	pcm := audio.PCM{Rate: audio.Rate, Samples: make([]int16, 800)}
	p := &Pocketsphinx{Path: "/nonexistent/pocketsphinx_batch", Mode: "batch"}
	_, err := p.Recognize(context.Background(), pcm, nil)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "apt-get install pocketsphinx") {
		t.Errorf("missing binary: %v", err)
	}
	if _, lerr := os.Stat("/bin/true"); lerr == nil {
		p = &Pocketsphinx{Path: "/bin/true", HMM: t.TempDir()}
		_, err = p.Recognize(context.Background(), pcm, nil)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "pocketsphinx-en-us") {
			t.Errorf("missing model: %v", err)
		}
	}
	if _, err := (&Pocketsphinx{}).Recognize(context.Background(), audio.PCM{Samples: []int16{1}}, nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("audio without a rate: %v", err)
	}
	long := audio.Silence(audio.Rate, 61*time.Second)
	if _, err := (&Pocketsphinx{}).Recognize(context.Background(), long, nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("61 s of audio: %v", err)
	}
}

func TestBuildJSGF(t *testing.T) {
	dict := map[string]bool{"yes": true, "no": true, "don't": true, "call": true, "me": true, "later": true}
	got := buildJSGF([]string{"Yes!", " no ", "NO", "Don't call me, later", ""}, dict)
	want := "#JSGF V1.0;\ngrammar parley;\npublic <utterance> = yes | no | don't call me later;\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, bad := range [][]string{
		{"yes", "maybe"},         // not in the dictionary
		{"yes", "42"},            // digits
		{"да", "yes"},            // not English
		{"yes | no; public <x>"}, // JSGF syntax is split away, "public" and "x" unknown
		{"", " "},                // nothing
	} {
		if g := buildJSGF(bad, dict); g != "" {
			t.Errorf("%q: got grammar %q, want the language model", bad, g)
		}
	}
	// Injection attempts reduce to words.
	if g := buildJSGF([]string{"<yes>;no"}, dict); !strings.Contains(g, "= yes no;") {
		t.Errorf("got %q", g)
	}
}

func TestParseHyp(t *testing.T) {
	for in, want := range map[string]string{
		"yes (utt -1892)\n":         "yes",
		"one two three (utt -3285)": "one two three",
		" (utt 0)\n":                "",
		"":                          "",
		"<s> why(2) <sil> don't [NOISE] we (utt -6167)": "why don't we",
	} {
		got, ok := parseHyp(in)
		if !ok || got != want {
			t.Errorf("%q: got %q %v, want %q", in, got, ok, want)
		}
	}
	if _, ok := parseHyp("garbage"); ok {
		t.Error("garbage parsed")
	}
}

// TestPocketsphinxStream feeds an answer frame by frame, as the voice
// trunk does, and checks the partial hypothesis is a complete phrase of
// the grammar before the utterance ends, and the final one is the answer.
func TestPocketsphinxStream(t *testing.T) {
	ps, es := needSpeech(t)
	if !ps.Library() {
		if os.Getenv("PARLEY_TEST_SPEECH") == "1" {
			t.Fatal("PARLEY_TEST_SPEECH=1 but the pocketsphinx library does not load")
		}
		t.Skip("libpocketsphinx not loadable")
	}
	ctx := context.Background()
	for _, c := range []struct {
		say    string
		expect []string
	}{{"yes", []string{"yes", "no"}}, {"no", []string{"yes", "no"}}, {"call me later", []string{"yes", "call me later"}}} {
		pcm := say(t, es, c.say)
		st, err := ps.Stream(ctx, audio.Rate, c.expect)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(pcm.Samples); i += 160 {
			st.Write(pcm.Samples[i:min(i+160, len(pcm.Samples))])
		}
		// 200 ms of line silence after the answer, as the grammar rule waits.
		for range 10 {
			st.Write(make([]int16, 160))
		}
		complete := false
		for range 200 {
			if complete = st.Complete(); complete {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !complete {
			t.Errorf("%q: partial %q never a complete phrase of %q", c.say, st.Partial(), c.expect)
		}
		res, err := st.Finish(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != c.say {
			t.Errorf("said %q: heard %q", c.say, res.Text)
		}
	}
	// An open stream (language model) hears words.
	st, err := ps.Stream(ctx, audio.Rate, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Write(say(t, es, "no").Samples)
	// Stable: once the decoder has caught up with 400 ms of silence, the
	// hypothesis has held through (most of) it; behind counts what it has
	// not decoded yet.
	silence := make([]int16, audio.Rate*2/5)
	st.Write(silence)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	kept, behind := st.Stable()
	for behind > 0 {
		if wctx.Err() != nil {
			t.Fatalf("the decoder never caught up: %v behind", behind)
		}
		time.Sleep(5 * time.Millisecond)
		kept, behind = st.Stable()
	}
	if st.Partial() == "" || kept <= 0 || kept > 10*time.Second {
		t.Errorf("open stream after silence: partial %q held %v", st.Partial(), kept)
	}
	if res, err := st.Finish(ctx); err != nil || res.Text == "" || st.Complete() {
		t.Errorf("open stream: %q %v", res.Text, err)
	}
	// Every decoder in use: ErrBusy, not a wait.
	var held []Stream
	for {
		s, err := ps.Stream(ctx, audio.Rate, nil)
		if errors.Is(err, ErrBusy) {
			break
		}
		if err != nil || len(held) > 64 {
			t.Fatalf("stream %d: %v", len(held), err)
		}
		held = append(held, s)
	}
	for _, s := range held {
		s.Close()
	}
}
