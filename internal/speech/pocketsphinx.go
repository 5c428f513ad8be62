package speech

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/parley-cc/parley/internal/audio"
)

// Where Debian's packages put pocketsphinx (package pocketsphinx, 0.8 /
// 5prealpha) and its US English model (package pocketsphinx-en-us).
const (
	PocketsphinxBinary = "pocketsphinx_batch"
	DebianHMM          = "/usr/share/pocketsphinx/model/en-us/en-us"
	DebianDict         = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
	DebianLM           = "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"
)

const (
	// psRate is the rate of the en-us acoustic model.
	psRate = 16000
	// psMaxAudioSeconds bounds one utterance; a listen() is seconds long.
	psMaxAudioSeconds = 60
	// psTimeout bounds one decoder run when ctx allows longer. Decoding
	// runs far faster than real time; this catches a wedged process.
	psTimeout = 30 * time.Second
	// psMaxPhrases and psMaxWords bound the grammar a script can build.
	psMaxPhrases = 1000
	psMaxWords   = 20
	// psSilenceRMS: audio with no 20 ms frame louder than this (about
	// -55 dBFS) holds no speech, and is answered without decoding.
	psSilenceRMS = 60
)

// Pocketsphinx recognizes speech locally with CMU pocketsphinx, running
// its batch decoder (pocketsphinx_batch) once per utterance: the whole
// utterance is decoded at once, with no voice-activity detector to split
// it. With expected phrases it decodes against a JSGF grammar of exactly
// those phrases, which is far more accurate on short answers than the
// general language model; without them, or when a phrase has a word the
// dictionary lacks, it uses the model's full language model.
//
// pocketsphinx reports no confidence for a batch hypothesis, so Result's
// Confidence is 0 ("not reported").
type Pocketsphinx struct {
	Path    string        // the pocketsphinx_batch binary; "" looks it up on PATH
	HMM     string        // acoustic model directory; "" is DebianHMM
	Dict    string        // pronunciation dictionary; "" is DebianDict
	LM      string        // language model; "" is DebianLM
	Timeout time.Duration // per utterance; 0 is 30 s
	// Mode picks the engine: "library" (resident decoders through
	// libpocketsphinx, an error if it is missing), "batch" (a
	// pocketsphinx_batch process per utterance), or "" / "auto" (the
	// library when it loads, else the batch process). PARLEY_ASR.
	Mode string
	// Decoders is the number of resident decoders shared by all calls;
	// 0 is DefaultDecoders. PARLEY_ASR_DECODERS.
	Decoders int
}

// LookupPocketsphinx returns a recognizer on Debian's paths if the binary
// and the model are installed, and otherwise an error wrapping
// ErrUnavailable that says which package is missing.
func LookupPocketsphinx() (*Pocketsphinx, error) {
	p := &Pocketsphinx{}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pocketsphinx) paths() (bin, hmm, dict, lm string) {
	return orDefault(p.Path, PocketsphinxBinary), orDefault(p.HMM, DebianHMM), orDefault(p.Dict, DebianDict), orDefault(p.LM, DebianLM)
}

// Check verifies that the binary runs from PATH (or Path) and the model
// files exist, without decoding anything.
func (p *Pocketsphinx) Check() error {
	_, err := p.check()
	return err
}

func (p *Pocketsphinx) check() (string, error) {
	bin, hmm, dict, lm := p.paths()
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("%w: pocketsphinx: %s not found (Debian: apt-get install pocketsphinx)", ErrUnavailable, bin)
	}
	for _, f := range []string{filepath.Join(hmm, "mdef"), dict, lm} {
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("%w: pocketsphinx: model file %s missing (Debian: apt-get install pocketsphinx-en-us)", ErrUnavailable, f)
		}
	}
	return path, nil
}

