package audio

import (
	"context"
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
