package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/media"
)

// PromptPrefix is where synthesized prompts live in the media store.
const PromptPrefix = "tts/"

// DefaultPromptStoreBytes bounds the prompts kept in the media store
// (PARLEY_TTS_STORE_MB): 256 MiB, about 4.5 hours of 8 kHz audio.
const DefaultPromptStoreBytes = 256 << 20

// maxPromptObject bounds what one stored prompt may be read back as (a
// damaged or foreign object is not decoded into memory whole).
const maxPromptObject = 16 << 20

// promptStore is the TTS cache's second tier (audio.PromptStore) on the
// media store: prompts as WAV files under tts/<digest>.wav, where every
// node of an installation finds them after a restart.
type promptStore struct{ media media.Store }

func promptKey(key string) string { return PromptPrefix + key + ".wav" }

func (p promptStore) Get(ctx context.Context, key string) (audio.PCM, bool, error) {
	r, info, err := p.media.Open(ctx, promptKey(key))
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return audio.PCM{}, false, nil
	}
	if err != nil {
		return audio.PCM{}, false, err
	}
	defer r.Close()
	if info.Size > maxPromptObject {
		return audio.PCM{}, false, errors.New("prompt store: object too large")
	}
	rate, ch, err := audio.DecodeWAV(io.LimitReader(r, maxPromptObject))
	if err != nil || len(ch) != 1 {
		return audio.PCM{}, false, err
	}
	return audio.PCM{Rate: rate, Samples: ch[0]}, true, nil
}

func (p promptStore) Put(ctx context.Context, key string, pcm audio.PCM) error {
	var b bytes.Buffer
	if err := audio.EncodeWAV(&b, [][]int16{pcm.Samples}, pcm.Rate); err != nil {
		return err
	}
	return p.media.Put(ctx, promptKey(key), &b, int64(b.Len()), "audio/wav")
}

// TrimPrompts deletes the oldest stored prompts until those left take at
// most budget bytes; it returns how many it deleted. Scripts choose their
// prompts' texts, so without it a tenant saying unique texts would fill
// the store. Every node runs it with the janitor; deletes are idempotent.
func TrimPrompts(ctx context.Context, s media.Store, budget int64) (int, error) {
	var objs []media.Object
	var total int64
	if err := s.List(ctx, PromptPrefix, func(o media.Object) error {
		objs = append(objs, o)
		total += o.Size
		return nil
	}); err != nil {
		return 0, err
	}
	if total <= budget {
		return 0, nil
	}
	slices.SortFunc(objs, func(a, b media.Object) int { return a.Modified.Compare(b.Modified) })
	n := 0
	for _, o := range objs {
		if total <= budget {
			break
		}
		if err := s.Delete(ctx, o.Key); err != nil {
			return n, err
		}
		total -= o.Size
		n++
	}
	return n, nil
}

// promptTrimEvery is how many janitor passes go by between trims.
const promptTrimEvery = 6