// Recognize decodes pcm (8 kHz telephone audio, upsampled to the model's
// 16 kHz). Silence, and audio the decoder finds nothing in, give an empty
// Result.
func (p *Pocketsphinx) Recognize(ctx context.Context, pcm audio.PCM, expect []string) (Result, error) {
	pcm, err := toRate(pcm, pcm.Rate, psMaxAudioSeconds)
	if err != nil {
		return Result{}, err
	}
	if pl, perr := p.pool(); perr == nil {
		if !hasSound(pcm) {
			return Result{}, nil
		}
		return p.recognizeLib(ctx, pl, pcm, expect)
	} else if p.Mode == "library" {
		return Result{}, perr
	}
	bin, err := p.check()
	if err != nil {
		return Result{}, err
	}
	if !hasSound(pcm) {
		return Result{}, nil
	}
	_, hmm, dictPath, lm := p.paths()

	var grammar string
	if len(expect) > 0 {
		dict, err := loadDict(dictPath)
		if err != nil {
			return Result{}, err
		}
		grammar = buildJSGF(expect, dict) // "" when a word is unknown: use the LM
	}

	dir, err := os.MkdirTemp("", "parley-asr-")
	if err != nil {
		return Result{}, fmt.Errorf("speech: pocketsphinx: %w", err)
	}
	defer os.RemoveAll(dir)

	// 200 ms of silence either side gives the decoder's normalisation a
	// start and the last word a clean end.
	in := audio.Resample(pcm, psRate)
	pad := make([]int16, psRate/5)
	samples := append(append(append(make([]int16, 0, len(in.Samples)+2*len(pad)), pad...), in.Samples...), pad...)
	var wav bytes.Buffer
	if err := audio.EncodeWAV(&wav, [][]int16{samples}, psRate); err != nil {
		return Result{}, err
	}
	files := map[string]string{"utt.wav": wav.String(), "ctl": "utt\n"}
	if grammar != "" {
		files["grammar.jsgf"] = grammar
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			return Result{}, fmt.Errorf("speech: pocketsphinx: %w", err)
		}
	}
	args := []string{
		"-adcin", "yes", "-adchdr", "44", "-samprate", "16000",
		"-cepdir", dir, "-cepext", ".wav", "-ctl", filepath.Join(dir, "ctl"),
		"-hyp", filepath.Join(dir, "hyp"),
		"-hmm", hmm, "-dict", dictPath,
		// Dither: digital silence (all zeros) otherwise confuses the
		// front end into "hearing" a grammar word. A fixed seed keeps
		// results reproducible.
		"-dither", "yes", "-seed", "1",
		"-logfn", filepath.Join(dir, "log"),
	}
	if grammar != "" {
		args = append(args, "-jsgf", filepath.Join(dir, "grammar.jsgf"))
	} else {
		args = append(args, "-lm", lm)
	}

	timeout := p.Timeout
	if timeout <= 0 {
		timeout = psTimeout
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, bin, args...)
	var out limitedBuffer
	out.max = 4 << 10
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("speech: pocketsphinx: %w", ctx.Err())
		}
		if runCtx.Err() != nil {
			return Result{}, fmt.Errorf("%w: pocketsphinx: no result within %s", ErrRetryable, timeout)
		}
		msg := logErrors(filepath.Join(dir, "log"), out.String())
		if strings.Contains(msg, "init failed") {
			return Result{}, fmt.Errorf("%w: pocketsphinx: %s", ErrUnavailable, msg)
		}
		return Result{}, fmt.Errorf("speech: pocketsphinx: %v: %s", err, msg)
	}
	hyp, err := readCapped(filepath.Join(dir, "hyp"), 64<<10)
	if err != nil {
		return Result{}, fmt.Errorf("speech: pocketsphinx: no hypothesis file: %s", logErrors(filepath.Join(dir, "log"), out.String()))
	}
	text, ok := parseHyp(hyp)
	if !ok {
		return Result{}, fmt.Errorf("%w: pocketsphinx: unreadable hypothesis %q", ErrBadResponse, clip(hyp, ""))
	}
	return Result{Text: text}, nil
}

// hasSound tells whether any 20 ms frame of p rises above psSilenceRMS.
func hasSound(p audio.PCM) bool {
	frame := max(p.Rate/50, 1)
	for i := 0; i < len(p.Samples); i += frame {
		var sum float64
		end := min(i+frame, len(p.Samples))
		for _, s := range p.Samples[i:end] {
			sum += float64(s) * float64(s)
		}
		if math.Sqrt(sum/float64(end-i)) > psSilenceRMS {
			return true
		}
	}
	return false
}

