package audio

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

type countingSynth struct{ n atomic.Int32 }

func (s *countingSynth) Synthesize(_ context.Context, text, voice string) (PCM, error) {
	s.n.Add(1)
	return PCM{Rate: Rate, Samples: make([]int16, 100*len(text))}, nil
}

func TestTTSCache(t *testing.T) {
	ctx := context.Background()
	inner := &countingSynth{}
	c := NewTTSCache(10_000)
	a, b := c.Synthesizer("espeak", inner), c.Synthesizer("google:k1", inner)
	var wg sync.WaitGroup
	for range 8 { // concurrent first requests share one synthesis
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = a.Synthesize(ctx, "hello", "en") }()
	}
	wg.Wait()
	if got := inner.n.Load(); got != 1 {
		t.Errorf("8 concurrent requests: %d syntheses", got)
	}
	_, _ = a.Synthesize(ctx, "hello", "fr") // another voice
	_, _ = b.Synthesize(ctx, "hello", "en") // another engine
	_, _ = a.Synthesize(ctx, "hello", "en") // cached
	if got := inner.n.Load(); got != 3 {
		t.Errorf("syntheses %d, want 3", got)
	}
	// Past the budget the least recently used go.
	for _, w := range []string{"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd", "eeeeeeeeee"} {
		_, _ = a.Synthesize(ctx, w, "en")
	}
	if _, _, size := c.Stats(); size > 10_000 {
		t.Errorf("cache holds %d bytes, budget 10000", size)
	}
	n := inner.n.Load()
	_, _ = a.Synthesize(ctx, "hello", "fr")
	if inner.n.Load() != n+1 {
		t.Error("the least recently used entry was kept past the budget")
	}
	if NewTTSCache(0).Synthesizer("x", inner) != Synthesizer(inner) {
		t.Error("a zero budget still wraps")
	}
}

// mapStore is a PromptStore in memory.
type mapStore struct {
	mu   sync.Mutex
	m    map[string]PCM
	puts chan string
}

func (s *mapStore) Get(_ context.Context, key string) (PCM, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[key]
	return p, ok, nil
}

func (s *mapStore) Put(_ context.Context, key string, pcm PCM) error {
	s.mu.Lock()
	s.m[key] = pcm
	s.mu.Unlock()
	s.puts <- key
	return nil
}

// TestTTSCacheStoreTier: what one cache synthesizes is saved to the store,
// and another cache on the same store (a restarted or another node) gets
// it from there without asking the engine; prompts too large for memory
// are not saved.
func TestTTSCacheStoreTier(t *testing.T) {
	ctx := context.Background()
	store := &mapStore{m: map[string]PCM{}, puts: make(chan string, 8)}
	inner := &countingSynth{}
	first := NewTTSCache(10_000).WithStore(store).Synthesizer("espeak", inner)
	if _, err := first.Synthesize(ctx, "hello", "en"); err != nil {
		t.Fatal(err)
	}
	if key := <-store.puts; key != StoreKey("espeak", "en", "hello") {
		t.Errorf("saved under %q", key)
	}
	c2 := NewTTSCache(10_000).WithStore(store)
	second := c2.Synthesizer("espeak", inner)
	pcm, err := second.Synthesize(ctx, "hello", "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := inner.n.Load(); got != 1 {
		t.Errorf("the engine synthesized %d times, want 1 (the second node reads the store)", got)
	}
	if len(pcm.Samples) != 500 || c2.StoreHits() != 1 {
		t.Errorf("second node: %d samples, %d store hits", len(pcm.Samples), c2.StoreHits())
	}
	// Another engine's prompt of the same text is its own.
	if _, err := c2.Synthesizer("google:k1", inner).Synthesize(ctx, "hello", "en"); err != nil {
		t.Fatal(err)
	}
	if got := inner.n.Load(); got != 2 {
		t.Errorf("another engine: %d syntheses, want 2", got)
	}
	<-store.puts
	// 100 samples a character: 3,000 bytes, over a quarter of the budget.
	if _, err := second.Synthesize(ctx, "a prompt far too long", "en"); err != nil {
		t.Fatal(err)
	}
	select {
	case key := <-store.puts:
		t.Errorf("a prompt the memory tier refuses was saved: %s", key)
	default:
	}
}

// streamingSynth emits each synthesis in pieces of 100 samples.
type streamingSynth struct{ countingSynth }

func (s *streamingSynth) SynthesizeStream(ctx context.Context, text, voice string, emit func([]int16)) (PCM, error) {
	pcm, err := s.Synthesize(ctx, text, voice)
	for i := 0; i < len(pcm.Samples); i += 100 {
		emit(pcm.Samples[i:min(i+100, len(pcm.Samples))])
	}
	return pcm, err
}

// TestTTSCacheStream: a miss streams the engine's pieces through and
// caches the whole; a hit emits the cached audio whole; both are the
// same audio; an engine that can't stream is emitted whole.
func TestTTSCacheStream(t *testing.T) {
	ctx := context.Background()
	inner := &streamingSynth{}
	s := NewTTSCache(1<<20).Synthesizer("test", inner).(StreamSynthesizer)
	var first [][]int16
	a, err := s.SynthesizeStream(ctx, "hello there", "v", func(p []int16) { first = append(first, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 2 || !slices.Equal(slices.Concat(first...), a.Samples) {
		t.Errorf("miss: %d pieces, together equal %v", len(first), slices.Equal(slices.Concat(first...), a.Samples))
	}
	var second [][]int16
	b, err := s.SynthesizeStream(ctx, "hello there", "v", func(p []int16) { second = append(second, p) })
	if err != nil || inner.n.Load() != 1 {
		t.Fatalf("hit: %v, %d syntheses", err, inner.n.Load())
	}
	if len(second) != 1 || !slices.Equal(second[0], a.Samples) || !slices.Equal(b.Samples, a.Samples) {
		t.Errorf("hit: %d pieces, not the cached audio", len(second))
	}
	plain := NewTTSCache(1<<20).Synthesizer("test", &countingSynth{}).(StreamSynthesizer)
	var pieces int
	c, err := plain.SynthesizeStream(ctx, "hello there", "v", func(p []int16) { pieces++ })
	if err != nil || pieces != 1 || len(c.Samples) == 0 {
		t.Errorf("engine that can't stream: %d pieces, %v", pieces, err)
	}
}
