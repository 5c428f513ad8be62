package audio

import (
	"container/list"
	"context"
	"sync"
)

// TTSCache keeps synthesized prompts in memory by (engine, voice, text),
// least recently used first out past its byte budget, so a prompt said on
// every call is synthesized once (cloud engines charge per request) and a
// say() starts without waiting for the engine. Concurrent requests for
// the same prompt share one synthesis. Safe for concurrent use.
type TTSCache struct {
	max int64 // bytes of samples

	mu       sync.Mutex
	size     int64
	items    map[ttsKey]*list.Element
	lru      *list.List // front: most recent
	inflight map[ttsKey]*ttsCall
	hits     uint64
	misses   uint64
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
	c, k := cs.c, ttsKey{cs.engine, voice, text}
	c.mu.Lock()
	if el, ok := c.items[k]; ok {
		c.lru.MoveToFront(el)
		c.hits++
		pcm := el.Value.(*ttsItem).pcm
		c.mu.Unlock()
		return pcm, nil
	}
	c.misses++
	if call, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.pcm, call.err
		case <-ctx.Done():
			return PCM{}, ctx.Err()
		}
	}
	call := &ttsCall{done: make(chan struct{})}
	c.inflight[k] = call
	c.mu.Unlock()

	// The synthesis outlives a caller that gives up, for the others
	// waiting on it; the engine's own timeout bounds it.
	call.pcm, call.err = cs.s.Synthesize(context.WithoutCancel(ctx), text, voice)
	c.mu.Lock()
	delete(c.inflight, k)
	if call.err == nil {
		c.add(k, call.pcm)
	}
	c.mu.Unlock()
	close(call.done)
	return call.pcm, call.err
}

func (c *TTSCache) add(k ttsKey, pcm PCM) {
	n := int64(len(pcm.Samples))*2 + int64(len(k.text)+len(k.voice)+len(k.engine)) + 64
	if n > c.max/4 { // one prompt may not flush the cache
		return
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
