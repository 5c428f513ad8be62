package main

import (
	"os"
	"strconv"

	"github.com/parley-cc/parley/internal/audio"
)

// The turns benchmark takes PARLEY_VOICE_NICE as the server does, to
// measure the media threads' priority on and off, and caches prompts as
// the server's speech registry does.
func init() {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_VOICE_NICE")); err == nil {
		audio.MediaNice.Store(int32(n))
	}
	cache := audio.NewTTSCache(64 << 20) // the server's default PARLEY_TTS_CACHE_MB
	wrapSynth = func(s audio.Synthesizer) audio.Synthesizer { return cache.Synthesizer("espeak", s) }
}
