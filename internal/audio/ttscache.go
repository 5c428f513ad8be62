package audio

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// TTSCache keeps synthesized prompts in memory by (engine, voice, text),
// least recently used first out past its byte budget, so a prompt said on
// every call is synthesized once (cloud engines charge per request) and a
// say() starts without waiting for the engine. Concurrent requests for
// the same prompt share one synthesis. Safe for concurrent use.
type TTSCache struct {
	max int64 // bytes of samples
	// store, if set, is the second tier (the media store): prompts
	// survive restarts and are shared by nodes, so a cloud engine is paid
	// once per prompt, not once per process.
	store PromptStore
	saves chan struct{} // bounds the saves in flight

	mu        sync.Mutex
	size      int64
	items     map[ttsKey]*list.Element
	lru       *list.List // front: most recent
	inflight  map[ttsKey]*ttsCall
	hits      uint64
	misses    uint64
	storeHits uint64
}

// PromptStore keeps synthesized prompts by key outside the process.
// Get reports ok=false for a prompt it does not hold.
type PromptStore interface {
	Get(ctx context.Context, key string) (pcm PCM, ok bool, err error)
	Put(ctx context.Context, key string, pcm PCM) error
}

// WithStore makes store the cache's second tier and returns the cache.
// A prompt missing from memory is looked up there before the engine is
// asked, and what the engine synthesizes is saved there in the
// background (at most two saves at once; a prompt whose save is refused
// for that is saved on its next synthesis).
func (c *TTSCache) WithStore(store PromptStore) *TTSCache {
	c.store, c.saves = store, make(chan struct{}, 2)
	return c
}

// StoreKey is where a prompt lives in a PromptStore: a digest of what
// makes its audio, so that texts of any length and alphabet make valid
// object names and a listing of the store reveals no text.
func StoreKey(engine, voice, text string) string {
	h := sha256.New()
	for _, part := range []string{engine, voice, text} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

type ttsKey struct{ engine, voice, text string }

type ttsItem struct {
	key ttsKey
	pcm PCM
}

type ttsCall struct {
	done chan struct{}
	pcm  PCM
	err  error
}

// NewTTSCache returns a cache of at most maxBytes of audio; 0 or less
// caches nothing.
func NewTTSCache(maxBytes int64) *TTSCache {
	return &TTSCache{max: maxBytes, items: map[ttsKey]*list.Element{}, lru: list.New(), inflight: map[ttsKey]*ttsCall{}}
}

// Stats returns the cache's hits, misses and bytes held.
func (c *TTSCache) Stats() (hits, misses uint64, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, c.size
}

// StoreHits is how many memory misses the second tier answered.
func (c *TTSCache) StoreHits() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.storeHits
}

// Synthesizer wraps s: engine names it in the key (with whatever else
// makes its audio differ, such as the language or, for a cloud engine,
// the account), so two engines never share an entry.
func (c *TTSCache) Synthesizer(engine string, s Synthesizer) Synthesizer {
	if c == nil || c.max <= 0 {
		return s
	}
	return cachedSynth{c: c, engine: engine, s: s}
}

type cachedSynth struct {
	c      *TTSCache
	engine string
	s      Synthesizer
}

// Synthesize returns the cached audio (the caller must not change its
// samples) or synthesizes it once.
func (cs cachedSynth) Synthesize(ctx context.Context, text, voice string) (PCM, error) {
	return cs.synthesize(ctx, text, voice, nil)
}

// SynthesizeStream implements StreamSynthesizer: cached audio (or another
// caller's synthesis of the same text) is emitted whole; a synthesis this
// call leads is streamed when the engine streams, and cached once whole.
func (cs cachedSynth) SynthesizeStream(ctx context.Context, text, voice string, emit func([]int16)) (PCM, error) {
	return cs.synthesize(ctx, text, voice, emit)
}

