package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/media"
)

// TestPromptStoreOnMedia: prompts round-trip through the media store as
// WAV, a missing one is a miss (not an error), and TrimPrompts deletes the
// oldest until the rest fit the budget, leaving other prefixes alone.
func TestPromptStoreOnMedia(t *testing.T) {
	ctx := context.Background()
	store, err := media.NewLocal(media.LocalConfig{Dir: t.TempDir(), Secret: []byte(strings.Repeat("k", 32)), BaseURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ps := promptStore{media: store}
	if _, ok, err := ps.Get(ctx, "missing"); ok || err != nil {
		t.Fatalf("missing prompt: ok %v, err %v", ok, err)
	}
	pcm := audio.PCM{Rate: 8000, Samples: []int16{1, -2, 3, 400, -32768, 32767}}
	keys := []string{audio.StoreKey("espeak", "en", "one"), audio.StoreKey("espeak", "en", "two"), audio.StoreKey("espeak", "en", "three")}
	for _, k := range keys {
		if err := ps.Put(ctx, k, pcm); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // distinct modification times, oldest first
	}
	got, ok, err := ps.Get(ctx, keys[0])
	if err != nil || !ok || got.Rate != 8000 || len(got.Samples) != 6 || got.Samples[4] != -32768 {
		t.Fatalf("round trip: %+v %v %v", got, ok, err)
	}
	if err := store.Put(ctx, "chats/1/x.jpg", strings.NewReader("jpeg"), 4, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	each := int64(44 + 2*len(pcm.Samples))
	n, err := TrimPrompts(ctx, store, 2*each)
	if err != nil || n != 1 {
		t.Fatalf("trim to two prompts: deleted %d, %v", n, err)
	}
	if _, ok, _ := ps.Get(ctx, keys[0]); ok {
		t.Error("the oldest prompt survived the trim")
	}
	for _, k := range keys[1:] {
		if _, ok, _ := ps.Get(ctx, k); !ok {
			t.Errorf("a newer prompt was trimmed: %s", k)
		}
	}
	if _, _, err := store.Open(ctx, "chats/1/x.jpg"); err != nil {
		t.Errorf("trim touched another prefix: %v", err)
	}
	if n, err := TrimPrompts(ctx, store, 2*each); err != nil || n != 0 {
		t.Errorf("second trim: deleted %d, %v", n, err)
	}
}
