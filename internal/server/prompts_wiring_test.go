package server

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/media"
)

type countedSynth struct{ calls atomic.Int32 }

func (s *countedSynth) Synthesize(_ context.Context, text, voice string) (audio.PCM, error) {
	s.calls.Add(1)
	return audio.PCM{Rate: 8000, Samples: []int16{int16(len(text)), 2, 3}}, nil
}

// TestPromptStoreWiredFromSettings: the registry built from the voice
// settings keeps a synthesized prompt in the media store, where a fresh
// node (an empty memory cache) finds it without calling the engine; a
// negative PARLEY_TTS_STORE_MB keeps prompts in memory only.
func TestPromptStoreWiredFromSettings(t *testing.T) {
	ctx := context.Background()
	store, err := media.NewLocal(media.LocalConfig{Dir: t.TempDir(), Secret: []byte(strings.Repeat("k", 32)), BaseURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	key := PromptPrefix + audio.StoreKey("espeak", "en", "hello there") + ".wav"

	first := &countedSynth{}
	reg, _ := VoiceConfig{}.registry(first, store, log)
	if _, err := reg.Cache.Synthesizer("espeak", first).Synthesize(ctx, "hello there", "en"); err != nil {
		t.Fatal(err)
	}
	// The save runs in the background: wait for the object.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, err := store.Open(ctx, key); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stored prompt %s", key)
		}
		time.Sleep(10 * time.Millisecond)
	}

	second := &countedSynth{}
	reg2, _ := VoiceConfig{}.registry(second, store, log)
	pcm, err := reg2.Cache.Synthesizer("espeak", second).Synthesize(ctx, "hello there", "en")
	if err != nil || len(pcm.Samples) != 3 || pcm.Samples[0] != int16(len("hello there")) {
		t.Fatalf("from the store: %+v %v", pcm, err)
	}
	if n := second.calls.Load(); n != 0 {
		t.Errorf("a fresh node called the engine %d times for a stored prompt", n)
	}

	off := &countedSynth{}
	reg3, _ := VoiceConfig{PromptStoreBytes: -1}.registry(off, store, log)
	if _, err := reg3.Cache.Synthesizer("espeak", off).Synthesize(ctx, "hello there", "en"); err != nil {
		t.Fatal(err)
	}
	if off.calls.Load() != 1 {
		t.Errorf("with the store off the engine was called %d times, want 1", off.calls.Load())
	}
	if got := (VoiceConfig{PromptStoreBytes: -1}).promptBudget(); got != 0 {
		t.Errorf("store off: janitor budget %d, want 0", got)
	}
	if got := (VoiceConfig{}).promptBudget(); got != DefaultPromptStoreBytes {
		t.Errorf("default janitor budget %d, want %d", got, DefaultPromptStoreBytes)
	}
}
