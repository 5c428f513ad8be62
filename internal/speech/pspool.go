package speech

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-cc/parley/internal/audio"
)

// Streamer is a Recognizer that decodes audio while it arrives, so the
// hypothesis is ready when the caller stops talking: the voice trunk feeds
// each received frame to a Stream and asks Complete() to end a turn early.
type Streamer interface {
	Recognizer
	// Stream starts decoding one utterance of mono audio at rate against
	// expect (a grammar) or, without phrases, the language model. It
	// returns ErrBusy when no decoder is free right now: the caller then
	// buffers and uses Recognize.
	Stream(ctx context.Context, rate int, expect []string) (Stream, error)
}

// Stream is one utterance being decoded.
type Stream interface {
	// Write queues samples for decoding and returns at once.
	Write(samples []int16)
	// Partial is the hypothesis of the audio decoded so far.
	Partial() string
	// Complete tells whether Partial is, word for word, one of the
	// expected phrases (always false without phrases).
	Complete() bool
	// Stable is how much decoded audio Partial has held through since it
	// last changed, and behind how much written audio still waits to be
	// decoded: an open listen ends early on a hypothesis that held through
	// the trailing silence, which it can only know once that silence is
	// decoded.
	Stable() (held, behind time.Duration)
	// Finish decodes what is queued, ends the utterance and returns the
	// final hypothesis; the Stream is done after it.
	Finish(ctx context.Context) (Result, error)
	// Close abandons the utterance (no-op after Finish).
	Close()
}

// ErrBusy is Stream's answer when every decoder is in use.
var ErrBusy = errors.New("speech: every decoder is busy")

// DefaultDecoders is the number of resident pocketsphinx decoders (each
// holds the acoustic model, dictionary and language model, ~25 MB).
const DefaultDecoders = 2

// psPool is the process's resident decoders of one model, built once and
// shared by every call.
type psPool struct {
	lib  *psLib
	free chan *psDecoder
	size int
}

var (
	psPoolsMu sync.Mutex
	psPools   = map[string]*poolEntry{}
)

// poolEntry builds one model's decoders once; a model that failed to load
// is not retried per call.
type poolEntry struct {
	once  sync.Once
	ready atomic.Bool
	pl    *psPool
	err   error
}

func (p *Pocketsphinx) entry() (*poolEntry, error) {
	if p.Mode == "batch" {
		return nil, fmt.Errorf("%w: pocketsphinx library disabled (PARLEY_ASR=batch)", ErrUnavailable)
	}
	_, hmm, dict, lm := p.paths()
	n := p.Decoders
	if n <= 0 {
		n = DefaultDecoders
	}
	key := fmt.Sprintf("%s|%s|%s|%d", hmm, dict, lm, n)
	psPoolsMu.Lock()
	defer psPoolsMu.Unlock()
	e := psPools[key]
	if e == nil {
		e = &poolEntry{}
		psPools[key] = e
	}
	return e, nil
}

// pool returns the decoders of p's model, building them on first use.
func (p *Pocketsphinx) pool() (*psPool, error) {
	e, err := p.entry()
	if err != nil {
		return nil, err
	}
	e.once.Do(func() {
		defer e.ready.Store(true)
		lib, err := loadPSLib()
		if err != nil {
			e.err = err
			return
		}
		_, hmm, dict, lm := p.paths()
		n := max(p.Decoders, 0)
		if n == 0 {
			n = DefaultDecoders
		}
		pl := &psPool{lib: lib, free: make(chan *psDecoder, n), size: n}
		for range n {
			d, err := newPSDecoder(lib, hmm, dict, lm)
			if err != nil {
				for len(pl.free) > 0 {
					(<-pl.free).close()
				}
				e.err = err
				return
			}
			pl.free <- d
		}
		e.pl = pl
	})
	return e.pl, e.err
}

// readyPool returns the decoders if they are built; otherwise it starts
// building them in the background and returns ErrBusy, so a call never
// waits seconds for a model load in the middle of a turn.
func (p *Pocketsphinx) readyPool() (*psPool, error) {
	e, err := p.entry()
	if err != nil {
		return nil, err
	}
	if e.ready.Load() {
		return e.pl, e.err
	}
	go func() { _, _ = p.pool() }()
	return nil, ErrBusy
}