// synthesize is Synthesize; with emit, the audio also goes to emit: as
// the engine makes it when this call synthesizes and the engine streams,
// else whole once it is there.
func (cs cachedSynth) synthesize(ctx context.Context, text, voice string, emit func([]int16)) (PCM, error) {
	whole := func(pcm PCM, err error) (PCM, error) {
		if err == nil && emit != nil && len(pcm.Samples) > 0 {
			emit(pcm.Samples)
		}
		return pcm, err
	}
	c, k := cs.c, ttsKey{cs.engine, voice, text}
	c.mu.Lock()
	if el, ok := c.items[k]; ok {
		c.lru.MoveToFront(el)
		c.hits++
		pcm := el.Value.(*ttsItem).pcm
		c.mu.Unlock()
		return whole(pcm, nil)
	}
	c.misses++
	if call, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return whole(call.pcm, call.err)
		case <-ctx.Done():
			return PCM{}, ctx.Err()
		}
	}
	call := &ttsCall{done: make(chan struct{})}
	c.inflight[k] = call
	c.mu.Unlock()

	// The synthesis outlives a caller that gives up, for the others
	// waiting on it; the engine's own timeout bounds it.
	fromStore := false
	if c.store != nil {
		// A store that fails or holds a damaged object is a miss: the
		// engine still answers.
		if pcm, ok, err := c.store.Get(context.WithoutCancel(ctx), StoreKey(k.engine, k.voice, k.text)); err == nil && ok && len(pcm.Samples) > 0 {
			call.pcm, fromStore = pcm, true
		}
	}
	streamed := false
	if !fromStore {
		if ss, ok := cs.s.(StreamSynthesizer); ok && emit != nil {
			// The pieces go to this caller only while it still wants
			// them; the synthesis itself goes on for the cache and the
			// callers waiting on it.
			call.pcm, call.err = ss.SynthesizeStream(context.WithoutCancel(ctx), text, voice, func(p []int16) {
				if ctx.Err() == nil {
					emit(p)
				}
			})
			streamed = true
		} else {
			call.pcm, call.err = cs.s.Synthesize(context.WithoutCancel(ctx), text, voice)
		}
	}
	c.mu.Lock()
	delete(c.inflight, k)
	stored := false
	if call.err == nil {
		stored = c.add(k, call.pcm)
	}
	if fromStore {
		c.storeHits++
	}
	c.mu.Unlock()
	close(call.done)
	if stored && !fromStore && c.store != nil {
		c.save(k, call.pcm)
	}
	if streamed {
		if err := ctx.Err(); err != nil {
			return PCM{}, err // this caller stopped taking the pieces
		}
		return call.pcm, call.err
	}
	return whole(call.pcm, call.err)
}

// save writes a prompt to the store in the background unless two saves
// are already running.
func (c *TTSCache) save(k ttsKey, pcm PCM) {
	select {
	case c.saves <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-c.saves }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.store.Put(ctx, StoreKey(k.engine, k.voice, k.text), pcm)
	}()
}

// add keeps a prompt and tells whether it did: one larger than a quarter
// of the budget is not kept (nor saved to the store), so that one prompt
// cannot flush the cache.
func (c *TTSCache) add(k ttsKey, pcm PCM) bool {
	n := int64(len(pcm.Samples))*2 + int64(len(k.text)+len(k.voice)+len(k.engine)) + 64
	if n > c.max/4 {
		return false
	}
	c.items[k] = c.lru.PushFront(&ttsItem{key: k, pcm: pcm})
	c.size += n
	for c.size > c.max {
		el := c.lru.Back()
		it := el.Value.(*ttsItem)
		c.lru.Remove(el)
		delete(c.items, it.key)
		c.size -= int64(len(it.pcm.Samples))*2 + int64(len(it.key.text)+len(it.key.voice)+len(it.key.engine)) + 64
	}
	return true
}

// Cached tells whether s keeps what it synthesizes (a TTSCache's), so
// synthesizing ahead is worth it.
func Cached(s Synthesizer) bool {
	_, ok := s.(cachedSynth)
	return ok
}

// Uncached returns the synthesizer a cache wraps, or s itself.
func Uncached(s Synthesizer) Synthesizer {
	if c, ok := s.(cachedSynth); ok {
		return c.s
	}
	return s
}
