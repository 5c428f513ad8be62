package server

import (
	"log/slog"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/speech"
	voicesip "github.com/parley-cc/parley/internal/voice/sip"
)

// VoiceConfig is how SIP calls take turns (PARLEY_VOICE_*, PARLEY_ASR*,
// PARLEY_TTS_CACHE_MB). The zero value is the defaults, with nothing
// warmed at start.
type VoiceConfig struct {
	// VAD holds the end-of-turn rules: EndSilence and StableSilence for
	// open listens, GrammarSilence for closed-grammar ones.
	VAD voicesip.VAD
	// JitterMin is the receive jitter buffer's minimum delay; 0 is
	// voicesip.DefaultJitterMin.
	JitterMin time.Duration
	// ASR is the local recognizer's engine: "auto", "library" or "batch"
	// (speech.Pocketsphinx.Mode); ASRDecoders its resident decoders.
	ASR         string
	ASRDecoders int
	// TTSCacheBytes bounds the prompt cache; 0 is DefaultTTSCacheBytes,
	// negative disables it.
	TTSCacheBytes int64
	// PromptStoreBytes bounds the prompts kept in the media store, the
	// cache's second tier; 0 is DefaultPromptStoreBytes, negative keeps
	// prompts in memory only.
	PromptStoreBytes int64
	// Warm loads the recognizer's model and dictionary (parley serve) when
	// the first company trunk is resolved, before its first call is
	// dialled; until the decoders are ready, utterances take the batch
	// path instead of waiting.
	Warm bool
}

// DefaultTTSCacheBytes is the prompt cache's default budget (64 MiB: about
// 70 minutes of 8 kHz audio).
const DefaultTTSCacheBytes = 64 << 20

// promptBudget is what the janitor trims the stored prompts to; 0 when
// none are stored.
func (v VoiceConfig) promptBudget() int64 {
	switch {
	case v.PromptStoreBytes < 0:
		return 0
	case v.PromptStoreBytes == 0:
		return DefaultPromptStoreBytes
	}
	return v.PromptStoreBytes
}

// registry builds the speech registry of the SIP trunks from the settings,
// and the function that warms its recognizer (nil unless Warm).
func (v VoiceConfig) registry(synth audio.Synthesizer, store media.Store, log *slog.Logger) (*speech.Registry, func()) {
	size := v.TTSCacheBytes
	if size == 0 {
		size = DefaultTTSCacheBytes
	}
	ps := &speech.Pocketsphinx{Mode: v.ASR, Decoders: v.ASRDecoders}
	cache := audio.NewTTSCache(size)
	if store != nil && v.PromptStoreBytes >= 0 {
		cache.WithStore(promptStore{media: store})
	}
	reg := &speech.Registry{Espeak: synth, Pocketsphinx: ps, Cache: cache}
	var warm func()
	if v.Warm {
		warm = func() {
			start := time.Now()
			lib, err := ps.Warm()
			if err != nil {
				log.Error("speech recognizer not warmed", "error", err)
				return
			}
			engine := "pocketsphinx_batch process per utterance"
			if lib {
				engine = "resident pocketsphinx decoders"
			}
			log.Info("speech recognizer warm", "engine", engine, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return reg, warm
}