// hypLine is one line of a -hyp file: "words (uttid score)".
var hypLine = regexp.MustCompile(`^(.*?)\s*\(\S+\s+-?\d+\)\s*$`)

// parseHyp returns the words of the hypothesis file's last line, fillers
// (<s>, <sil>, [NOISE]) and alternative-pronunciation marks ("word(2)")
// dropped.
func parseHyp(s string) (string, bool) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return "", true // an empty file: nothing decoded
	}
	m := hypLine.FindStringSubmatch(last)
	if m == nil {
		return "", false
	}
	var words []string
	for _, w := range strings.Fields(m[1]) {
		if strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		words = append(words, w)
	}
	return strings.Join(words, " "), true
}

// jsgfWord is a word a JSGF grammar can hold unquoted and the CMU
// dictionary spells: lower-case letters and apostrophes.
var jsgfWord = regexp.MustCompile(`^[a-z][a-z']*$`)

// normalizeWords splits a phrase into dictionary words: lower-cased, split
// at anything but letters, digits and apostrophes, apostrophes trimmed off
// the ends ("Yes, please!" → yes please; "don't" stays).
func normalizeWords(phrase string) []string {
	f := strings.FieldsFunc(strings.ToLower(phrase), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	out := f[:0]
	for _, w := range f {
		if w = strings.Trim(w, "'"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// buildJSGF returns a grammar accepting exactly one of the phrases, or ""
// if any phrase has a word dict lacks (or one JSGF can't hold, such as
// digits or non-English letters), or there are none: the caller then uses
// the language model, which can still hear every dictionary word.
func buildJSGF(phrases []string, dict map[string]bool) string {
	var alts []string
	seen := map[string]bool{}
	for _, p := range phrases {
		words := normalizeWords(p)
		if len(words) == 0 {
			continue
		}
		if len(words) > psMaxWords {
			return ""
		}
		for _, w := range words {
			if !jsgfWord.MatchString(w) || !dict[w] {
				return ""
			}
		}
		alt := strings.Join(words, " ")
		if !seen[alt] {
			seen[alt] = true
			alts = append(alts, alt)
		}
	}
	if len(alts) == 0 || len(alts) > psMaxPhrases {
		return ""
	}
	return "#JSGF V1.0;\ngrammar parley;\npublic <utterance> = " + strings.Join(alts, " | ") + ";\n"
}

// dicts caches each dictionary's word set: the en-us one is 3.5 MB, read
// once per process rather than per utterance.
var dicts sync.Map // path → *dictEntry

type dictEntry struct {
	once  sync.Once
	words map[string]bool
	err   error
}

func loadDict(path string) (map[string]bool, error) {
	v, _ := dicts.LoadOrStore(path, &dictEntry{})
	e := v.(*dictEntry)
	e.once.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			e.err = fmt.Errorf("%w: pocketsphinx: dictionary: %v", ErrUnavailable, err)
			return
		}
		defer f.Close()
		e.words = map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			w, _, _ := strings.Cut(sc.Text(), " ")
			if i := strings.IndexByte(w, '('); i > 0 {
				w = w[:i] // "read(2)": an alternative pronunciation
			}
			if w != "" {
				e.words[w] = true
			}
		}
		if err := sc.Err(); err != nil {
			e.words, e.err = nil, fmt.Errorf("%w: pocketsphinx: dictionary: %v", ErrUnavailable, err)
		}
	})
	return e.words, e.err
}

// logErrors picks the ERROR and FATAL lines of a pocketsphinx log (or of
// its direct output), for an error message.
func logErrors(logPath, direct string) string {
	text, _ := readCapped(logPath, 1<<20)
	text += "\n" + direct
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "ERROR:") || strings.HasPrefix(l, "FATAL") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	if len(lines) == 0 {
		return "no error logged"
	}
	return clip(strings.Join(lines, "; "), "")
}

// readCapped reads at most the last max bytes of a file.
func readCapped(path string, max int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, max))
	return string(b), err
}

// limitedBuffer keeps the first max bytes written and drops the rest, so
// a chatty child can't grow memory.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }

var _ Recognizer = (*Pocketsphinx)(nil)