// Warm loads the model into the resident decoders and reads the
// dictionary, so the first call pays nothing; it reports whether the
// library is in use (false: the batch process will be).
func (p *Pocketsphinx) Warm() (bool, error) {
	_, _, dict, _ := p.paths()
	if _, err := loadDict(dict); err != nil {
		return false, err
	}
	if _, err := p.pool(); err != nil {
		if p.Mode == "library" {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// Library tells whether Recognize and Stream use the resident decoders.
func (p *Pocketsphinx) Library() bool {
	_, err := p.pool()
	return err == nil
}

func grammarName(g string) string {
	s := sha256.Sum256([]byte(g))
	return "g" + hex.EncodeToString(s[:8])
}

// grammarOf returns the JSGF grammar of expect ("" for the language
// model) and the phrases a complete answer is, normalised.
func (p *Pocketsphinx) grammarOf(expect []string) (string, map[string]bool, error) {
	if len(expect) == 0 {
		return "", nil, nil
	}
	_, _, dictPath, _ := p.paths()
	dict, err := loadDict(dictPath)
	if err != nil {
		return "", nil, err
	}
	g := buildJSGF(expect, dict)
	if g == "" {
		return "", nil, nil
	}
	phrases := map[string]bool{}
	for _, e := range expect {
		if w := normalizeWords(e); len(w) > 0 {
			phrases[strings.Join(w, " ")] = true
		}
	}
	return g, phrases, nil
}

// Stream implements Streamer with a resident decoder.
func (p *Pocketsphinx) Stream(ctx context.Context, rate int, expect []string) (Stream, error) {
	pl, err := p.readyPool()
	if err != nil {
		return nil, err
	}
	if rate != audio.Rate && rate != psRate {
		return nil, fmt.Errorf("%w: stream rate %d (8000 or 16000)", ErrBadRequest, rate)
	}
	grammar, phrases, err := p.grammarOf(expect)
	if err != nil {
		return nil, err
	}
	var d *psDecoder
	select {
	case d = <-pl.free:
	default:
		return nil, ErrBusy
	}
	if err := d.use(grammar); err != nil {
		pl.free <- d
		return nil, err
	}
	if err := d.start(); err != nil {
		pl.free <- d
		return nil, err
	}
	s := &psStream{pool: pl, dec: d, rate: rate, phrases: phrases, in: make(chan []int16, 1024), done: make(chan struct{})}
	// 200 ms of (dithered) silence gives the front end's normalisation a
	// start, as the batch path's padding does.
	d.process(make([]int16, psRate/5))
	go s.run()
	return s, nil
}

// recognizeLib decodes a whole utterance with a resident decoder, waiting
// for one to be free.
func (p *Pocketsphinx) recognizeLib(ctx context.Context, pl *psPool, pcm audio.PCM, expect []string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("speech: pocketsphinx: %w", err)
	}
	grammar, _, err := p.grammarOf(expect)
	if err != nil {
		return Result{}, err
	}
	var d *psDecoder
	select {
	case d = <-pl.free:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("speech: pocketsphinx: %w", ctx.Err())
	}
	defer func() { pl.free <- d }()
	if err := d.use(grammar); err != nil {
		return Result{}, err
	}
	if err := d.start(); err != nil {
		return Result{}, err
	}
	in := audio.Resample(pcm, psRate)
	pad := make([]int16, psRate/5)
	d.process(pad)
	d.process(in.Samples)
	d.process(pad)
	return Result{Text: cleanHyp(d.end())}, nil
}

// psStream feeds one utterance to a decoder on its own goroutine, so the
// media loop never waits for decoding.
type psStream struct {
	pool    *psPool
	dec     *psDecoder
	rate    int
	phrases map[string]bool

	in       chan []int16
	done     chan struct{}
	partial  atomic.Pointer[string]
	written  atomic.Int64 // samples at rate given to Write
	decoded  atomic.Int64 // samples at rate decoded
	changed  atomic.Int64 // decoded when partial last changed
	closeMu  sync.Mutex
	closed   bool
	final    string
	lastIn   int16
	finished bool
}

func (s *psStream) run() {
	defer close(s.done)
	audio.MediaThread() // decoding keeps pace with the call under load
	var up []int16
	for samples := range s.in {
		if s.rate == psRate {
			s.dec.process(samples)
		} else {
			up = s.upsample(up[:0], samples)
			s.dec.process(up)
		}
		h := cleanHyp(s.dec.hyp())
		n := s.decoded.Add(int64(len(samples)))
		if old := s.partial.Load(); old == nil || *old != h {
			s.changed.Store(n)
		}
		s.partial.Store(&h)
	}
	s.final = cleanHyp(s.dec.end())
}

// upsample doubles 8 kHz to 16 kHz by linear interpolation, carrying the
// last sample across calls so frame edges add no click.
func (s *psStream) upsample(dst, src []int16) []int16 {
	prev := s.lastIn
	for _, x := range src {
		dst = append(dst, int16((int32(prev)+int32(x))/2), x)
		prev = x
	}
	s.lastIn = prev
	return dst
}

func (s *psStream) Write(samples []int16) {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.in <- append([]int16(nil), samples...):
		s.written.Add(int64(len(samples)))
	default: // 20 s queued: the decoder has fallen hopelessly behind
	}
}

func (s *psStream) Stable() (held, behind time.Duration) {
	// changed before decoded: a change between the two loads makes held
	// shorter, never longer, than the truth.
	changed := s.changed.Load()
	decoded := s.decoded.Load()
	written := s.written.Load()
	d := func(n int64) time.Duration { return time.Duration(n) * time.Second / time.Duration(s.rate) }
	return d(decoded - changed), d(max(written-decoded, 0))
}

func (s *psStream) Partial() string {
	if h := s.partial.Load(); h != nil {
		return *h
	}
	return ""
}

func (s *psStream) Complete() bool {
	if len(s.phrases) == 0 {
		return false
	}
	h := s.Partial()
	return h != "" && s.phrases[h]
}

func (s *psStream) stop() {
	s.closeMu.Lock()
	if !s.closed {
		s.closed = true
		close(s.in)
	}
	s.closeMu.Unlock()
}

func (s *psStream) Finish(ctx context.Context) (Result, error) {
	s.stop()
	select {
	case <-s.done:
	case <-ctx.Done():
		go s.release() // the decoder returns once it has caught up
		return Result{}, fmt.Errorf("speech: pocketsphinx: %w", ctx.Err())
	}
	s.release()
	return Result{Text: s.final}, nil
}

func (s *psStream) Close() {
	s.stop()
	go s.release()
}

// release gives the decoder back once the goroutine is done, once.
func (s *psStream) release() {
	<-s.done
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.finished {
		return
	}
	s.finished = true
	s.pool.free <- s.dec
}

// cleanHyp drops fillers and alternative-pronunciation marks from a
// hypothesis, as parseHyp does for the batch decoder's.
func cleanHyp(h string) string {
	var words []string
	for _, w := range strings.Fields(h) {
		if strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

var _ Streamer = (*Pocketsphinx)(nil)
