package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/speech"
)

// SpeechRecognizer makes one of internal/speech's recognizers a trunk's
// Recognizer: an utterance it can make nothing of is not heard (ok false),
// so the script's listen returns None.
type SpeechRecognizer struct {
	speech.Recognizer
}

// Recognize implements Recognizer.
func (r SpeechRecognizer) Recognize(ctx context.Context, pcm audio.PCM, expect []string) (string, bool, error) {
	res, err := r.Recognizer.Recognize(ctx, pcm, expect)
	if err != nil {
		return "", false, err
	}
	return res.Text, res.Text != "", nil
}

// callSpeech builds the voice and recognizer of the calling agent from its
// settings (tts "voice@platform", asr, keys) through the Pool's speech
// Registry.
func (p *Pool) callSpeech(ctx context.Context, req dialer.CallRequest) (*CallSpeech, error) {
	if req.AgentID == 0 {
		return nil, nil // not a dialer call: the trunk's defaults
	}
	a, err := p.Agents.Speech(ctx, req.AgentID)
	if err != nil {
		return nil, err
	}
	set := SpeechSettings(a)
	voice, err := p.Speech.Voice(set)
	if err != nil {
		return nil, fmt.Errorf("tts %q: %w", a.TTS, err)
	}
	rec, err := p.Speech.Recognizer(set)
	if err != nil {
		return nil, fmt.Errorf("asr %q: %w", a.ASR, err)
	}
	return &CallSpeech{Synth: voice.Synthesizer, Voice: voice.Name, Recognizer: SpeechRecognizer{rec}}, nil
}

// SpeechSettings converts an agent's speech settings for speech.Registry.
func SpeechSettings(a *agent.Speech) speech.Settings {
	set := speech.Settings{Language: a.Language, TTS: a.TTS, ASR: a.ASR}
	for _, c := range a.Credentials {
		set.Credentials = append(set.Credentials, speech.Credential{UUID: c.UUID, Platform: c.Platform, KeyType: c.KeyType, Value: c.Value})
	}
	return set
}

// StreamingRecognizer is a Recognizer that decodes an utterance while it
// arrives (internal/speech's resident pocketsphinx): Listen feeds it each
// frame and ends a closed-grammar turn as soon as it holds a complete
// phrase.
type StreamingRecognizer interface {
	Recognizer
	// Stream starts an utterance at audio.Rate; an error (no free
	// decoder) makes Listen buffer and call Recognize instead.
	Stream(ctx context.Context, expect []string) (RecogStream, error)
}

// RecogStream is one utterance being decoded.
type RecogStream interface {
	Write(samples []int16)
	Partial() string // the hypothesis of the audio decoded so far
	Complete() bool  // the hypothesis is one of the expected phrases
	// Stable is how much decoded audio Partial has held through since it
	// last changed, and behind how much written audio is not decoded yet.
	Stable() (held, behind time.Duration)
	Finish(ctx context.Context) (text string, ok bool, err error)
	Close()
}

// Stream implements StreamingRecognizer when the wrapped recognizer
// streams; otherwise it fails and Listen buffers.
func (r SpeechRecognizer) Stream(ctx context.Context, expect []string) (RecogStream, error) {
	s, ok := r.Recognizer.(speech.Streamer)
	if !ok {
		return nil, speech.ErrBusy
	}
	st, err := s.Stream(ctx, audio.Rate, expect)
	if err != nil {
		return nil, err
	}
	return speechStream{st}, nil
}

type speechStream struct{ speech.Stream }

func (s speechStream) Finish(ctx context.Context) (string, bool, error) {
	res, err := s.Stream.Finish(ctx)
	if err != nil {
		return "", false, err
	}
	return res.Text, res.Text != "", nil
}
